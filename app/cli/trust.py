"""`trellis eval | reload | versions | rollback | report` and `trellis audit head`:
measuring Trellis and changing its configuration safely."""

from __future__ import annotations

import json
import sys
from textwrap import shorten
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.cli.common import (
    DatabaseUrlOption,
    WorkspaceOption,
    console,
    errors,
    run_async,
    settings_for,
)
from app.knowledge.report import IngestReport, could_not_read

if TYPE_CHECKING:
    from app.trust.evals import EvalReport

OK, NO = "[green]✓[/green]", "[red]✗[/red]"
ANSWER_SHOWN = 300
"""Characters of a failed case's answer `trellis eval` shows under the table."""


def register(cli: typer.Typer, audit: typer.Typer) -> None:
    cli.command("eval")(eval_command)
    cli.command("reload")(reload_command)
    cli.command("versions")(versions_command)
    cli.command("rollback")(rollback_command)
    cli.command("report")(report_command)
    audit.command("head")(audit_head_command)


def eval_command(
    workspace: WorkspaceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Run the golden set (evals/) through the real pipeline; non-zero exit below thresholds.
    With no eval cases nothing is tested: it says so (in JSON, "untested": true)."""
    from app.cli.operations import evaluate

    settings = settings_for(workspace, database_url)
    report = run_async(lambda: evaluate(settings))
    if as_json:
        sys.stdout.write(json.dumps(eval_json(report), ensure_ascii=False) + "\n")
    else:
        print_eval(report, console)
    if not report.passed:
        raise typer.Exit(1)


def eval_json(report: EvalReport) -> dict[str, Any]:
    return {
        "version": report.version,
        "passed": report.passed,
        "untested": report.untested,
        "shortfalls": report.shortfalls(),
        "advice": report.advice(),
        "scores": report.scores.as_dict(),
        "thresholds": report.thresholds.model_dump(),
        "cases": [
            {
                "id": r.case_id,
                "question": r.question,
                # Only a failed case's answer, to judge it by: answers may quote restricted
                # documents, and this may end in a build's log.
                "answer": None if r.passed else r.answer,
                "status": r.status,
                "expected_status": r.expected_status,
                "status_ok": r.status_ok,
                "cited": list(r.cited),
                "expected_sources": list(r.expected_sources),
                "unknown_sources": list(r.unknown_sources),
                "sources_ok": r.sources_ok,
                "expected_facts": list(r.expected_facts),
                "missing_facts": list(r.missing_facts),
                "facts_ok": r.facts_ok,
                "leaked": list(r.leaked),
                "error": r.error,
                "passed": r.passed,
            }
            for r in report.results
        ],
    }


def print_eval(report: EvalReport, console: Console) -> None:
    if report.untested:
        console.print(
            f"[yellow]⚠ Version {report.version} has no eval cases: nothing was tested.[/yellow] "
            "Add questions with the answers and sources you expect to evals/*.yml.",
            highlight=False,
        )
        return
    table = Table(title=f"Eval of version {report.version}", title_justify="left")
    for column in ("case", "status", "sources", "facts", "leak", "cited"):
        table.add_column(column, overflow="fold")
    for r in report.results:
        status = (
            f"{OK} {r.status}" if r.status_ok else f"{NO} {r.status} (expected {r.expected_status})"
        )
        sources = (
            OK
            if r.sources_ok
            else f"{NO} expected "
            + (", ".join(_expected(s, r.unknown_sources) for s in r.expected_sources) or "none")
        )
        facts = (
            f"{NO} not stated: " + escape("; ".join(r.missing_facts))
            if r.missing_facts
            else (OK if r.expected_facts else "-")
        )
        leak = f"{NO} {', '.join(r.leaked)}" if r.leaked else OK
        cited = escape(", ".join(r.cited) or (r.error or "-"))
        table.add_row(escape(r.case_id), status, sources, facts, leak, cited)
    console.print(table)
    s, t = report.scores, report.thresholds
    console.print(
        f"status accuracy {s.status_accuracy:.0%} (minimum {t.min_status_accuracy:.0%}) · "
        f"source precision {s.source_precision:.0%} · source recall {s.source_recall:.0%} "
        f"(minimum {t.min_source_recall:.0%}) · fact recall {s.fact_recall:.0%} "
        f"(minimum {t.min_fact_recall:.0%}) · leaks {s.leaks} · cost ${s.cost_usd:.4f}"
    )
    for r in report.results:
        if not r.passed and r.answer:  # what was answered, so the case can be judged
            console.print(
                f"[bold]{escape(r.case_id)}[/bold] {escape(r.question)}\n  "
                f"{escape(shorten(r.answer, ANSWER_SHOWN, placeholder=' …'))}",
                highlight=False,
            )
    if report.passed:
        console.print(f"{OK} passed")
    for reason in report.shortfalls():
        console.print(f"{NO} {reason}", highlight=False)
    for advice in report.advice():
        console.print(f"  {escape(advice)}", highlight=False)


def _expected(source: str, unknown: tuple[str, ...]) -> str:
    return f"{source} (not indexed)" if source in unknown else source


def reload_command(
    workspace: WorkspaceOption = None,
    force: Annotated[
        bool, typer.Option(help="Evaluate again even if this version was refused.")
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Put the workspace's configuration files through the eval gate now, and bring the
    index in line with knowledge/ (only changed documents are read again). A running
    Trellis does both by itself within seconds of a save; `reload` shows the verdict.

    Exit status: 0 when the folder's version is live (now or already) and every document
    was read, 1 when the gate refused it (the live version keeps answering), 2 when a file
    does not load (every time, however often it is asked): a configuration file (the live
    version keeps answering), or a document or an _access.yml of knowledge/ (the last good
    version of its documents keeps being served)."""
    from app.cli.versions import reload_from_cli

    settings = settings_for(workspace, database_url)
    done = run_async(lambda: reload_from_cli(settings, force=force))
    verdict, knowledge = done.verdict, done.knowledge
    unreadable = knowledge is not None and not knowledge.ok
    if verdict.report is not None:
        print_eval(verdict.report, console)
    earlier = " (decided earlier)" if verdict.repeated else ""
    if verdict.outcome == "unchanged" and verdict.reason:  # the files moved under us
        print_knowledge(knowledge)
        errors.print(f"{NO} {escape(verdict.reason)}; run `trellis reload` again.")
        raise typer.Exit(1)
    if verdict.outcome == "unchanged" and knowledge is not None and not changed(knowledge):
        nothing = "" if unreadable else "; nothing to do"
        console.print(
            f"Version {verdict.version} is already live and no document in knowledge/ "
            f"changed{nothing}."
        )
        print_knowledge(knowledge)
    elif verdict.outcome == "unchanged":
        console.print(f"Version {verdict.version} is already live.")
        print_knowledge(knowledge)
    elif verdict.outcome == "live":
        console.print(f"{OK} Version {verdict.version} is live{earlier}: {escape(verdict.reason)}")
        print_knowledge(knowledge)
    else:
        answering = (
            f"Version {done.previous}, the live one, keeps answering."
            if done.previous
            else "No version is live yet, so `trellis run` will not start; `trellis ask` "
            "answers from the folder to try it."
        )
        errors.print(
            f"{NO} Version {verdict.version} did not go live{earlier}: "
            f"{escape(verdict.reason)}. {answering}"
        )
        print_knowledge(knowledge)
        raise typer.Exit(2 if verdict.outcome == "broken" or unreadable else 1)
    if unreadable:
        raise typer.Exit(2)


def changed(report: IngestReport) -> int:
    """How many documents a bringing in line added, updated or removed."""
    return report.added + report.updated + report.removed


def print_knowledge(report: IngestReport | None) -> None:
    """What bringing the index in line with knowledge/ changed, and what it skipped."""
    if report is None:
        return
    count = changed(report)
    if count:
        console.print(
            f"Knowledge: {count} document{'' if count == 1 else 's'} changed, re-indexed "
            f"({report.added} new, {report.updated} updated, {report.removed} removed); "
            "Trellis answers from the new text now.",
            highlight=False,
        )
    if report.errors:
        console.print(f"{NO} {could_not_read(len(report.errors))}", highlight=False)
        for error in report.errors:
            console.print(f"  {escape(error.summary())}", highlight=False, soft_wrap=True)
    for notice in report.warnings:
        errors.print(f"[yellow]warning[/yellow] {escape(str(notice))}", highlight=False)


def versions_command(
    workspace: WorkspaceOption = None, database_url: DatabaseUrlOption = None
) -> None:
    """Every workspace version seen, with its eval scores and status."""
    from app.cli.listing import print_versions
    from app.cli.versions import list_versions

    settings = settings_for(workspace, database_url)
    rows, current = run_async(lambda: list_versions(settings))
    print_versions(rows, current, console)
    statuses = {r.version: r.status for r in rows}
    live = next((r.version for r in rows if r.status == "live"), None)
    if current and current not in statuses:
        console.print(
            f"The folder holds version {current}, not evaluated yet: run `trellis reload`."
        )
    elif current and live and current != live:
        console.print(
            f"The folder holds version {current} ({statuses[current]}); Trellis answers with "
            f"the live version {live}, from its stored files.",
            highlight=False,
        )


def _version_argument(text: str) -> str:
    from app.trust.rollback import version_prefix

    try:
        return version_prefix(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def rollback_command(
    version: Annotated[
        str,
        typer.Argument(
            help="A version hash, or an unambiguous start of it (at least 4 characters).",
            callback=_version_argument,
        ),
    ],
    force: Annotated[
        bool,
        typer.Option(
            help="Roll back even though the folder has changes never put through the gate "
            "(they are kept first, as a saved version)."
        ),
    ] = False,
    allow_refused: Annotated[
        bool, typer.Option(help="Allow rolling back to a version the eval gate refused.")
    ] = False,
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Restore an earlier version's files into the workspace folder and make it live.

    Refuses while the folder has changes the gate has not seen (`trellis reload` them
    first, or --force), and a version the gate refused without --allow-refused. A saved
    version's files come back without going live: the gate judges them as any change."""
    from app.cli.versions import rollback_from_cli

    settings = settings_for(workspace, database_url)
    done = run_async(
        lambda: rollback_from_cli(settings, version, force=force, allow_refused=allow_refused)
    )
    folder = escape(str(settings.workspace_path()))
    if done.unchanged:
        console.print(
            f"Version {done.version} is live and its files are in {folder}; nothing to do."
        )
        return
    if done.kept:
        console.print(
            f"The folder's changes are kept as version {done.kept} "
            f"(`trellis rollback {done.kept}` brings them back).",
            highlight=False,
        )
    if done.removed:
        console.print(
            f"Removed from the folder (version {done.version} does not have them): "
            f"{escape(', '.join(done.removed))}.",
            highlight=False,
        )
    if done.kept_corrections:
        console.print(
            f"Kept evals/corrections.yml: version {done.version} has no corrections file of "
            "its own, and a rollback does not undo corrections owners accepted. With it the "
            f"folder is version {done.kept_corrections}, which the eval gate judges like any "
            "change (`trellis reload`, or a running Trellis within seconds).",
            highlight=False,
        )
    if done.status != "live":
        console.print(
            f"Version {done.version}'s files are back in {folder}. It has never been through "
            f"the eval gate, so version {done.previous or 'none'} stays live: run "
            "`trellis reload` to evaluate it (a running Trellis does so within seconds)."
        )
        return
    if done.refused:
        errors.print(
            f"[yellow]⚠ Version {done.version} is live though the eval gate refused it:[/yellow] "
            f"{escape(done.refused)}"
        )
    again = "" if done.refused else " again"
    console.print(
        f"{OK} Version {done.version} is live{again}; its files are back in {folder}. "
        "A running Trellis switches within seconds."
    )


def report_command(
    since: Annotated[
        str, typer.Option(help="How far back: 30m, 24h, 7d, 2w; 'all' for everything.")
    ] = "7d",
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Usage, quality, latency, tokens and cost from the audit trail."""
    from app.trust.report import parse_period, render, report_for

    try:
        period = None if since == "all" else parse_period(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc
    settings = settings_for(workspace, database_url)
    report = run_async(lambda: report_for(settings, since=period))
    render(report, console)


def audit_head_command(
    workspace: WorkspaceOption = None, database_url: DatabaseUrlOption = None
) -> None:
    """Print the chain's head as SEQ:HASH, to keep somewhere safe for `verify --head`."""
    from app.cli.operations import verify_audit

    settings = settings_for(workspace, database_url)
    report = run_async(lambda: verify_audit(settings, expected_head=None))
    sys.stdout.write(f"{report.head_seq}:{report.head_hash}\n")
    if not report.ok:
        raise typer.Exit(1)
