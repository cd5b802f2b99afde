"""`/trellis about` answers from live state: change a file and the answer changes; a reader
never learns of a document outside their access; the measures come from real records on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.config.workspace import default_workspace_path, load_workspace
from app.db.models.feedback import AnswerFeedback, Flag
from app.db.session import Database
from app.domain import AccessScope, AnswerStatus
from app.knowledge.ingest import ingest
from app.knowledge.search import get_documents
from app.pipeline import Question, answer_question
from app.sandbox.company import SandboxDirectory, user_id_for
from app.services import Services, build_services
from app.slack_people import SlackChannel, SlackDirectory
from app.trust.about import about_for, verify_and_record
from app.trust.about_report import about_json, schema

LIAM = "liam.carter@northwind.example"
ROSA = "rosa.delgado@northwind.example"
SAM = "sam.ortiz@northwind.example"
PRIYA = "priya.nair@northwind.example"
MAYA = "maya.lindqvist@northwind.example"
NOW = datetime(2026, 5, 13, 12, 0, tzinfo=UTC)  # a Wednesday
DM = SlackChannel(id="D0TEST", name="", is_im=True)


def demo_copy(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


async def services_for(
    root: Path, database: Database, *, slack: SlackDirectory | None = None
) -> Services:
    workspace = load_workspace(root)
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    return build_services(
        Settings(database_url=database.url, workspace=root),
        workspace,
        database,
        slack=slack or SandboxDirectory.for_workspace(workspace),
        answerer=ExtractiveAnswerer(),
        clock=lambda: NOW,
    )


async def about_text(services: Services, email: str | None, key: str) -> str:
    person = services.workspace.directory.by_email(email) if email else None
    answer = (await about_for(services, person)).answer(key)
    return "\n".join([answer.summary, *answer.points, *answer.sources])


async def test_a_new_approval_tier_in_rules_yml_changes_what_needs_approval(
    tmp_path, sqlite_database
):
    root = demo_copy(tmp_path)
    before = await about_text(await services_for(root, sqlite_database), LIAM, "approval")
    assert "Discount more than 25 %: one distinct person from each of vp-sales" in before
    assert "40 %" not in before

    edit(
        root / "rules.yml",
        "      - approvers: [vp-sales, finance]   # one distinct person from each",
        '      - when: "input.percent <= 40.0"\n        approvers: [vp-sales]\n'
        "      - approvers: [vp-sales, finance]",
    )
    edit(root / "rules.yml", "    mode: act_after_approval", "    mode: draft_only")
    services = await services_for(root, sqlite_database)
    after = await about_text(services, LIAM, "approval")
    assert "Discount more than 25 % and up to 40 %: one of vp-sales (Daniel Okafor)" in after
    assert "Discount more than 40 %: one distinct person from each of vp-sales" in after
    assert "rules.yml workflows.*.approval" in after

    actions = await about_text(services, LIAM, "actions")
    assert "1 can act on other systems" in actions and "1 only draft" in actions
    assert "Customer reply (`/trellis customer_reply`, started by support): drafts only" in actions
    assert "Writes to no other system." in actions


async def test_trellis_yml_changes_the_threshold_the_flaggers_the_admins_and_the_help(
    tmp_path, sqlite_database
):
    root = demo_copy(tmp_path)
    services = await services_for(root, sqlite_database)
    assert "You may not flag" in await about_text(services, LIAM, "mistakes")
    assert "Hannah Cole" not in await about_text(services, LIAM, "support")

    trellis_yml = root / "trellis.yml"
    edit(trellis_yml, "min_confidence: 0.5", "min_confidence: 0.65")
    edit(trellis_yml, "flaggers: [support]", "flaggers: [support, sales]")
    edit(trellis_yml, "admins: [trellis-admins]", "admins: [trellis-admins, legal]")
    edit(trellis_yml, 'support: "#help-trellis"', 'support: "#ask-ops"')
    services = await services_for(root, sqlite_database)

    mistakes = await about_text(services, LIAM, "mistakes")
    assert "answers.min_confidence = 0.65" in mistakes and "You may flag." in mistakes
    assert "support, sales may flag" in mistakes
    support = await about_text(services, LIAM, "support")
    assert "legal (Hannah Cole)" in support and "Help: #ask-ops." in support
    assert "They are told to ask #ask-ops" in await about_text(services, LIAM, "access")


async def test_directory_yml_changes_who_is_in_it_who_approves_and_who_is_refused(
    tmp_path, sqlite_database
):
    root = demo_copy(tmp_path)
    original = load_workspace(root)
    services = await services_for(root, sqlite_database)
    assert "The 12 people in the directory" in await about_text(services, ROSA, "access")

    directory = root / "directory.yml"
    text = directory.read_text(encoding="utf-8")
    text = re.sub(r"\n  - email: priya\.nair@northwind\.example\n(    .*\n)+", "\n", text)
    text += (
        "\n  - email: nina.holm@northwind.example\n    name: Nina Holm\n"
        "    groups: [sales, sales-managers]\n    manager: daniel.okafor@northwind.example\n"
    )
    directory.write_text(text, encoding="utf-8")
    # Priya still has her Slack account; she is no longer in the directory.
    services = await services_for(
        root, sqlite_database, slack=SandboxDirectory.for_workspace(original)
    )
    outcome = await answer_question(
        services, Question(text="How many PTO days?", channel=DM, slack_user_id=user_id_for(PRIYA))
    )
    assert outcome.status == AnswerStatus.REFUSED

    access = await about_text(services, ROSA, "access")
    assert "The 12 people in the directory" in access  # one left, one joined
    assert "Refusals in the last 7 days: 1 (people not in the directory: 1)." in access
    approval = await about_text(services, ROSA, "approval")
    assert "one of sales-managers (Nina Holm, Sofia Marino)" in approval


async def test_nobody_learns_the_title_owner_count_or_folder_of_a_document_they_may_not_see(
    tmp_path, sqlite_database
):
    root = demo_copy(tmp_path)
    edit(root / "directory.yml", "groups: [leadership]\n", "groups: [leadership, board]\n")
    folder = root / "knowledge" / "nightingale"
    folder.mkdir()
    (folder / "plan.md").write_text(
        "---\ntitle: Project Nightingale Restructuring Plan\nowner: board\naccess: [board]\n"
        "---\n# Project Nightingale\n\nWhich teams merge, and when.\n",
        encoding="utf-8",
    )
    services = await services_for(root, sqlite_database)
    secret = re.compile(r"nightingale|\bboard\b", re.IGNORECASE)
    for person in services.workspace.directory.people:
        about = await about_for(services, person)
        shown = json.dumps(about_json(about), ensure_ascii=False)
        visible = [
            d
            for d in await get_documents(services.database, scope=AccessScope.for_person(person))
            if d.status != "draft"
        ]
        facts = about.facts.documents
        assert facts.documents == len(visible), person.email
        assert sum(n for _, n in facts.by_folder) == len(visible), person.email
        assert f"you may see {len(visible)} documents" in about.answer("data").summary
        if "board" in person.groups:
            assert ("nightingale", 1) in facts.by_folder and ("board", 1) in facts.by_owner
        else:
            assert not secret.search(shown), f"{person.email} was told of the board's document"

    operator = await about_for(services, None)
    assert ("nightingale", 1) in operator.facts.documents.by_folder
    assert operator.facts.documents.visible_to_nobody is not None


async def _asked(services: Services, email: str, text: str) -> str:
    person = services.workspace.directory.by_email(email)
    outcome = await answer_question(
        services, Question(text=text, channel=DM, person=person, slack_user_id=person.slack_id)
    )
    return outcome.status.value


async def test_the_measures_come_from_the_audit_trail_and_tables_on_both_databases(
    tmp_path, database
):
    services = await services_for(demo_copy(tmp_path), database)
    statuses = [
        await _asked(services, SAM, "How many days of paid time off do full-time employees get?"),
        await _asked(services, SAM, "What is the parental leave policy in Brazil?"),
    ]
    assert statuses == ["answered", "no_answer"]
    async with database.session() as session:
        for status, opened, decided in (
            ("accepted", NOW - timedelta(hours=5), NOW - timedelta(hours=2)),
            ("open", NOW - timedelta(hours=1), None),
        ):
            session.add(
                Flag(
                    id=str(uuid.uuid4()),
                    answer_id=str(uuid.uuid4()),
                    audit_id=str(uuid.uuid4()),
                    flagger_email=SAM,
                    status=status,
                    created_at=opened,
                    updated_at=opened,
                    decided_at=decided,
                )
            )
        session.add(
            AnswerFeedback(
                id=str(uuid.uuid4()),
                answer_id=str(uuid.uuid4()),
                person_email=SAM,
                helpful=True,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    version = services.workspace.version
    await services.audit.record(
        kind="eval.run",
        subject_id=version,
        payload={
            "version": version,
            "purpose": "cli",
            "scores": {"cases": 4, "status_accuracy": 0.75, "source_recall": 1.0},
            "passed": False,
            "failed_cases": ["pto-days"],
            "usage": {},
        },
    )
    await verify_and_record(services)

    about = await about_for(services, services.workspace.directory.by_email(ROSA))
    week = about.facts.measures.weeks[-1]
    assert (week.questions, week.answered, week.no_answer) == (2, 1, 1)
    assert (week.flags, week.helpful, week.not_helpful) == (2, 1, 0)
    assert week.latency_p50_ms is not None and week.latency_p50_ms > 0
    measures = about.facts.measures
    assert (measures.open_flags, measures.corrected) == (1, 1)
    assert measures.median_correction_hours == 3.0
    (scored,) = measures.versions
    assert (scored.version, scored.cases, scored.passed, scored.pass_rate) == (version, 4, 3, 0.75)
    chain = about.facts.chain
    assert chain.verified_ok is True and chain.verified_records == 3
    assert chain.records == 4 and chain.head_seq == 4

    improving = about.answer("improving")
    assert f"{version} (evaluated) 75% of 4" in improving.points[0]
    assert "50% of this week's questions were answered" in improving.summary
    logging = "\n".join(about.answer("logging").points)
    assert "Last verified 2026-05-13 12:00 UTC: intact over 3 records." in logging
    mistakes = "\n".join(about.answer("mistakes").points)
    assert "Open flags: 1." in mistakes and "3 hours (1 corrected)" in mistakes

    validator = jsonschema.Draft202012Validator(schema())
    document = about_json(about)
    assert [e.message for e in validator.iter_errors(document)] == []
    assert document["weeks"][-1]["answer_rate"] == 0.5


def test_each_version_is_credited_with_its_own_eval_run_not_its_successors(tmp_path, monkeypatch):
    """The gate also runs the live version on a candidate's cases (its baseline): that run
    belongs to the comparison, so `about` agrees with `versions` on every version's cases."""
    from typer.testing import CliRunner

    from app.cli.main import cli

    root = demo_copy(tmp_path)
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TRELLIS_WORKSPACE", str(root))
    runner = CliRunner()
    assert runner.invoke(cli, ["reload"]).exit_code == 0
    first = load_workspace(root).version
    first_cases = len(load_workspace(root).evals)
    golden = root / "evals" / "golden.yml"
    golden.write_text(
        golden.read_text(encoding="utf-8") + "\n  - id: company-trail-day-again\n"
        "    question: What date is Trail Day in 2026?\n"
        "    asker: priya.nair@northwind.example\n"
        "    expect_status: answered\n"
        "    expect_sources: [company-holidays-2026]\n",
        encoding="utf-8",
    )
    second = runner.invoke(cli, ["reload"])
    assert second.exit_code == 0, second.output
    latest = load_workspace(root).version

    shown = runner.invoke(cli, ["about", "--json"])
    assert shown.exit_code == 0, shown.output
    versions = {v["version"]: v for v in json.loads(shown.stdout)["versions"]}
    assert versions[first]["cases"] == first_cases
    assert versions[latest]["cases"] == first_cases + 1
    assert versions[first]["evaluated_at"] < versions[latest]["evaluated_at"]
