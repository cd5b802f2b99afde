from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config.directory import Directory
from app.config.yamlfile import load_yaml
from app.domain import Passage, Person
from app.errors import RuleViolation, WorkspaceError
from app.rules.rulebook import DraftFacts, InvalidInput, RuleBook, load_rules, parse_rules
from app.slack_api import SlackChannel

RULES_YML = """\
workflows:
  discount_request:
    title: Discount request
    started_by: [sales]
    mode: act_after_approval
    inputs:
      customer: {type: string, label: Customer, max: 40}
      percent: {type: number, min: 0, max: 100, label: Discount %}
      reason: {type: text, label: Why, required: false}
      seats: {type: integer, min: 1, label: Seats, required: false}
      region: {type: choice, choices: [EMEA, AMER, APAC], default: EMEA}
      contact: {type: email, label: Contact email, required: false}
      renewal: {type: boolean, label: Renewal, required: false}
    draft: {prompt: discount_request}
    approval:
      - when: "input.percent <= 10.0"
        approvers: []
      - when: "input.percent <= 25.0"
        approvers: [sales-managers]
      - approvers: [vp-sales, finance]
        require: all
    channel: C0DEALS01
    remind_after: 2h
    escalate_after: 8h
    escalate_to: manager
    expire_after: 2d
    actions:
      - connector: webhook
        with: {url: "https://crm.acme.example/hooks/discounts"}
  open_door:
    title: Open door
    started_by: [everyone]
    approval:
      - approvers: [manager]
answers:
  review_when: "channel.is_shared || 'review' in draft.tags"
  reviewers: [support-leads]
  channel: C0REVIEW1
connectors:
  webhook: {secret_env: TRELLIS_WEBHOOK_SECRET}
"""

PEOPLE = [
    Person("ceo@acme.example", "Cleo", groups=frozenset({"leadership"})),
    Person(
        "vp@acme.example",
        "Vic",
        groups=frozenset({"sales", "vp-sales"}),
        manager="ceo@acme.example",
    ),
    Person(
        "sm1@acme.example",
        "Sam",
        groups=frozenset({"sales", "sales-managers"}),
        manager="vp@acme.example",
    ),
    Person(
        "sm2@acme.example",
        "Sue",
        groups=frozenset({"sales", "sales-managers"}),
        manager="vp@acme.example",
    ),
    Person(
        "ae@acme.example",
        "Abe",
        groups=frozenset({"sales"}),
        manager="sm1@acme.example",
        region="EMEA",
    ),
    Person("fin@acme.example", "Fay", groups=frozenset({"finance"}), manager="ceo@acme.example"),
    Person(
        "lead@acme.example", "Lee", groups=frozenset({"support-leads"}), manager="ceo@acme.example"
    ),
]


def write(tmp_path, text: str):
    path = tmp_path / "rules.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def directory() -> Directory:
    return Directory(PEOPLE)


@pytest.fixture
def book(tmp_path, directory) -> RuleBook:
    return RuleBook(load_rules(write(tmp_path, RULES_YML)), directory)


def person(directory: Directory, who: str) -> Person:
    found = directory.by_email(f"{who}@acme.example")
    assert found is not None
    return found


def load_error(tmp_path, text: str) -> WorkspaceError:
    with pytest.raises(WorkspaceError) as caught:
        load_rules(write(tmp_path, text))
    return caught.value


# --- Approval tiers -------------------------------------------------------------------


def test_small_discount_is_approved_automatically(book, directory):
    req = book.approval_for(
        "discount_request", requester=person(directory, "ae"), input={"percent": 5.0}
    )
    assert req.auto and req.tier == 0 and not req.failed_safe
    assert req.is_satisfied([])


@pytest.mark.parametrize("percent", [10, 10.0, 3])
def test_whole_numbers_compare_with_double_literals(book, directory, percent):
    req = book.approval_for(
        "discount_request", requester=person(directory, "ae"), input={"percent": percent}
    )
    assert req.auto


