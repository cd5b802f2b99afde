"""Which approval tier applies, who may approve, and what happens when a rule fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config.directory import Directory
from app.config.yamlfile import load_yaml
from app.domain import Person
from app.errors import RuleViolation
from app.rules.loading import load_rules, parse_rules
from app.rules.rulebook import RuleBook
from tests.rules.helpers import PEOPLE, RULES_YML, person, write


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
