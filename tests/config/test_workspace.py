from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from app.config.workspace import default_workspace_path, load_workspace, read_workspace
from app.errors import WorkspaceError

DIRECTORY = """\
people:
  - email: ana@acme.example
    name: Ana Souza
    groups: [support, support-leads, trellis-admins]
  - email: bo@acme.example
    name: Bo Lind
    groups: [sales, sales-managers]
    manager: ana@acme.example
  - email: cy@acme.example
    name: Cy Park
    groups: [sales]
    manager: bo@acme.example
"""

TRELLIS = """\
name: Acme
admins: [trellis-admins]
owners_channel: C0OWNERS1
support: "#help-trellis"
answers:
  max_sources: 3
  min_confidence: 0.5
flags: {reactions: [":x:", warning], flaggers: [support, bo@acme.example]}
models: {answer: claude-sonnet-4-5}
budgets: {per_person_daily_usd: 2.0, per_group_daily_usd: {sales: 50}}
"""

RULES = """\
workflows:
  discount_request:
    title: Discount request
    started_by: [sales]
    mode: act_after_approval
    inputs:
      percent: {type: number, min: 0, max: 100}
    draft: {prompt: discount_request}
    approval:
      - when: "input.percent <= 10.0"
        approvers: []
      - approvers: [sales-managers]
answers:
  review_when: "channel.is_shared"
  reviewers: [support-leads]
"""

EVALS = """\
cases:
  - id: pto
    question: How many PTO days do I get?
    asker: Ana@acme.example
    expect_status: answered
    expect_sources: [hr-pto-2025]
  - id: guest
    question: How many PTO days do I get?
    asker: guest@contractor.example
    channel: C0GENERAL1
    expect_status: refused
"""


def make(root: Path, files: dict[str, str | bytes | None]) -> Path:
    """A workspace with a directory and knowledge/, then `files` (None deletes one)."""
    base = {"directory.yml": DIRECTORY, "knowledge/hr/pto.md": "# PTO\n"}
    for name, content in {**base, **files}.items():
        path = root / name
        if content is None:
            if path.is_dir():
                shutil.rmtree(path)
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


FULL = {
    "trellis.yml": TRELLIS,
    "rules.yml": RULES,
    "prompts/discount_request.md": "Summarise the discount for {customer}.\n",
    "prompts/answer.txt": "Answer from the documents.\n",
    "evals/golden.yml": EVALS,
    "sandbox.yml": "team: {id: T1, name: Acme}\nchannels: []\n",
}


def broken(tmp_path, files: dict[str, str | bytes | None]) -> WorkspaceError:
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(make(tmp_path, files))
    return caught.value


def test_a_directory_and_knowledge_are_enough(tmp_path):
    ws = load_workspace(make(tmp_path, {}))
    assert ws.root == tmp_path.resolve()
    assert ws.knowledge_dir == tmp_path.resolve() / "knowledge"
    assert len(ws.directory.people) == 3
    assert ws.config.answers.min_confidence == 0.5
    assert ws.config.answers.max_sources == 5
    assert ws.config.flags.reactions == ["x", "warning"]
    assert ws.config.flags.flaggers == ["support"]
    assert ws.config.models.answer is None
    assert ws.rules.workflows == {}
    assert ws.prompts == {} and ws.evals == () and ws.sandbox is None
    assert len(ws.version) == 12


def test_a_full_workspace_loads_every_file(tmp_path):
    ws = load_workspace(make(tmp_path, FULL))
    assert ws.config.name == "Acme"
    assert ws.config.answers.min_confidence == 0.5
    assert ws.config.flags.reactions == ["x", "warning"]
    assert ws.config.flags.flaggers == ["support", "bo@acme.example"]
    assert ws.config.budgets.per_group_daily_usd == {"sales": 50.0}
    assert ws.prompts == {
        "answer": "Answer from the documents.\n",
        "discount_request": "Summarise the discount for {customer}.\n",
    }
    assert [c.id for c in ws.evals] == ["pto", "guest"]
    assert ws.evals[0].asker == "ana@acme.example"
    assert ws.evals[0].expect_sources == ["hr-pto-2025"]
    assert ws.evals[1].channel == "C0GENERAL1" and ws.evals[1].expect_sources == []
    assert ws.sandbox == {"team": {"id": "T1", "name": "Acme"}, "channels": []}
    cy = ws.directory.by_email("cy@acme.example")
    assert ws.rulebook.may_start("discount_request", cy)
    req = ws.rulebook.approval_for("discount_request", requester=cy, input={"percent": 20})
    assert req.approvers == ("sales-managers",)