def test_medium_discount_needs_one_sales_manager(book, directory):
    req = book.approval_for(
        "discount_request", requester=person(directory, "ae"), input={"percent": 20.0}
    )
    assert req.approvers == ("sales-managers",)
    assert req.require == "any"
    assert req.tier == 1
    assert req.channel == "C0DEALS01"
    assert req.may_approve("SM2@acme.example")
    assert not req.may_approve("vp@acme.example")
    assert req.is_satisfied(["sm1@acme.example"])
    assert not req.is_satisfied(["vp@acme.example"])


def test_large_discount_needs_vp_sales_and_finance(book, directory):
    req = book.approval_for(
        "discount_request", requester=person(directory, "ae"), input={"percent": 40.0}
    )
    assert req.approvers == ("vp-sales", "finance")
    assert req.require == "all"
    assert not req.is_satisfied(["vp@acme.example"])
    assert not req.is_satisfied(["fin@acme.example"])
    assert req.is_satisfied(["vp@acme.example", "fin@acme.example"])


def test_a_person_in_two_listed_groups_counts_once(tmp_path):
    both = Person("both@acme.example", "Bo", groups=frozenset({"vp-sales", "finance"}))
    fin = Person("fin@acme.example", "Fay", groups=frozenset({"finance"}))
    ae = Person("ae@acme.example", "Abe", groups=frozenset({"sales"}))
    directory = Directory(
        [
            both,
            fin,
            ae,
            Person("x@acme.example", "X", groups=frozenset({"sales-managers", "support-leads"})),
        ]
    )
    book = RuleBook(load_rules(write(tmp_path, RULES_YML)), directory)
    req = book.approval_for("discount_request", requester=ae, input={"percent": 50.0})
    assert not req.is_satisfied(["both@acme.example"])
    assert req.is_satisfied(["both@acme.example", "fin@acme.example"])


def test_the_requester_never_approves_their_own_request(book, directory):
    sm1 = person(directory, "sm1")
    req = book.approval_for("discount_request", requester=sm1, input={"percent": 20.0})
    assert req.eligible == (frozenset({"sm2@acme.example"}),)
    assert not req.may_approve("sm1@acme.example")
    assert not req.is_satisfied(["sm1@acme.example"])
    assert not req.escalated


def test_when_only_the_requester_could_approve_their_manager_does(book, directory):
    vp = person(directory, "vp")
    req = book.approval_for("discount_request", requester=vp, input={"percent": 40.0})
    assert req.escalated
    assert req.approvers == ("finance", "ceo@acme.example")
    assert req.require == "all"
    assert not req.is_satisfied(["vp@acme.example", "fin@acme.example"])
    assert req.is_satisfied(["ceo@acme.example", "fin@acme.example"])


def test_nobody_to_approve_is_a_rule_violation(tmp_path):
    lone = Person(
        "vp@acme.example",
        "Vic",
        groups=frozenset({"sales", "vp-sales", "finance", "sales-managers", "support-leads"}),
    )
    book = RuleBook(load_rules(write(tmp_path, RULES_YML)), Directory([lone]))
    with pytest.raises(RuleViolation) as caught:
        book.approval_for("discount_request", requester=lone, input={"percent": 40.0})
    assert caught.value.user_message.startswith("Nobody but you could approve this request")


def test_manager_as_approver_is_the_requesters_manager(book, directory):
    req = book.approval_for("open_door", requester=person(directory, "ae"))
    assert req.approvers == ("sm1@acme.example",)
    assert req.is_satisfied(["sm1@acme.example"])
    with pytest.raises(RuleViolation):
        book.approval_for("open_door", requester=person(directory, "ceo"))


def test_a_condition_that_cannot_be_evaluated_never_auto_approves(book, directory):
    req = book.approval_for(
        "discount_request", requester=person(directory, "ae"), input={"customer": "Acme"}
    )
    assert not req.auto
    assert req.failed_safe
    assert req.require == "all"
    assert req.approvers == ("sales-managers", "vp-sales", "finance")
    assert "could not be checked" in req.reason


def test_a_failing_auto_tier_falls_through_to_approval(tmp_path, directory):
    rules = RULES_YML.replace('"input.percent <= 10.0"', "\"input.customer.startsWith('A')\"")
    book = RuleBook(load_rules(write(tmp_path, rules)), directory)
    req = book.approval_for(
        "discount_request", requester=person(directory, "ae"), input={"percent": 20.0}
    )
    assert req.failed_safe and req.approvers == ("sales-managers",)


