"""The `trellis` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from app.cli import about, trust, workspaces
from app.cli.common import (
    DatabaseUrlOption,
    TrellisCommands,
    WorkspaceOption,
    console,
    errors,
    given_path,
    load_settings,
    run_async,
    say,
    settings_for,
)
from app.errors import SetupError
from app.knowledge.limits import MAX_DOCUMENT_CHARS
from app.memory import limit_heaps
from app.text.phrasing import counted

cli = typer.Typer(
    cls=TrellisCommands,
    no_args_is_help=True,
    add_completion=False,
    help="Trellis: trustworthy AI answers and approvals in Slack.",
)
db_cli = typer.Typer(cls=TrellisCommands, no_args_is_help=True, help="Database schema.")
audit_cli = typer.Typer(
    cls=TrellisCommands, no_args_is_help=True, help="The tamper-evident audit trail."
)
cli.add_typer(db_cli, name="db")
cli.add_typer(audit_cli, name="audit")


@cli.callback()
def _configure() -> None:
    from app.config.logging import configure_logging

    configure_logging(load_settings())


HttpOption = Annotated[
    bool,
    typer.Option(
        "--http",
        help="Take Slack's events, interactivity and slash commands as signed HTTP requests "
        "at /slack/events (SLACK_SIGNING_SECRET) instead of Socket Mode; TRELLIS_SLACK_MODE=http.",
    ),
]


@cli.command()
def run(
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
    http: HttpOption = False,
) -> None:
    """Run Trellis: on Slack when SLACK_BOT_TOKEN and SLACK_APP_TOKEN are set (over HTTP:
    SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET), otherwise on the local sandbox."""
    from handlers.runtime import serve

    settings = settings_for(workspace, database_url)
    if http:
        settings = settings.model_copy(update={"slack_mode": "http"})
    run_async(lambda: serve(settings, console=console))


@cli.command()
def demo() -> None:
    """Play the Trellis story in the terminal: the demo company on a local sandbox, no Slack
    and no browser needed. Exits non-zero when a step that this build supports fails."""
    from app.demo.story import play_demo, summary
    from handlers.notifier import SlackNotifier
    from handlers.runtime import connect_bolt

    results = run_async(
        lambda: play_demo(
            settings_for(None), console=console, connect=connect_bolt, notifier=SlackNotifier
        )
    )
    console.print(summary(results))
    if any(outcome.status == "failed" for _, outcome in results):
        raise typer.Exit(1)


@cli.command()
def ingest(
    workspace: WorkspaceOption = None,
    path: Annotated[
        Path | None,
        typer.Argument(help="Only this file or folder of knowledge/, relative to knowledge/."),
    ] = None,
    database_url: DatabaseUrlOption = None,
    take_over: Annotated[
        bool,
        typer.Option(
            "--take-over",
            help="Make the database serve this workspace when it serves another one: its "
            "index is rebuilt from this workspace (the audit trail stays, and records this).",
        ),
    ] = False,
    max_document_chars: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Index at most this many characters of text from one document this time "
            "(default: knowledge.max_document_chars in trellis.yml, else "
            f"{MAX_DOCUMENT_CHARS:,}); a longer one is skipped with a warning, and a version "
            "indexed before stays. Set the key to keep a limit for every command.",
        ),
    ] = None,
) -> None:
    """Index the workspace's knowledge; prints counts."""
    from app.cli.operations import ingest_workspace

    settings = settings_for(workspace, database_url)
    done = run_async(
        lambda: ingest_workspace(
            settings,
            only=path,
            console=console,
            take_over=take_over,
            max_document_chars=max_document_chars,
        )
    )
    if done.taken_from is not None:
        console.print(
            f"The database served {escape(done.taken_from.describe())}; it serves this "
            "workspace now.",
            highlight=False,
        )
    report = done.report
    table = Table(title="Knowledge index: documents", show_header=True)
    columns = {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "visible to nobody": report.visible_to_nobody,
        "errors": len(report.errors),
    }
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(*(str(v) for v in columns.values()))
    console.print(table)
    console.print(
        f"The index holds {counted(done.documents, 'document')} in "
        f"{counted(done.chunks, 'chunk')}; this run wrote {counted(report.chunks, 'chunk')}.",
        highlight=False,
    )
    if report.too_long:
        console.print(
            f"{counted(report.too_long, 'document')} too long to index kept the version "
            "indexed before, if any (see the warning below).",
            highlight=False,
        )
    for warning in report.warnings:
        say(f"[yellow]warning[/yellow] {escape(str(warning))}")
    for error in report.errors:
        say(f"[red]error[/red] {escape(error.summary())}")
    if report.errors:
        raise typer.Exit(1)