def test_the_directory_may_be_a_csv_export(tmp_path):
    csv_text = (
        "email,name,groups,manager\n"
        "ana@acme.example,Ana,support;support-leads;trellis-admins,\n"
        "bo@acme.example,Bo,sales|sales-managers,ana@acme.example\n"
    )
    ws = load_workspace(make(tmp_path, {"directory.yml": None, "directory.csv": csv_text}))
    assert ws.directory.members("sales-managers")[0].email == "bo@acme.example"


def test_the_version_depends_on_configuration_but_not_on_knowledge(tmp_path):
    first = load_workspace(make(tmp_path / "a", FULL)).version
    crlf = {k: v.replace("\n", "\r\n") for k, v in FULL.items()}
    assert load_workspace(make(tmp_path / "b", crlf)).version == first
    more_knowledge = {**FULL, "knowledge/new.md": "# New\n"}
    assert load_workspace(make(tmp_path / "c", more_knowledge)).version == first
    new_prompt = {**FULL, "prompts/answer.txt": "Answer briefly.\n"}
    assert load_workspace(make(tmp_path / "d", new_prompt)).version != first
    new_rules = {**FULL, "rules.yml": RULES.replace("10.0", "5.0")}
    assert load_workspace(make(tmp_path / "e", new_rules)).version != first


def test_the_default_workspace_is_the_bundled_demo():
    assert (
        default_workspace_path()
        == Path(__file__).resolve().parents[2] / "app" / "demo" / "workspace"
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"directory.yml": None},
            "directory.yml: missing: every workspace needs directory.yml "
            "(or directory.csv) listing its people",
        ),
        (
            {"knowledge": None},
            "knowledge/: missing: create knowledge/ and put the documents Trellis may answer "
            "from in it",
        ),
        (
            {"directory.csv": "email,name\n"},
            "directory.csv: both directory.yml and directory.csv exist; keep one of them",
        ),
        (
            {
                "trellis.yml": "name: Acme\nanswers:\n  min_confidence: 0.5\n\n\n\n  max_sources: 3\n"
                "  min_confidence: 3\n"
            },
            "trellis.yml:8: duplicate key 'min_confidence'",
        ),
        (
            {
                "trellis.yml": "name: Acme\nadmins: [trellis-admins]\n\n\n\nanswers:\n"
                "  min_confidence: 1.5\n"
            },
            "trellis.yml:7: answers.min_confidence: Input should be less than or equal to 1",
        ),
        (
            {"trellis.yml": "name: Acme\nanswer:\n  min_confidence: 0.5\n"},
            "trellis.yml:2: answer: Extra inputs are not permitted",
        ),
        (
            {"trellis.yml": "name: Acme\nadmins: [trellis-admins\n"},
            "trellis.yml:3: invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            {"trellis.yml": "admins:\n  - trellis-admin\n"},
            "trellis.yml:2: admins.0: 'trellis-admin' is not a group in directory.yml, an email "
            "of someone in it, 'everyone' or 'public' (did you mean 'trellis-admins'?)",
        ),
        (
            {"trellis.yml": "flags:\n  flaggers: [support, zed@acme.example]\n"},
            "trellis.yml:2: flags.flaggers.1: zed@acme.example is not in directory.yml",
        ),
        (
            {"trellis.yml": "budgets:\n  per_group_daily_usd:\n    marketing: 10\n"},
            "trellis.yml:3: budgets.per_group_daily_usd.marketing: 'marketing' is not a group in "
            "directory.yml, an email of someone in it, 'everyone' or 'public'",
        ),
        (
            {"trellis.yml": "budgets:\n  per_person_daily_usd: -1\n"},
            "trellis.yml:2: budgets.per_person_daily_usd: Input should be greater than or equal "
            "to 0",
        ),
        (
            {
                "rules.yml": RULES.replace("started_by: [sales]", "started_by: [sales, saless]"),
                "prompts/discount_request.md": "x",
            },
            "rules.yml:4: workflows.discount_request.started_by.1: 'saless' is not a group in "
            "directory.yml, an email of someone in it, 'everyone' or 'public' (did you mean "
            "'sales'?)",
        ),
        (
            {
                "rules.yml": RULES.replace("[sales-managers]", "[sales-manager]"),
                "prompts/discount_request.md": "x",
            },
            "rules.yml:12: workflows.discount_request.approval.1.approvers.0: 'sales-manager' is "
            "not a group in directory.yml, an email of someone in it, 'everyone' or 'public' "
            "(did you mean 'sales-managers'?)",
        ),
        (
            {
                "rules.yml": RULES.replace(
                    "[support-leads]", "[ana@acme.example, dee@acme.example]"
                ),
                "prompts/discount_request.md": "x",
            },
            "rules.yml:15: answers.reviewers.1: dee@acme.example is not in directory.yml",
        ),
        (
            {"rules.yml": RULES},
            "rules.yml:8: workflows.discount_request.draft.prompt: there is no "
            "prompts/discount_request.md (or .txt)",
        ),
        (
            {
                "rules.yml": RULES.replace('"input.percent <= 10.0"', '"input.percent <=> 10.0"'),
                "prompts/discount_request.md": "x",
            },
            "rules.yml:10: workflows.discount_request.approval.0.when: invalid CEL expression: "
            "syntax error at column 17: expected a value: a number, a 'quoted string', a name "
            "such as input.amount, or (, not '>'\n    input.percent <=> 10.0\n" + " " * 20 + "^",
        ),
        (
            {"knowledge/hr/_access.yml": "# HR only\ndefault: [suport]\n"},
            "knowledge/hr/_access.yml:2: default.0: 'suport' is not a group in directory.yml, an "
            "email of someone in it, 'everyone' or 'public' (did you mean 'support'?)",
        ),
        (
            {"knowledge/hr/_access.yml": 'files:\n  "pay-*": zed@acme.example\n'},
            "knowledge/hr/_access.yml:2: files.pay-*: zed@acme.example is not in directory.yml",
        ),
        (
            {"prompts/a.md": "x", "prompts/a.txt": "y"},
            "prompts/a.txt: another prompt is also called 'a'; keep one of the .md and .txt files",
        ),
        (
            {"prompts/bad.md": b"\xff\xfe bad"},
            "prompts/bad.md: is not UTF-8 text (invalid start byte)",
        ),
        (
            {"evals/golden.yml": EVALS.replace("expect_status: refused", "expect_status: denied")},
            "evals/golden.yml:11: cases.1.expect_status: Input should be 'answered', 'no_answer', "
            "'refused' or 'needs_approval'",
        ),
        (
            {"evals/golden.yml": EVALS.replace("asker: guest@contractor.example", "asker: guest")},
            "evals/golden.yml:9: cases.1.asker: 'guest' is not a valid email address",
        ),
        (
            {
                "evals/golden.yml": EVALS.replace(
                    "    expect_sources: [hr-pto-2025]\n", "    sources: [hr-pto-2025]\n"
                )
            },
            "evals/golden.yml:6: cases.0.sources: Extra inputs are not permitted",
        ),
        (
            {
                "evals/golden.yml": EVALS,
                "evals/more.yml": "cases:\n  - id: pto\n    question: Q\n"
                "    asker: ana@acme.example\n"
                "    expect_status: answered\n",
            },
            "evals/more.yml:2: cases.0.id: 'pto' is already used in evals/golden.yml",
        ),
        (
            {"sandbox.yml": "- just a list\n"},
            "sandbox.yml:1: expected keys such as team, users and channels",
        ),
    ],
)
def test_a_broken_file_is_reported_with_its_file_and_line(tmp_path, files, expected):
    assert str(broken(tmp_path, files)) == expected


