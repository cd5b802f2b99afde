"""The eval gate from the command line, as an operator meets it: a workspace from `trellis
init`, changed by editing its files, judged by `reload`, answered from by `ask` and `run`,
rolled back by `rollback`. Every command runs in a real subprocess on a real SQLite file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.trust.corrections import append_eval_case
from tests.run_helpers import trellis_run


def trellis(tmp_path: Path, *args: str, columns: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "ANTHROPIC_"))}
    env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    env.update(
        TRELLIS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}",
        TRELLIS_HTTP_PORT="0",
        TRELLIS_SANDBOX_PORT="0",
        COLUMNS=str(columns),
    )
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def acme(tmp_path) -> Path:
    done = trellis(tmp_path, "init", "acme")
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / "acme"


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new))


def refuse_everything(root: Path) -> None:
    """A change that makes every answer a no-answer: the eval set fails it."""
    edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: 0.999")


def live_version(tmp_path: Path, acme: Path) -> str:
    done = trellis(tmp_path, "reload", "-w", str(acme))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split("Version ", 1)[1].split()[0]


def statuses(listing: str) -> dict[str, str]:
    """{version: status} from the table `trellis versions` prints."""
    rows = [line.split("│")[1:3] for line in listing.splitlines() if line.startswith("│")]
    return {name.strip(" *"): status.strip() for name, status in rows if name.strip()}


def ask(tmp_path: Path, acme: Path, question: str) -> subprocess.CompletedProcess[str]:
    return trellis(tmp_path, "ask", "-w", str(acme), "--as", "sam@example.com", "--json", question)


def test_init_writes_an_eval_set_the_starter_workspace_passes(tmp_path, acme):
    done = trellis(tmp_path, "eval", "-w", str(acme), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and not report["untested"]
    assert report["scores"]["cases"] >= 5
    assert {case["status"] for case in report["cases"]} == {"answered", "no_answer"}


def test_reload_exits_non_zero_when_the_version_does_not_go_live(tmp_path, acme):
    helped = trellis(tmp_path, "reload", "--help")
    assert "Exit status" in helped.stdout and "refused" in helped.stdout, helped.stdout
    live_version(tmp_path, acme)

    refuse_everything(acme)
    refused = trellis(tmp_path, "reload", "-w", str(acme))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    said = " ".join(refused.stderr.split())
    assert "did not go live" in said and "the live one, keeps answering" in said
    again = trellis(tmp_path, "reload", "-w", str(acme))
    assert again.returncode == 1 and "decided earlier" in again.stderr

    (acme / "rules.yml").write_text((acme / "rules.yml").read_text() + "\n  oops: [\n")
    broken = trellis(tmp_path, "reload", "-w", str(acme))
    assert broken.returncode == 2 and "rules.yml:" in broken.stderr, broken.stderr


def test_reload_exits_2_every_time_a_file_does_not_load(tmp_path, acme):
    live_version(tmp_path, acme)
    edit(acme, "rules.yml", "approvers: [managers, finance]", "approvers: [managers, nobody]")
    first = trellis(tmp_path, "reload", "-w", str(acme))
    assert first.returncode == 2 and "rules.yml:" in first.stderr, first.stderr
    again = trellis(tmp_path, "reload", "-w", str(acme))
    assert again.returncode == 2, again.stdout + again.stderr
    assert "decided earlier" in again.stderr and "rules.yml:" in again.stderr


def indexed_text(tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "trellis.db") as db:
        return "\n".join(text for (text,) in db.execute("SELECT text FROM chunks"))


def test_reload_reindexes_changed_documents_and_says_how_many(tmp_path, acme):
    version = live_version(tmp_path, acme)
    edit(acme, "knowledge/handbook/office-hours.md", "8:00 to 18:00", "9:00 to 17:00")
    done = trellis(tmp_path, "reload", "-w", str(acme))
    assert done.returncode == 0, done.stdout + done.stderr
    printed = " ".join(done.stdout.split())
    assert f"Version {version} is already live" in printed and "nothing to do" not in printed
    assert "Knowledge: 1 document changed, re-indexed (0 new, 1 updated, 0 removed)" in printed
    assert "9:00 to 17:00" in indexed_text(tmp_path)
    again = trellis(tmp_path, "reload", "-w", str(acme))
    assert "no document in knowledge/ changed; nothing to do" in " ".join(again.stdout.split())


def test_reload_names_a_document_it_could_not_read_and_exits_2_until_it_is_fixed(tmp_path, acme):
    helped = " ".join(trellis(tmp_path, "reload", "--help").stdout.split())
    assert "a document or an _access.yml of knowledge/" in helped, helped
    live_version(tmp_path, acme)
    name = "knowledge/handbook/office-hours.md"
    (acme / name).write_text(
        "---\naccess: [everyone, managers\n---\n"
        + (acme / name).read_text().replace("8:00", "9:00")
    )
    for _ in range(2):  # every time it is asked, not only when the file changed
        done = trellis(tmp_path, "reload", "-w", str(acme))
        printed = " ".join(done.stdout.split())
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"{name}:2: invalid YAML" in printed, printed
        assert "the last good version of its documents keeps being served" in printed
        assert "nothing to do" not in printed
        assert "8:00 to 18:00" in indexed_text(tmp_path)

    (acme / name).write_text((acme / name).read_text().replace("managers\n", "managers]\n"))
    fixed = trellis(tmp_path, "reload", "-w", str(acme))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "9:00 to 19:00" in indexed_text(tmp_path)


def test_a_running_trellis_reindexes_a_saved_document_without_a_command(tmp_path, acme):
    live_version(tmp_path, acme)
    with trellis_run(tmp_path, until="Trellis is running", args=["-w", str(acme)]) as run:
        edit(acme, "knowledge/handbook/office-hours.md", "8:00 to 18:00", "9:00 to 17:00")
        deadline = time.monotonic() + 30
        while "9:00 to 17:00" not in indexed_text(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "9:00 to 17:00" in indexed_text(tmp_path), run.printed
        done = trellis(tmp_path, "reload", "-w", str(acme))
        assert "no document in knowledge/ changed" in " ".join(done.stdout.split())
    assert run.returncode == 0, run.printed + run.rest


def test_ask_answers_from_the_live_version_while_the_folder_is_refused(tmp_path, acme):
    live = live_version(tmp_path, acme)
    refuse_everything(acme)  # not reloaded: ask puts the new files through the gate itself

    done = ask(tmp_path, acme, "When is the office open?")
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "answered" and answer["version"] == live
    assert "8:00 to 18:00" in answer["answer"]
    note = " ".join(done.stderr.split())
    assert "did not go live" in note and f"Serving version {live}" in note
    assert f"trellis rollback {live}" in note and "trellis reload" in note

    listed = trellis(tmp_path, "versions", "-w", str(acme))
    rows = statuses(listed.stdout)
    assert rows.get(live) == "live" and "refused" in rows.values(), listed.stdout


def test_run_refuses_and_ask_answers_from_the_folder_when_no_version_ever_went_live(tmp_path, acme):
    refuse_everything(acme)
    done = trellis(tmp_path, "run", "-w", str(acme))
    assert done.returncode == 2, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "did not pass the eval gate" in message and "nothing to serve" in message
    assert "Traceback" not in done.stderr and not done.stdout.strip()

    reloaded = trellis(tmp_path, "reload", "-w", str(acme))
    assert reloaded.returncode == 1, reloaded.stdout + reloaded.stderr
    said = " ".join(reloaded.stderr.split())
    assert "No version is live yet" in said and "keeps answering" not in said

    tried = ask(tmp_path, acme, "When is the office open?")  # the operator tries it out
    assert tried.returncode == 0, tried.stdout + tried.stderr
    note = " ".join(tried.stderr.split())
    assert "did not pass the eval gate" in note and "no version is live yet" in note
    assert "`trellis run` will not answer anyone in Slack" in note


def test_run_serves_the_live_version_from_its_stored_files_and_says_why(tmp_path, acme):
    live = live_version(tmp_path, acme)
    refuse_everything(acme)
    refused = trellis(tmp_path, "reload", "-w", str(acme))
    assert refused.returncode == 1

    with trellis_run(tmp_path, until="Trellis is running", args=["-w", str(acme)]) as run:
        health = f"http://127.0.0.1:{run.http_port}/healthz"
        assert json.loads(urllib.request.urlopen(health, timeout=10).read())["version"] == live
    printed = " ".join(run.printed.split())
    assert f"Serving version {live}" in printed and "did not go live" in printed
    assert f"version {live} from its stored files" in printed
    assert run.returncode == 0, run.printed + run.rest

    listed = trellis(tmp_path, "versions", "-w", str(acme))
    rows = statuses(listed.stdout)
    assert rows[live] == "live" and list(rows.values()).count("live") == 1, listed.stdout
    assert "retired" not in rows.values()


def test_versions_in_a_narrow_terminal_show_every_id_whole_and_wrap_the_reasons(tmp_path, acme):
    live = live_version(tmp_path, acme)
    refuse_everything(acme)
    refused = trellis(tmp_path, "reload", "-w", str(acme))
    version = refused.stderr.split("Version ", 1)[1].split()[0]
    with sqlite3.connect(tmp_path / "trellis.db") as db:
        query = "SELECT reason FROM config_versions WHERE version = ?"
        (reason,) = db.execute(query, (version,)).fetchone()
    assert len(reason) > 160, reason  # longer than the old listing kept

    for columns in (100, 60, 40):
        listed = trellis(tmp_path, "versions", "-w", str(acme), columns=columns)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        lines = listed.stdout.splitlines()
        assert all(len(line.rstrip()) <= columns for line in lines), listed.stdout
        words = [w.strip("│┃") for line in lines for w in line.split() if w.strip("│┃")]
        assert live in words and version in words, listed.stdout
        assert "40%" in words and "…" not in listed.stdout, listed.stdout
        assert reason in " ".join(words), listed.stdout
        assert "facts" in words or "fact recall" in " ".join(words), listed.stdout


def test_rollback_keeps_unsaved_edits_and_refuses_unclear_or_refused_versions(tmp_path, acme):
    first = live_version(tmp_path, acme)
    edit(acme, "trellis.yml", "name: Example Co", "name: Example Co Ltd")
    second = live_version(tmp_path, acme)
    (acme / "evals").mkdir(exist_ok=True)
    (acme / "evals" / "golden.yml").write_text(
        "cases:\n  - id: office-again\n    question: When does the office open?\n"
        "    asker: sam@example.com\n    expect_status: answered\n"
        "    expect_sources: [handbook/office-hours]\n"
    )
    edited = (acme / "trellis.yml").read_text()

    for typed, says in (("", "name a version"), ("3", "at least 4 characters")):
        done = trellis(tmp_path, "rollback", "-w", str(acme), typed)
        assert done.returncode == 2 and says in done.stderr, done.stderr
    unsaved = trellis(tmp_path, "rollback", "-w", str(acme), first[:4])
    assert unsaved.returncode == 1, unsaved.stdout + unsaved.stderr
    assert "never put through the eval gate" in unsaved.stderr and "--force" in unsaved.stderr
    assert (acme / "evals" / "golden.yml").exists() and (acme / "trellis.yml").read_text() == edited

    forced = trellis(tmp_path, "rollback", "-w", str(acme), first[:4], "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    output = " ".join(forced.stdout.split())
    kept = output.split("kept as version ", 1)[1].split()[0]
    assert "evals/golden.yml" in output and f"Version {first} is live again" in output
    assert not (acme / "evals" / "golden.yml").exists()

    back = trellis(tmp_path, "rollback", "-w", str(acme), kept)
    assert back.returncode == 0 and "stays live" in back.stdout, back.stdout + back.stderr
    assert (acme / "trellis.yml").read_text() == edited and (acme / "evals" / "golden.yml").exists()
    trellis(tmp_path, "rollback", "-w", str(acme), second, "--force")

    refuse_everything(acme)
    refused = trellis(tmp_path, "reload", "-w", str(acme))
    version = refused.stderr.split("Version ", 1)[1].split()[0]
    trellis(tmp_path, "rollback", "-w", str(acme), second)
    unasked = trellis(tmp_path, "rollback", "-w", str(acme), version)
    assert unasked.returncode == 1 and "was refused by the eval gate" in unasked.stderr
    assert "--allow-refused" in unasked.stderr


def test_rollback_says_it_kept_the_corrections_the_version_does_not_have(tmp_path, acme):
    first = live_version(tmp_path, acme)
    corrections = append_eval_case(
        acme,
        {
            "id": "correction-office-hours",
            "question": "What time does the office open?",
            "asker": "sam@example.com",
            "expect_status": "answered",
            "expect_sources": ["handbook/office-hours"],
        },
    )
    accepted = corrections.read_text()
    live_version(tmp_path, acme)

    done = trellis(tmp_path, "rollback", "-w", str(acme), first)
    assert done.returncode == 0, done.stdout + done.stderr
    output = " ".join(done.stdout.split())
    assert "Kept evals/corrections.yml" in output and f"Version {first} is live again" in output
    assert "trellis reload" in output and corrections.read_text() == accepted


def test_eval_and_reload_say_when_nothing_was_tested(tmp_path, acme):
    for path in (acme / "evals").glob("*.yml"):
        path.unlink()
    done = trellis(tmp_path, "eval", "-w", str(acme))
    assert done.returncode == 0 and "nothing was tested" in done.stdout, done.stdout
    assert "passed" not in done.stdout
    assert json.loads(trellis(tmp_path, "eval", "-w", str(acme), "--json").stdout)["untested"]

    untested = trellis(tmp_path, "reload", "-w", str(acme))
    assert untested.returncode == 0, untested.stdout + untested.stderr
    assert "nothing was tested" in untested.stdout and "untested" in untested.stdout

    (acme / "evals").mkdir(exist_ok=True)
    (acme / "evals" / "starter.yml").write_text(
        "cases:\n  - id: office-hours\n    question: When is the office open?\n"
        "    asker: sam@example.com\n    expect_status: answered\n"
        "    expect_sources: [handbook/office-hours]\n"
    )
    live_version(tmp_path, acme)
    edit(acme, "trellis.yml", "name: Example Co", "name: Example Co Ltd")
    (acme / "evals" / "starter.yml").unlink()
    dropped = trellis(tmp_path, "reload", "-w", str(acme))
    assert dropped.returncode == 1, dropped.stdout + dropped.stderr
    assert "it has no eval cases" in " ".join(dropped.stderr.split())


def test_a_first_version_whose_documents_were_replaced_is_told_which_cases_to_change(
    tmp_path, acme
):
    # A newcomer replaces the starter's documents with their own, keeping its eval cases.
    (acme / "knowledge" / "handbook" / "office-hours.md").rename(
        acme / "knowledge" / "handbook" / "opening-times.md"
    )
    done = ask(tmp_path, acme, "When is the office open?")
    assert done.returncode == 0, done.stdout + done.stderr  # answered from the folder, and:
    message = " ".join(done.stderr.split())
    assert "expect documents the index does not have (handbook/office-hours)" in message
    assert "change their expect_sources in evals/" in message
    assert json.loads(done.stdout)["citations"][0]["doc_id"] == "handbook/opening-times"

    report = json.loads(trellis(tmp_path, "eval", "-w", str(acme), "--json").stdout)
    [case] = [c for c in report["cases"] if c["unknown_sources"]]
    assert case["unknown_sources"] == ["handbook/office-hours"]
    assert case["question"] and case["answer"]  # what was asked, and what came back
    printed = " ".join(trellis(tmp_path, "eval", "-w", str(acme)).stdout.split())
    assert "handbook/office-hours (not indexed)" in printed
    assert f"{case['id']} {case['question']}" in printed  # the failed case's answer follows
