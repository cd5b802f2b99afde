"""`trellis check` and `trellis init`: a workspace folder checked without starting anything,
and a small starter workspace written to begin from.

`check` lists every problem at once, as `file:line: what is wrong`: the errors that keep
the workspace from loading (those `trellis run` would stop at, one at a time), those that
ingest or eval would stumble on, and the warnings (app/cli/review.py says which).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from app.cli.common import WorkspaceOption, console, os_reason, settings_for
from app.errors import SetupError, WorkspaceError

STARTER = Path(__file__).parent / "starter"


def check_command(workspace: WorkspaceOption = None) -> None:
    """Check a workspace without starting anything: every problem at once, as
    file:line: what is wrong. Exit status 1 when there are errors, 0 otherwise."""
    root = settings_for(workspace).workspace_path()
    from app.cli.review import review_workspace

    review = review_workspace(root, os.environ)
    for error in review.errors:
        console.print(f"[red]error[/red]   {escape(str(error))}", highlight=False, soft_wrap=True)
    for warning in review.warnings:
        console.print(
            f"[yellow]warning[/yellow] {escape(str(warning))}", highlight=False, soft_wrap=True
        )
    counts = f"{_count(review.errors, 'error')}, {_count(review.warnings, 'warning')}"
    console.print(f"{escape(str(root))}: {counts}.", highlight=False, soft_wrap=True)
    if review.errors:
        raise typer.Exit(1)


def _count(items: list[WorkspaceError], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def init_command(
    folder: Annotated[Path, typer.Argument(help="The folder to create (new or empty).")],
) -> None:
    """Write a small, commented starter workspace: the directory, one document for each
    way of granting access, one workflow, trellis.yml and a sandbox."""
    target = folder.expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "is not an empty folder" if target.is_dir() else "is a file, not a folder"
        raise SetupError(
            str(folder), f"already exists and {what}; name a new folder for the workspace"
        )
    try:
        shutil.copytree(STARTER, target, dirs_exist_ok=True)
    except OSError as exc:
        raise SetupError(
            str(folder),
            f"cannot be created ({os_reason(exc)}); name a folder in a place you may write to",
        ) from exc
    console.print(f"Wrote a starter workspace to {escape(str(target))}.", highlight=False)
    w = escape(str(folder))
    console.print(
        "Next:\n"
        f"  trellis check --workspace {w}\n"
        f'  trellis ask --workspace {w} --as sam@example.com "When is the office open?"\n'
        f"  trellis run --workspace {w}\n"
        "These keep their index in trellis.db in the folder you run them from, and a database "
        "serves one workspace: where trellis.db already serves another (the demo), run them "
        "from another folder or give them --database-url sqlite+aiosqlite:///PATH.",
        highlight=False,
        soft_wrap=True,
    )


def register(cli: typer.Typer) -> None:
    cli.command("check")(check_command)
    cli.command("init")(init_command)