def test_a_missing_workspace_folder_is_reported(tmp_path):
    with pytest.raises(WorkspaceError, match="the workspace folder does not exist"):
        load_workspace(tmp_path / "nowhere")


def test_principals_may_be_everyone_public_or_a_listed_email(tmp_path):
    rules = RULES.replace("started_by: [sales]", "started_by: [everyone, public, CY@acme.example]")
    ws = load_workspace(make(tmp_path, {"rules.yml": rules, "prompts/discount_request.md": "x"}))
    assert ws.rules.workflows["discount_request"].started_by == [
        "everyone",
        "public",
        "cy@acme.example",
    ]


@pytest.mark.skipif(
    not (default_workspace_path() / "directory.yml").exists(),
    reason="the demo workspace is not there yet",
)
def test_the_demo_workspace_loads():
    ws = load_workspace(default_workspace_path())
    assert ws.directory.people
    assert ws.knowledge_dir.is_dir()
    assert len(ws.version) == 12
    for slug, workflow in ws.rules.workflows.items():
        if workflow.draft is not None:
            assert workflow.draft.prompt in ws.prompts, slug
    for case in ws.evals:
        assert case.expect_status in {"answered", "no_answer", "refused", "needs_approval"}


def test_a_manager_outside_the_directory_loads_with_a_warning(tmp_path):
    root = make(
        tmp_path,
        {
            **FULL,
            "directory.yml": DIRECTORY.replace(
                "manager: bo@acme.example", "manager: bob@parent.example"
            ),
        },
    )
    workspace = load_workspace(root)
    assert workspace.directory.by_email("cy@acme.example").manager == "bob@parent.example"
    _, findings = read_workspace(root)
    assert findings.errors == []
    assert [str(w).split(";")[0] for w in findings.warnings] == [
        "directory.yml:12: manager bob@parent.example of cy@acme.example is not in the directory"
    ]


