"""`_access.yml` resolution: nearest folder wins, globs before defaults, front matter first."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import BrokenAccessRule, WorkspaceError
from app.knowledge.access_rules import AccessRules


def _rules(tmp_path: Path, files: dict[str, str]) -> AccessRules:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        path = knowledge / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return AccessRules.load(knowledge, display_root=tmp_path)


@pytest.fixture
def rules(tmp_path) -> AccessRules:
    return _rules(
        tmp_path,
        {
            "_access.yml": "default: [everyone]\n",
            "hr/_access.yml": (
                "default: [everyone]\n"
                "files:\n"
                '  "salary-bands-*": [people-ops, Leadership@Acme.Example]\n'
                '  "reviews/*.md": [hr-partners]\n'
            ),
            "hr/reviews/_access.yml": 'files:\n  "ceo-*": [board]\n',
            "sales/_access.yml": "default: [sales]\n",
            "sales/deals/emea/notes.md": "",
            "legal/_access.yml": 'files:\n  "nda-*": [legal]\n',
            # The documents the patterns are written for: a pattern matching none is broken.
            "hr/salary-bands-2026.md": "",
            "hr/reviews/2025.md": "",
            "hr/reviews/ceo-2025.md": "",
            "legal/nda-template.md": "",
        },
    )


def test_root_default_applies_to_files_without_a_nearer_rule(rules):
    assert rules.resolve("handbook.md").principals == ("everyone",)
    assert rules.resolve("it/help.txt").principals == ("everyone",)


def test_nearest_folder_wins(rules):
    assert rules.resolve("sales/discounts.md").principals == ("sales",)
    assert rules.resolve("sales/deals/emea/notes.md").principals == ("sales",)


def test_files_glob_beats_the_default_and_emails_are_lower_cased(rules):
    resolved = rules.resolve("hr/salary-bands-2026.md")
    assert resolved.principals == ("people-ops", "leadership@acme.example")
    assert "salary-bands-*" in resolved.source
    assert rules.resolve("hr/pto.md").principals == ("everyone",)


def test_globs_match_paths_relative_to_their_folder(rules):
    assert rules.resolve("hr/reviews/2025.md").principals == ("hr-partners",)
    assert rules.resolve("hr/reviews/ceo-2025.md").principals == ("board",)


def test_a_folder_without_a_matching_rule_defers_to_its_parent(rules):
    assert rules.resolve("legal/nda-template.md").principals == ("legal",)
    assert rules.resolve("legal/msa.md").principals == ("everyone",)


def test_front_matter_access_wins_over_every_folder_rule(rules):
    resolved = rules.resolve("hr/salary-bands-2026.md", ("ana@acme.example",))
    assert resolved.principals == ("ana@acme.example",)
    assert resolved.source == "front matter"
    assert rules.resolve("sales/x.md", ()).principals == ()


def test_no_rule_anywhere_means_nobody(tmp_path):
    rules = _rules(tmp_path, {"sales/_access.yml": "default: [sales]\n"})
    resolved = rules.resolve("drafts/plan.md")
    assert resolved.principals == ()
    assert resolved.source == "none"
    assert rules.resolve("sales/plan.md").principals == ("sales",)


def test_an_empty_access_file_is_no_rule(tmp_path):
    rules = _rules(tmp_path, {"_access.yml": "default: [everyone]\n", "eng/_access.yml": ""})
    assert rules.resolve("eng/runbook.md").principals == ("everyone",)
    assert rules.errors == []


def test_an_explicit_empty_default_means_nobody_even_below_a_broader_rule(tmp_path):
    rules = _rules(
        tmp_path, {"_access.yml": "default: [everyone]\n", "vault/_access.yml": "default: []\n"}
    )
    assert rules.resolve("vault/keys.md").principals == ()


def test_hidden_folders_are_ignored(tmp_path):
    rules = _rules(tmp_path, {".git/_access.yml": "default: [everyone]\n"})
    assert rules.resolve("x.md").principals == ()


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("default: [sales]\ndefualt: [hr]\n", 2, "defualt"),
        ("default: [sales]\nfiles:\n  '*.md': [sales team]\n", 3, "no spaces"),
        ("default: [sales\n", 2, "invalid YAML"),
        ("- sales\n", 1, "mapping"),
        ("files: [a, b]\n", 1, "files"),
    ],
)
def test_broken_access_file_names_file_and_line(tmp_path, text, line, problem):
    rules = _rules(tmp_path, {"_access.yml": "default: [everyone]\n", "hr/_access.yml": text})
    [error] = rules.errors
    assert isinstance(error, WorkspaceError)
    assert error.file == "knowledge/hr/_access.yml"
    assert error.line == line
    assert problem in error.problem
    for path in ("hr/pto.md", "hr/sub/pto.md"):
        with pytest.raises(BrokenAccessRule) as caught:
            rules.resolve(path)
        assert caught.value.error is error
    assert rules.resolve("sales/pto.md").principals == ("everyone",)
    assert rules.resolve("hr/pto.md", ("hr",)).principals == ("hr",)


def test_a_nearer_rule_shields_documents_from_a_broken_parent(tmp_path):
    rules = _rules(
        tmp_path, {"_access.yml": "default: [everyone\n", "hr/_access.yml": "default: [hr]\n"}
    )
    assert [e.file for e in rules.errors] == ["knowledge/_access.yml"]
    assert rules.resolve("hr/pto.md").principals == ("hr",)
    with pytest.raises(BrokenAccessRule):
        rules.resolve("handbook.md")


TRAVEL = {
    "_access.yml": "default: [everyone]\n",
    "travel/_access.yml": 'default: [everyone]\nfiles:\n  "travel-crad.md": [travelers]\n',
    "travel/travel-card.md": "# Travel card\n",
    "travel/booking.md": "# Booking\n",
    "travel/visas/schengen.md": "# Schengen\n",
}


def test_a_misspelt_file_pattern_breaks_its_access_file_instead_of_falling_back(tmp_path):
    rules = _rules(tmp_path, TRAVEL)
    [error] = rules.errors
    assert (error.file, error.line) == ("knowledge/travel/_access.yml", 3)
    assert error.problem.startswith(
        "files: 'travel-crad.md' matches no file in knowledge/travel/; "
        "did you mean 'travel-card.md'?"
    )
    # Nothing under the folder falls back to its `default` (everyone) while it is broken.
    for path in ("travel/booking.md", "travel/visas/schengen.md"):
        with pytest.raises(BrokenAccessRule):
            rules.resolve(path)
    assert rules.resolve("handbook.md").principals == ("everyone",)


def test_the_document_a_misspelt_pattern_was_meant_for_is_withheld_from_everyone(tmp_path):
    rules = _rules(tmp_path, TRAVEL)
    [error] = rules.errors
    assert "until it is fixed, nobody sees 'travel-card.md'" in error.problem
    withheld = rules.resolve("travel/travel-card.md")
    assert withheld.principals == () and withheld.withheld
    # Its own front matter decides as always: the folder's rules never applied to it.
    assert rules.resolve("travel/travel-card.md", ("finance",)).principals == ("finance",)


def test_a_pattern_for_documents_still_to_come_must_be_allowed_explicitly(tmp_path):
    text = 'default: [board]\nfiles:\n  "minutes-*.md": [board, legal]\n'
    files = {"board/_access.yml": text, "board/charter.md": "# Charter\n"}
    [error] = _rules(tmp_path, files).errors
    assert error.line == 3
    assert "matches no file in knowledge/board/" in error.problem
    assert "allow_unmatched" in error.problem

    allowed = text + 'allow_unmatched: ["minutes-*.md"]\n'
    rules = _rules(tmp_path, {**files, "board/_access.yml": allowed})
    assert rules.errors == []
    assert rules.resolve("board/charter.md").principals == ("board",)
    assert rules.resolve("board/minutes-2026-01.md").principals == ("board", "legal")

    stray = text + 'allow_unmatched: ["minutes-*.md", "minutes.md"]\n'
    [error] = _rules(tmp_path, {**files, "board/_access.yml": stray}).errors
    assert error.line == 4
    assert "'minutes.md' is not one of the `files` patterns" in error.problem


def test_a_pattern_naming_a_folder_says_patterns_match_files(tmp_path):
    rules = _rules(
        tmp_path,
        {
            "hr/_access.yml": 'default: [everyone]\nfiles:\n  "payroll": [payroll]\n',
            "hr/payroll/2026.md": "# Payroll\n",
        },
    )
    [error] = rules.errors
    assert "'payroll' matches no file in knowledge/hr/" in error.problem
    assert "write 'payroll/*'" in error.problem


def test_a_pattern_that_an_earlier_one_or_a_nearer_file_always_overrides_is_broken(tmp_path):
    shadowed = _rules(
        tmp_path / "a",
        {
            "hr/_access.yml": (
                'default: [hr]\nfiles:\n  "*.md": [everyone]\n  "salaries.md": [payroll]\n'
            ),
            "hr/salaries.md": "# Salaries\n",
        },
    )
    [error] = shadowed.errors
    assert error.line == 4
    assert error.problem.startswith(
        "files: 'salaries.md' decides for no file: the earlier pattern '*.md' (line 3) "
        "decides for salaries.md"
    )

    nearer = _rules(
        tmp_path / "b",
        {
            "hr/_access.yml": 'default: [hr]\nfiles:\n  "reviews/ceo.md": [board]\n',
            "hr/reviews/_access.yml": "default: [hr-partners]\n",
            "hr/reviews/ceo.md": "# CEO review\n",
        },
    )
    [error] = nearer.errors
    assert error.file == "knowledge/hr/_access.yml"
    assert "the nearer knowledge/hr/reviews/_access.yml decides for reviews/ceo.md" in error.problem
    assert nearer.resolve("hr/reviews/ceo.md").principals == ("hr-partners",)