@cli.command()
def ask(
    as_: Annotated[str, typer.Option("--as", help="Ask as this person (their directory email).")],
    questions: Annotated[
        list[str] | None,
        typer.Argument(help="The question; several are answered one after the other."),
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Answer for this channel's members.")
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Questions to ask, one a line ('-' reads them from standard input); blank "
            "lines and lines starting with # are skipped.",
        ),
    ] = None,
    thread: Annotated[
        bool,
        typer.Option(
            "--thread", help="Ask each question after the first as a follow-up in its thread."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (a line each for several).")
    ] = False,
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Answer a question as a person would get it in Slack: from the live version. Files
    in the folder the eval gate has not judged yet go through it first, as with reload.
    Several questions (as arguments or from --file) are answered in one run, each as a
    question of its own, or with --thread as a thread's follow-ups.

    Exit status 1 when an answer is refused (an asker Trellis cannot verify, say)."""
    from app.cli.operations import ask_as, questions_in

    asked = [*(questions or ()), *(questions_in(from_file) if from_file else ())]
    if not asked or any(not question.strip() for question in asked):
        raise typer.BadParameter("the question is empty; ask something", param_hint="QUESTION")
    settings = settings_for(workspace, database_url)
    results = run_async(
        lambda: ask_as(
            settings,
            email=as_,
            questions=asked,
            channel_id=channel,
            thread=thread,
            tell=lambda note: say(f"[yellow]{escape(note)}[/yellow]"),
        )
    )
    for question, result in zip(asked, results, strict=True):
        if as_json:
            shown = result if len(asked) == 1 else {"question": question, **result}
            sys.stdout.write(json.dumps(shown, ensure_ascii=False) + "\n")
            continue
        if len(asked) > 1:
            console.print(f"\n[bold]Q:[/bold] {escape(question)}", highlight=False)
        _print_answer(result)
        console.print(f"[dim]audit {result['audit_id']}[/dim]")
    if any(result["status"] == "refused" for result in results):
        raise typer.Exit(1)  # a refusal exits with 1, as for every command


def _print_answer(result: dict[str, Any]) -> None:
    console.print(f"[bold]{result['status']}[/bold]  confidence {result['confidence']:.2f}")
    console.print(result["answer"], highlight=False, markup=False)
    if result.get("nearest"):
        from app.answering.declined import closest_page

        console.print(closest_page(result["nearest"]), highlight=False, markup=False, style="dim")
    for i, citation in enumerate(result["citations"], start=1):
        console.print(
            f"  [{i}] {citation['title']} ({citation['doc_id']})", highlight=False, markup=False
        )
        console.print(f"      “{citation['quote']}”", highlight=False, markup=False)
    if result.get("private"):
        console.print("\n[bold]Fuller answer shown only to the asker:[/bold]")
        _print_answer(result["private"])


@db_cli.command("upgrade")
def db_upgrade(workspace: WorkspaceOption = None, database_url: DatabaseUrlOption = None) -> None:
    """Apply every database migration."""
    from app.cli.operations import upgrade_database

    settings = settings_for(workspace, database_url)
    run_async(lambda: upgrade_database(settings))
    console.print("Database is up to date.")


@audit_cli.command("verify")
def audit_verify(
    head: Annotated[
        str | None, typer.Option(help="A recorded head as SEQ:HASH, to detect a cut tail.")
    ] = None,
    head_file: Annotated[
        Path | None,
        typer.Option(
            help="Check against the head recorded in this file, then record the new head in "
            "it. When the file does not exist yet, the check is the one without it, and the "
            "file is created."
        ),
    ] = None,
    anchor: Annotated[
        bool,
        typer.Option(
            help="Without --head or a recorded --head-file, check against the latest audit "
            "anchor (in the owners channel when SLACK_BOT_TOKEN is set, else the recorded one)."
        ),
    ] = True,
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Check the hash chain; exits non-zero on a record altered in place, and, up to the
    anchor or head it checks against, on any record edited, deleted, reordered or cut."""
    from app.cli.operations import verify_audit, verify_audit_against_anchor
    from app.trust.audit_heads import write_head

    expected = _expected_head(head, head_file)
    settings = settings_for(workspace, database_url)
    if head is None and head_file is not None and expected is None:
        with given_path("--head-file", head_file.parent, "create the folder"):
            head_file.parent.mkdir(parents=True, exist_ok=True)
        instead = "against the latest audit anchor" if anchor else "only that the records link up"
        say(
            f"[yellow]Note[/yellow] --head-file {escape(str(head_file))} did not exist: no "
            f"head was recorded there, so this run checks {instead}; the file is created "
            "with the head when the chain is intact."
        )
    if expected is None and anchor:
        report, found, note = run_async(lambda: verify_audit_against_anchor(settings))
        if note:
            console.print(f"[dim]Not checked against Slack: {escape(note)}.[/dim]")
        if found is None:
            console.print(
                "No audit anchor yet: only records altered in place are detected, not an "
                "edit with later hashes recomputed, a deletion or a cut tail."
            )
        else:
            console.print(f"Checked against the {escape(found.describe())}.")
    else:
        report = run_async(lambda: verify_audit(settings, expected_head=expected))
    if report.ok:
        console.print(
            f"Audit chain intact: {counted(report.records, 'record')}, "
            f"head {report.head_seq}:{report.head_hash}"
        )
        if head_file:
            with given_path("--head-file", head_file, "write"):
                write_head(head_file, report.head_seq, report.head_hash)
        return
    for problem in report.problems:
        errors.print(f"[red]✗[/red] {problem}", highlight=False)
    errors.print(
        f"{counted(len(report.problems), 'problem')} in {counted(report.records, 'record')}."
    )
    raise typer.Exit(1)


def _expected_head(head: str | None, head_file: Path | None) -> tuple[int, str] | None:
    """The head to check against: --head, else the one recorded in --head-file (None when
    neither is given or that file does not exist yet)."""
    from app.trust.audit_heads import parse_head, read_head

    if head is not None:
        try:
            return parse_head(head)
        except ValueError as exc:
            raise SetupError("--head", str(exc)) from exc
    if head_file is None:
        return None
    with given_path("--head-file", head_file, "read"):
        try:
            return read_head(head_file)
        except ValueError as exc:
            raise SetupError("--head-file", f"{head_file} holds no audit head: {exc}") from exc


@audit_cli.command("show")
def audit_show(
    record_id: Annotated[
        str,
        typer.Argument(
            help="An audit id (as printed by ask), an answer id, or a record's number in the "
            "chain (as audit verify names it)."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw audit records.")] = False,
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Print one question's whole story."""
    from app.trust.stories import for_operator, render

    settings = settings_for(workspace, database_url)
    story = run_async(lambda: for_operator(settings, record_id))
    if story is None:
        errors.print(f"No audit record {record_id}.")
        raise typer.Exit(1)
    if not as_json:
        render(story, console)
        return
    for record in story.records:
        console.print(
            f"[bold]{record.kind}[/bold] #{record.seq} at {record.occurred_at} "
            f"by {record.actor_email or record.actor_slack_id or '-'} in {record.channel_id or '-'}"
        )
        console.print_json(json.dumps(record.payload, ensure_ascii=False))


trust.register(cli, audit_cli)
workspaces.register(cli)
cli.command("about")(about.about_command)


def main() -> None:
    limit_heaps()  # before any thread starts (app/memory.py)
    cli()