_RULES_FOR_PROPERTIES = parse_rules(load_yaml(Path("rules.yml"), text=RULES_YML))


@given(
    st.dictionaries(
        st.sampled_from(["percent", "customer", "seats"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.floats(allow_nan=True),
            st.text(alphabet="abc %", max_size=5),
            st.booleans(),
            st.lists(st.integers()),
        ),
    )
)
def test_only_a_known_small_percentage_is_approved_automatically(raw):
    book = RuleBook(_RULES_FOR_PROPERTIES, Directory(PEOPLE))
    req = book.approval_for("discount_request", requester=PEOPLE[4], input=raw)
    value = raw.get("percent")
    small = (
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= float(value) <= 10.0
    )
    assert req.auto == small


# --- Starting, reviewing --------------------------------------------------------------


def test_who_may_start_a_workflow(book, directory):
    assert book.may_start("discount_request", person(directory, "ae"))
    assert not book.may_start("discount_request", person(directory, "fin"))
    assert book.may_start("open_door", person(directory, "fin"))
    assert not book.may_start("no_such_thing", person(directory, "ae"))
    assert book.startable_by(person(directory, "fin")) == ["open_door"]
    with pytest.raises(RuleViolation, match="There is no workflow called “nope”"):
        book.workflow("nope")


def test_answers_in_a_shared_channel_need_review(book, directory):
    ae = person(directory, "ae")
    shared = SlackChannel(id="C1", name="partners", is_shared=True)
    assert book.answer_needs_review(requester=ae, channel=shared, draft=DraftFacts())
    internal = SlackChannel(id="C2", name="sales")
    assert not book.answer_needs_review(requester=ae, channel=internal, draft=DraftFacts())


def test_answers_citing_a_document_tagged_review_need_review(book, directory):
    passages = [
        Passage("c1", "legal-msa", "MSA", "text", tags=("legal", "review")),
        Passage("c2", "hr-pto", "PTO", "text"),
    ]
    draft = DraftFacts.from_passages(
        text="…", confidence=0.9, cited=["legal-msa"], passages=passages
    )
    assert draft.citations[0].tags == ("legal", "review")
    assert book.answer_needs_review(requester=person(directory, "ae"), channel=None, draft=draft)
    plain = DraftFacts.from_passages(text="…", confidence=0.9, cited=["hr-pto"], passages=passages)
    assert not book.answer_needs_review(requester=person(directory, "ae"), draft=plain)


def test_a_review_condition_that_fails_sends_the_answer_to_review(tmp_path, directory):
    rules = RULES_YML.replace(
        "\"channel.is_shared || 'review' in draft.tags\"",
        "\"draft.citations[0].title == 'x'\"",
    )
    book = RuleBook(load_rules(write(tmp_path, rules)), directory)
    assert book.answer_needs_review(requester=person(directory, "ae"), draft=DraftFacts())


def test_conditions_see_the_requester_and_the_draft(tmp_path, directory):
    rules = RULES_YML.replace(
        "\"channel.is_shared || 'review' in draft.tags\"",
        "\"requester.region == 'EMEA' && 'sales' in requester.groups && draft.confidence < 0.5\"",
    )
    book = RuleBook(load_rules(write(tmp_path, rules)), directory)
    ae, fin = person(directory, "ae"), person(directory, "fin")
    assert book.answer_needs_review(requester=ae, draft={"confidence": 0.2})
    assert not book.answer_needs_review(requester=ae, draft={"confidence": 0.9})
    assert not book.answer_needs_review(requester=fin, draft={"confidence": 0.2})


# --- Loading rules.yml ----------------------------------------------------------------


def test_durations_and_actions_are_parsed(book):
    wf = book.workflow("discount_request")
    assert wf.remind_after == timedelta(hours=2)
    assert wf.expire_after == timedelta(days=2)
    assert wf.escalate_to == "manager"
    assert wf.actions[0].connector == "webhook"
    assert wf.actions[0].with_ == {"url": "https://crm.acme.example/hooks/discounts"}
    assert book.workflow("open_door").mode == "draft_only"


def test_a_missing_rules_file_section_means_no_rules(tmp_path):
    rules = load_rules(write(tmp_path, "# nothing yet\n"))
    assert rules.workflows == {} and rules.answers.review_when is None


BAD_TIER = """\
workflows:
  discount_request:
    title: Discount request
    started_by: [sales]
    inputs:
      percent: {type: number}
    approval:
      - when: {when}
        approvers: []
      - approvers: [finance]
"""


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        (
            '"input.percent <="',
            "workflows.discount_request.approval.0.when: invalid CEL expression: syntax error at "
            "column 15",
        ),
        (
            '"inptu.percent <= 10.0"',
            "workflows.discount_request.approval.0.when: unknown name 'inptu': conditions can use "
            "requester, channel, input, draft",
        ),
        (
            '"input.percnt <= 10.0"',
            "workflows.discount_request.approval.0.when: unknown field 'percnt'",
        ),
        (
            '"10 >= input.percent"',
            "workflows.discount_request.approval.0.when: compares or combines values of different "
            "types (write 10.0, not 10, to compare with a number)",
        ),
        ("12", "workflows.discount_request.approval.0.when: expected a CEL expression in quotes"),
    ],
)
def test_condition_mistakes_are_reported_at_their_line(tmp_path, when, problem):
    err = load_error(tmp_path, BAD_TIER.replace("{when}", when))
    assert (err.file, err.line, err.problem) == ("rules.yml", 8, problem)