def test_reading_a_workspace_finds_every_mistake_in_every_file_at_once(tmp_path):
    root = make(
        tmp_path,
        {
            **FULL,
            "trellis.yml": TRELLIS.replace("min_confidence: 0.5", "min_confidence: 4"),
            "sandbox.yml": "- just a list\n",
            "evals/golden.yml": "cases: 3\n",
            "knowledge/_access.yml": "default: [nobody-group]\n",
        },
    )
    workspace, findings = read_workspace(root)
    assert workspace is None
    where = sorted(e.file for e in findings.errors)
    assert where == ["evals/golden.yml", "knowledge/_access.yml", "sandbox.yml", "trellis.yml"]
    with pytest.raises(WorkspaceError) as first:
        load_workspace(root)
    assert str(first.value) == str(findings.errors[0])


def test_a_mistake_in_one_section_of_trellis_yml_hides_none_in_the_others(tmp_path):
    text = (
        TRELLIS.replace("min_confidence: 0.5", "min_confidence: 1.5")
        .replace("flaggers: [support, bo@acme.example]", "flaggers: [suport, bo@acme.example]")
        .replace("name: Acme", "name: Acme\nanswers: {max_sources: 2}")
    )
    workspace, findings = read_workspace(make(tmp_path, {**FULL, "trellis.yml": text}))
    assert workspace is None
    said = [str(e) for e in findings.errors]
    assert said == [
        "trellis.yml:6: duplicate key 'answers'",  # the later one is read and checked
        "trellis.yml:8: answers.min_confidence: Input should be less than or equal to 1",
        "trellis.yml:9: flags.flaggers.0: 'suport' is not a group in directory.yml, an email "
        "of someone in it, 'everyone' or 'public' (did you mean 'support'?)",
    ]
    assert findings.config is not None and findings.config.owners_channel == "C0OWNERS1"


SANDBOX = """\
users:
  - {name: gina, email: gina@contractor.example, guest: true}
channels:
  - {id: C0GENERAL1, name: general, members: [everyone, gina@contractor.example, ghost@x.com]}
  - {id: C0SALES01, name: sales, members: [group:sales, group:sales-manager, bo]}
  - {id: C0GENERAL1, name: sales, members: [group:everyone]}
hints:
  cy@acme.example: [{title: Ask, in: general}, {title: Ask there, in: "#nowhere"}]
  zed@acme.example: [{title: Hello, in: app}]
"""


def test_sandbox_yml_names_only_people_groups_and_channels_that_exist(tmp_path):
    root = make(tmp_path, {"sandbox.yml": SANDBOX})
    workspace, findings = read_workspace(root)
    assert workspace is None
    assert [(e.file, e.line, e.problem) for e in findings.errors] == [
        (
            "sandbox.yml",
            4,
            "channels.0.members.2: ghost@x.com is neither in directory.yml nor in users",
        ),
        (
            "sandbox.yml",
            5,
            "channels.1.members.1: group:sales-manager names no group of directory.yml "
            "(did you mean group:sales-managers?)",
        ),
        (
            "sandbox.yml",
            5,
            "channels.1.members.2: 'bo' is not `everyone`, `group:NAME` or an email",
        ),
        (
            "sandbox.yml",
            6,
            "channels.2.id: C0GENERAL1 is already the id of channels.0 (line 4); each "
            "channel needs its own",
        ),
        (
            "sandbox.yml",
            6,
            "channels.2.name: sales is already the name of channels.1 (line 5); each "
            "channel needs its own",
        ),
        (
            "sandbox.yml",
            8,
            "hints.cy@acme.example.1.in: there is no channel nowhere (or write app, home, systems)",
        ),
        (
            "sandbox.yml",
            9,
            "hints: zed@acme.example is neither in directory.yml nor in users (or `everyone`)",
        ),
    ]
    with pytest.raises(WorkspaceError) as first:
        load_workspace(root)
    assert str(first.value) == str(findings.errors[0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chanels: []\n", "sandbox.yml:1: chanels: Extra inputs are not permitted"),
        ("users:\n  - {title: Guest}\n", "sandbox.yml:2: users.0: a user needs a name or an email"),
        ("channels:\n  - {name: general}\n", "sandbox.yml:2: channels.0.id: Field required"),
    ],
)
def test_sandbox_yml_is_checked_against_its_schema(tmp_path, text, expected):
    assert str(broken(tmp_path, {"sandbox.yml": text})) == expected


def test_every_eval_file_is_checked_even_when_another_is_broken(tmp_path):
    root = make(
        tmp_path,
        {
            "evals/a.yml": "cases: 3\n",
            "evals/b.yml": EVALS.replace("expect_status: refused", "expect_status: denied"),
            "evals/c.yml": EVALS.replace("id: guest", "id: pto"),
        },
    )
    _, findings = read_workspace(root)
    assert [(e.file, e.line) for e in findings.errors] == [
        ("evals/a.yml", 1),
        ("evals/b.yml", 11),
        ("evals/c.yml", 7),  # a second `pto`
    ]
