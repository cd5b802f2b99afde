"""Mistakes in a workspace that used to pass `trellis check` and then changed what Trellis
did: each is reported by `check` with its file and line, in one round, and the commands
that read the workspace refuse what they cannot do right. Every test runs the real
command on a starter workspace (`trellis init`) with the mistake written into its files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_check_and_init import findings, trellis


@pytest.fixture
def cobalt(tmp_path) -> Path:
    done = trellis(tmp_path, "init", str(tmp_path / "cobalt"))
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / "cobalt"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new))


def check(tmp_path: Path, root: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    """The command's run and its findings by (kind, file, line): the problem."""
    done = trellis(tmp_path, "check", "--workspace", str(root))
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    found = {(kind, file, line): problem for kind, file, line, problem in findings(done.stdout)}
    return done, found


def ask(tmp_path: Path, root: Path, email: str, question: str) -> dict:
    done = trellis(tmp_path, "ask", "--workspace", str(root), "--as", email, "--json", question)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


TRAVEL_CARD = "# Travel card\n\nThe travel card PIN is 4321; finance hands out the cards.\n"
TRAVEL_RULES = 'default: [everyone]\nfiles:\n  "travel-card.md": [finance]\n'


def test_a_misspelt_access_pattern_is_an_error_and_never_opens_the_document(tmp_path, cobalt):
    write(
        cobalt,
        {
            "knowledge/travel/_access.yml": TRAVEL_RULES,
            "knowledge/travel/travel-card.md": TRAVEL_CARD,
        },
    )
    assert trellis(tmp_path, "ingest", "--workspace", str(cobalt)).returncode == 0

    edit(cobalt, "knowledge/travel/_access.yml", "travel-card.md", "travel-crad.md")
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 1, done.stdout
    problem = found[("error", "knowledge/travel/_access.yml", 3)]
    assert problem.startswith(
        "files: 'travel-crad.md' matches no file in knowledge/travel/; "
        "did you mean 'travel-card.md'?"
    ), problem

    ingested = trellis(tmp_path, "ingest", "--workspace", str(cobalt))
    assert ingested.returncode == 1
    assert "knowledge/travel/_access.yml:3" in " ".join(ingested.stderr.split())
    # The folder keeps the access it was indexed with: not everyone's, as its default says.
    question = "What is the travel card PIN?"
    assert "4321" not in ask(tmp_path, cobalt, "sam@example.com", question)["answer"]
    answer = ask(tmp_path, cobalt, "jo@example.com", question)
    assert [c["doc_id"] for c in answer["citations"]] == ["travel/travel-card"]


def test_a_pattern_for_documents_still_to_come_passes_when_it_says_so(tmp_path, cobalt):
    rules = 'default: [everyone]\nfiles:\n  "cards-*.md": [finance]\n'
    write(cobalt, {"knowledge/travel/_access.yml": rules, "knowledge/travel/booking.md": "# B\n"})
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 1
    assert "allow_unmatched" in found[("error", "knowledge/travel/_access.yml", 3)]

    write(cobalt, {"knowledge/travel/_access.yml": rules + 'allow_unmatched: ["cards-*.md"]\n'})
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 0, done.stdout
    assert found == {}
