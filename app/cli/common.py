"""What every `trellis` command shares: the two consoles, the --workspace option, loading
the settings, and running a coroutine with Trellis's errors turned into exit codes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from app.config.settings import Settings
from app.errors import TrellisError, WorkspaceError

T = TypeVar("T")

console = Console()
errors = Console(stderr=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: TRELLIS_WORKSPACE or the demo).",
        exists=True,
        file_okay=False,
        resolve_path=True,
    ),
]


def load_settings() -> Settings:
    """The settings from the environment; a configuration error exits with status 2."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "_".join(str(p) for p in error["loc"]).upper()
            if not name.startswith(("SLACK_", "ANTHROPIC_")):
                name = f"{Settings.model_config.get('env_prefix', '')}{name}"
            errors.print(f"[red]Configuration error[/red] {name}: {error['msg']}", highlight=False)
        raise typer.Exit(2) from exc


def settings_for(workspace: Path | None) -> Settings:
    """The settings, with `--workspace` in place of TRELLIS_WORKSPACE when it is given."""
    settings = load_settings()
    if workspace is not None:
        settings = settings.model_copy(update={"workspace": workspace})
    return settings


def run_async(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's coroutine; a workspace error exits with 2, a refusal with 1."""
    try:
        return asyncio.run(coro_factory())
    except WorkspaceError as exc:
        errors.print(f"[red]Workspace error[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    except TrellisError as exc:
        errors.print(f"[red]Error[/red] {exc.user_message}", highlight=False)
        raise typer.Exit(1) from exc