@pytest.mark.parametrize(
    ("old", "new", "line", "problem"),
    [
        (
            "    remind_after: 2h\n",
            "    remind_after: soon\n",
            23,
            "workflows.discount_request.remind_after: expected a duration like 30m, 2h or 2d",
        ),
        (
            "    mode: act_after_approval\n",
            "    mode: whenever\n",
            5,
            "workflows.discount_request.mode: Input should be 'draft_only', 'act_after_approval' "
            "or 'act'",
        ),
        (
            "    channel: C0DEALS01\n",
            "    channnel: C0DEALS01\n",
            22,
            "workflows.discount_request.channnel: Extra inputs are not permitted",
        ),
        (
            "      - approvers: [vp-sales, finance]\n",
            "      - approvers: [vp-sales, public]\n",
            20,
            "workflows.discount_request.approval.2.approvers.1: 'public' cannot approve: name "
            "people or groups",
        ),
        (
            "        require: all\n",
            "        require: both\n",
            21,
            "workflows.discount_request.approval.2.require: Input should be 'any' or 'all'",
        ),
        (
            "    started_by: [sales]\n",
            "    started_by: [Sales Team]\n",
            4,
            "workflows.discount_request.started_by.0: 'Sales Team' is not a group name "
            "(lower-case letters, digits, '-', '_') or an email",
        ),
        (
            "      - approvers: [vp-sales, finance]\n        require: all\n",
            '      - when: "input.percent <= 50.0"\n        approvers: [vp-sales]\n',
            20,
            "workflows.discount_request.approval: the last tier must have no `when`, so every "
            "request is covered; add `- approvers: []` to approve the rest automatically",
        ),
        (
            "    expire_after: 2d\n",
            "    expire_after: 4h\n",
            24,
            "workflows.discount_request.escalate_after: must be shorter than expire_after, or it "
            "never happens",
        ),
        (
            "      region: {type: choice, choices: [EMEA, AMER, APAC], default: EMEA}\n",
            "      region: {type: choice, choices: [EMEA, AMER, APAC], default: LATAM}\n",
            11,
            "workflows.discount_request.inputs.region.default: must be one of: EMEA, AMER, APAC",
        ),
        (
            "      region: {type: choice, choices: [EMEA, AMER, APAC], default: EMEA}\n",
            "      region: {type: choice}\n",
            11,
            "workflows.discount_request.inputs.region: a choice field needs `choices`",
        ),
        (
            "      seats: {type: integer, min: 1, label: Seats, required: false}\n",
            "      seats: {type: decimal, label: Seats}\n",
            10,
            "workflows.discount_request.inputs.seats.type: Input should be 'string', 'text', "
            "'number', 'integer', 'boolean', 'email' or 'choice'",
        ),
        (
            "  discount_request:\n",
            "  Discount Request:\n",
            2,
            "workflow name 'Discount Request' must be lower-case letters, digits, '-' and '_', "
            "starting with a letter (it is typed in /trellis)",
        ),
        (
            "  reviewers: [support-leads]\n",
            "",
            36,
            "answers.reviewers: name who reviews the answers that need review",
        ),
    ],
)
def test_rules_mistakes_are_reported_at_their_line(tmp_path, old, new, line, problem):
    assert old in RULES_YML
    err = load_error(tmp_path, RULES_YML.replace(old, new))
    assert (err.file, err.line, err.problem) == ("rules.yml", line, problem)


