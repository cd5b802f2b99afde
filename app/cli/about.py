"""`trellis about`: the eight operating questions answered from the live configuration and
measurements, for an operator or a security review.

    trellis about                      the answers in the terminal (the whole workspace)
    trellis about --as EMAIL           as that person sees them in Slack
    trellis about --html report.html   a self-contained HTML report with charts
    trellis about --json               one JSON object (`--schema` prints its JSON schema)

The command indexes the workspace's knowledge first (as `trellis ask` does), and checks
the audit chain, recording the result in it, so "last verified" is now.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from app.cli.common import (
    DatabaseUrlOption,
    WorkspaceOption,
    console,
    file_to_write,
    given_path,
    run_async,
    say,
    settings_for,
)
from app.config.settings import Settings
from app.errors import TrellisError
from app.trust import WEEKS

if TYPE_CHECKING:
    from app.trust.about import About


def about_command(
    as_: Annotated[
        str | None,
        typer.Option("--as", help="Answer as this person sees it (their directory email)."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML report with charts here."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON schema of --json and stop.")
    ] = False,
    weeks: Annotated[int, typer.Option(min=1, max=104, help="How many weeks to measure.")] = WEEKS,
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Who can use Trellis here, what it sees, what it may do, what needs approval, what is
    logged, what happens when it is wrong, who supports it, and whether it is improving."""
    from app.trust.about_report import about_html, about_json
    from app.trust.about_report import schema as about_schema

    if schema:
        sys.stdout.write(json.dumps(about_schema(), indent=2, ensure_ascii=False) + "\n")
        return
    settings = settings_for(workspace, database_url)
    if html is not None:
        file_to_write("--html", html)
    about = run_async(lambda: about_from_cli(settings, email=as_, weeks=weeks))
    if html is not None:
        with given_path("--html", html, "write"):
            html.write_text(about_html(about), encoding="utf-8")
        if not as_json:
            console.print(f"Wrote {html} ({len(about.answers)} answers, charts inline).")
    if as_json:
        sys.stdout.write(json.dumps(about_json(about), ensure_ascii=False) + "\n")
    elif html is None:
        print_about(about)


async def about_from_cli(settings: Settings, *, email: str | None, weeks: int) -> About:
    """The answers for the live version (never evaluating anything to find it)."""
    from app.cli.operations import offline_services, served_for_cli, workspace_for
    from app.db.migrate import open_database
    from app.knowledge.sync import check_served, sync_knowledge
    from app.trust.about import about_for, verify_and_record

    folder = workspace_for(settings)  # a broken folder stops here, every mistake listed
    async with open_database(settings.database_url) as database:
        await check_served(database, folder)
        served = await served_for_cli(settings, database, by="about", evaluate=False)
        for note in served.notes():
            say(f"[yellow]{escape(note)}[/yellow]")
        workspace = served.workspace
        person = workspace.directory.by_email(email) if email else None
        if email and person is None:
            raise TrellisError(f"{email} is not in the workspace's directory.")
        await sync_knowledge(database, workspace)
        services = offline_services(settings, workspace, database)
        await verify_and_record(services)
        return await about_for(services, person, weeks=weeks)


def print_about(about: About) -> None:
    facts = about.facts
    console.print(
        f"[bold]About Trellis at {escape(facts.workspace)}[/bold] for "
        f"{escape(facts.reader.name)}, version {facts.version}",
        highlight=False,
    )
    for answer in about.answers:
        console.print()
        console.print(answer.question, style="bold green", markup=False, highlight=False)
        console.print(answer.summary, markup=False, highlight=False)
        for point in answer.points:
            console.print(f"  • {point}", markup=False, highlight=False)
        console.print(f"  From: {', '.join(answer.sources)}", style="dim", markup=False)
