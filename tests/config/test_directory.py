from __future__ import annotations

import textwrap

import pytest

from app.config.directory import Directory
from app.domain import Person
from app.errors import WorkspaceError

DIRECTORY_YML = """\
people:
  - email: Ana@Acme.example
    name: Ana Souza
    slack_id: U0ANA
    employee_id: E-1002
    title: Support Lead
    department: Support
    groups: [support, support-leads]
    manager: bo@acme.example
    region: EMEA
  - email: bo@acme.example
    name: Bo Lind
    groups: [support-leads, leadership]
  - email: cy@acme.example
    name: Cy Park
    groups: [sales]
    manager: bo@acme.example
"""


def load(tmp_path, text: str, name: str = "directory.yml") -> Directory:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return Directory.load(path)


def error(tmp_path, text: str, name: str = "directory.yml") -> WorkspaceError:
    with pytest.raises(WorkspaceError) as caught:
        load(tmp_path, text, name)
    return caught.value


def test_people_are_found_by_email_in_any_case_and_by_slack_id(tmp_path):
    directory = load(tmp_path, DIRECTORY_YML)
    ana = directory.by_email("ANA@acme.EXAMPLE")
    assert ana is not None
    assert ana.email == "ana@acme.example"
    assert ana.groups == frozenset({"support", "support-leads"})
    assert ana.employee_id == "E-1002"
    assert directory.by_slack_id("U0ANA") == ana
    assert directory.by_slack_id("U0NOBODY") is None
    assert directory.by_email("nobody@acme.example") is None
    assert directory.by_email(None) is None


def test_groups_members_and_managers(tmp_path):
    directory = load(tmp_path, DIRECTORY_YML)
    ana, bo, cy = directory.people
    assert directory.groups == {"support", "support-leads", "leadership", "sales"}
    assert directory.members("support-leads") == [ana, bo]
    assert directory.members("everyone") == [ana, bo, cy]
    assert directory.members("no-such-group") == []
    assert directory.manager_of(ana) == bo
    assert directory.manager_of(bo) is None


def test_expand_resolves_emails_groups_and_everyone(tmp_path):
    directory = load(tmp_path, DIRECTORY_YML)
    ana, bo, cy = directory.people
    assert directory.expand(["sales", "ANA@acme.example"]) == {ana, cy}
    assert directory.expand(["everyone"]) == {ana, bo, cy}
    assert directory.expand(["public"]) == {ana, bo, cy}
    assert directory.expand(["ghost@acme.example", "ghosts"]) == set()


def test_directory_from_a_csv_export(tmp_path):
    csv_text = (
        "\ufeffemail,name,slack_id,employee_id,title,department,groups,manager,region\n"
        "ana@acme.example,Ana Souza,U0ANA,1002,Support Lead,Support,support;support-leads,"
        "bo@acme.example,EMEA\n"
        "bo@acme.example,Bo Lind,,,,,support-leads | leadership,,\n"
    )
    directory = load(tmp_path, csv_text, "directory.csv")
    ana, bo = directory.people
    assert ana.groups == frozenset({"support", "support-leads"})
    assert bo.groups == frozenset({"support-leads", "leadership"})
    assert ana.employee_id == "1002"
    assert bo.slack_id is None and bo.title is None
    assert directory.manager_of(ana) == bo


def test_directory_built_in_code_is_checked_too():
    ana = Person(email="ana@acme.example", name="Ana", manager="ana@acme.example")
    with pytest.raises(WorkspaceError, match="managers form a loop"):
        Directory([ana])


def test_a_manager_outside_the_directory_is_a_warning_not_a_refusal(tmp_path):
    directory = load(
        tmp_path,
        "people:\n  - email: ana@acme.example\n    name: Ana\n    manager: coo@parent.example\n"
        "  - email: bo@acme.example\n    name: Bo\n    manager: ana@acme.example\n",
    )
    ana, bo = directory.people
    assert directory.manager_of(ana) is None
    assert directory.manager_of(bo) == ana
    [warning] = directory.warnings
    assert (warning.file, warning.line) == ("directory.yml", 4)
    assert warning.problem.startswith(
        "manager coo@parent.example of ana@acme.example is not in the directory"
    )
    assert "approvals channel" in warning.problem
    in_code = Directory([Person(email="cy@acme.example", name="Cy", manager="x@elsewhere.example")])
    assert [w.problem.split(";")[0] for w in in_code.warnings] == [
        "manager x@elsewhere.example of cy@acme.example is not in the directory"
    ]


def test_a_csv_export_with_managers_outside_it_loads_with_a_warning_per_row(tmp_path):
    directory = load(
        tmp_path,
        "email,name,manager\nana@acme.example,Ana,ceo@board.example\n"
        "bo@acme.example,Bo,ana@acme.example\ncy@acme.example,Cy,ceo@board.example\n",
        "directory.csv",
    )
    assert len(directory) == 3
    assert [(w.file, w.line) for w in directory.warnings] == [
        ("directory.csv", 2),
        ("directory.csv", 4),
    ]