def test_a_multi_line_expression_error_names_the_line_inside_it(tmp_path):
    text = BAD_TIER.replace(
        "      - when: {when}\n",
        "      - when: |-\n          input.percent <= 10.0 &&\n          (input.percent\n",
    )
    err = load_error(tmp_path, text)
    assert err.line == 8
    assert "syntax error at line 2" in err.problem


# --- Input ----------------------------------------------------------------------------


def test_input_is_typed_and_defaults_are_applied(book):
    values = book.validate_input(
        "discount_request",
        {
            "customer": "  Acme  ",
            "percent": "12.5%",
            "seats": "30",
            "contact": "Ana@Acme.example",
            "renewal": "yes",
            "region": "apac",
            "reason": "",
        },
    )
    assert values == {
        "customer": "Acme",
        "percent": 12.5,
        "seats": 30,
        "region": "APAC",
        "contact": "ana@acme.example",
        "renewal": True,
    }
    assert book.validate_input("discount_request", {"customer": "A", "percent": 7}) == {
        "customer": "A",
        "percent": 7.0,
        "region": "EMEA",
    }


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"percent": 5}, "customer", "Customer is required."),
        ({"customer": "A", "percent": "lots"}, "percent", "Discount % must be a number."),
        # A decimal comma is ambiguous ("7,5" is 7.5 in much of Europe, 75 read as thousands).
        ({"customer": "A", "percent": "7,5"}, "percent",
         "Discount % must be written with a decimal point, like 7.5."),
        ({"customer": "A", "percent": "1,5"}, "percent",
         "Discount % must be written with a decimal point, like 7.5."),
        ({"customer": "A", "percent": 120}, "percent", "Discount % must be at most 100."),
        ({"customer": "A", "percent": -1}, "percent", "Discount % must be at least 0."),
        ({"customer": "A", "percent": 5, "seats": "2.5"}, "seats", "Seats must be a whole number."),
        ({"customer": "A", "percent": 5, "seats": 0}, "seats", "Seats must be at least 1."),
        (
            {"customer": "A", "percent": 5, "region": "LATAM"},
            "region",
            "Region must be one of: EMEA, AMER, APAC.",
        ),
        (
            {"customer": "A", "percent": 5, "contact": "ana"},
            "contact",
            "Contact email must be an email address like name@example.com.",
        ),
        (
            {"customer": "A", "percent": 5, "renewal": "maybe"},
            "renewal",
            "Renewal must be yes or no.",
        ),
        (
            {"customer": "x" * 41, "percent": 5},
            "customer",
            "Customer must be at most 40 characters.",
        ),
        (
            {"customer": "A", "percent": 5, "colour": "red"},
            "colour",
            "Discount request has no field “colour”. Its fields are: customer, percent, reason, "
            "seats, region, contact, renewal.",
        ),
    ],
)
def test_input_problems_are_explained_per_field(book, raw, field, message):
    with pytest.raises(InvalidInput) as caught:
        book.validate_input("discount_request", raw)
    assert caught.value.problems == {field: message}
    assert message in caught.value.user_message


def test_every_input_problem_is_reported_at_once(book):
    with pytest.raises(InvalidInput) as caught:
        book.validate_input("discount_request", {"percent": "abc"})
    assert set(caught.value.problems) == {"customer", "percent"}
    assert isinstance(caught.value, RuleViolation)


def test_thousands_separators_are_read_and_negative_zero_is_zero(book):
    values = book.validate_input("discount_request", {"customer": "A", "percent": "-0",
                                                      "seats": "1,500"})
    assert values["seats"] == 1500
    assert str(values["percent"]) == "0.0"