def test_every_mistake_in_the_directory_is_found_in_one_pass(tmp_path):
    err = error(
        tmp_path,
        "people:\n"
        "  - email: ana@acme.example\n    name: Ana\n    slack_id: U1\n"
        "  - email: bo@acme.example\n    name: Bo\n    slack_id: U1\n"
        "  - email: ana@acme.example\n    name: Ana again\n"
        "  - email: cy@acme.example\n    name: Cy\n    manager: cy@acme.example\n",
    )
    found = [(e.line, e.problem) for e in (err, *err.also)]
    assert found == [
        (7, "slack_id U1 is already used by ana@acme.example (first on line 2)"),
        (8, "ana@acme.example is listed twice (first on line 2)"),
        (12, "managers form a loop: cy@acme.example -> cy@acme.example"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            "people:\n  - email: ana@acme.example\n    name: Ana\n    team: support\n",
            4,
            "people.0.team: Extra inputs are not permitted",
        ),
        (
            "people:\n  - email: ana@acme.example\n    name: Ana\n  - email: bo.acme.example\n"
            "    name: Bo\n",
            4,
            "people.1.email: 'bo.acme.example' is not a valid email address",
        ),
        (
            "people:\n  - email: ana@acme.example\n    name: Ana\n  - email: ANA@acme.example\n"
            "    name: Ana again\n",
            4,
            "ana@acme.example is listed twice (first on line 2)",
        ),
        (
            "people:\n  - email: ana@acme.example\n    name: Ana\n    slack_id: U1\n"
            "  - email: bo@acme.example\n    name: Bo\n    slack_id: U1\n",
            7,
            "slack_id U1 is already used by ana@acme.example (first on line 2)",
        ),
        (
            "people:\n  - email: ana@acme.example\n    name: Ana\n    groups: [sales, everyone]\n",
            4,
            "people.0.groups.1: 'everyone' is built in and cannot be used as a group name",
        ),
        (
            "people:\n  - email: ana@acme.example\n    name: Ana\n    groups: [Sales Team]\n",
            4,
            "people.0.groups.0: 'Sales Team' is not a valid group name: use lower-case "
            "letters, digits, '-' and '_'",
        ),
        ("people:\n  - email: ana@acme.example\n", 2, "people.0.name: Field required"),
        ("staff: []\n", 1, "people: Field required"),
    ],
)
def test_mistakes_in_directory_yml_name_their_line(tmp_path, text, line, problem):
    err = error(tmp_path, text)
    assert (err.file, err.line, err.problem) == ("directory.yml", line, problem)


def test_a_loop_of_managers_is_rejected_at_its_first_member(tmp_path):
    err = error(
        tmp_path,
        """\
        people:
          - email: ana@acme.example
            name: Ana
            manager: cy@acme.example
          - email: bo@acme.example
            name: Bo
            manager: ana@acme.example
          - email: cy@acme.example
            name: Cy
            manager: bo@acme.example
        """,
    )
    assert err.line == 4
    assert err.problem == (
        "managers form a loop: ana@acme.example -> cy@acme.example -> bo@acme.example "
        "-> ana@acme.example"
    )


def test_being_your_own_manager_is_a_loop(tmp_path):
    err = error(
        tmp_path,
        "people:\n  - email: ana@acme.example\n    name: Ana\n    manager: ana@acme.example\n",
    )
    assert str(err) == (
        "directory.yml:4: managers form a loop: ana@acme.example -> ana@acme.example"
    )


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            "email,name,groups\nana@acme.example,Ana,support\nbo@acme,Bo,\n",
            3,
            "email: 'bo@acme' is not a valid email address",
        ),
        (
            "email,name,team\nana@acme.example,Ana,support\n",
            1,
            "unknown column 'team'; the columns are email, name, slack_id, employee_id, "
            "title, department, groups, manager, region",
        ),
        ("name,groups\nAna,support\n", 1, "the column 'email' is required"),
        (
            'email,name,title\nana@acme.example,Ana,"Lead,\nSupport"\nana@acme.example,Ana,\n',
            4,
            "ana@acme.example is listed twice (first on line 2)",
        ),
        (
            "email,name,groups\nana@acme.example,Ana,support;Public\n",
            2,
            "groups: 'Public' is not a valid group name: use lower-case letters, digits, "
            "'-' and '_'",
        ),
        ("email,name\nana@acme.example,Ana,extra\n", 2, "3 cells but only 2 columns"),
    ],
)
def test_mistakes_in_directory_csv_name_their_line(tmp_path, text, line, problem):
    err = error(tmp_path, text, "directory.csv")
    assert (err.file, err.line, err.problem) == ("directory.csv", line, problem)


def test_a_person_the_schema_refuses_hides_neither_duplicates_nor_loops(tmp_path):
    err = error(
        tmp_path,
        "people:\n"
        "  - email: ana@acme.example\n    name: Ana\n    team: support\n"
        "  - email: bo@acme.example\n    name: Bo\n    manager: cy@acme.example\n"
        "  - email: cy@acme.example\n    name: Cy\n    manager: bo@acme.example\n"
        "  - email: ana@acme.example\n    name: Ana again\n"
        "  - email: dee.acme.example\n    name: Dee\n",
    )
    found = [(e.line, e.problem) for e in (err, *err.also)]
    assert found == [
        (4, "people.0.team: Extra inputs are not permitted"),
        (7, "managers form a loop: bo@acme.example -> cy@acme.example -> bo@acme.example"),
        (11, "ana@acme.example is listed twice (first on line 2)"),
        (13, "people.4.email: 'dee.acme.example' is not a valid email address"),
    ]
