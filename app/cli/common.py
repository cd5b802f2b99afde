"""What every `trellis` command shares: the two consoles, the --workspace and
--database-url options, loading the settings, running a coroutine, and the one place
Trellis's errors become a line on stderr and an exit status (`one_line_errors`, wrapped
round every command by `TrellisCommands`). A mistake in the set-up, the workspace or an
option's value is one line naming what to change, and exit status 2; a refusal is one
line and exit status 1; never a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from app.cli import INTERRUPTED
from app.config.settings import Settings
from app.errors import SetupError, TrellisError, WorkspaceError

T = TypeVar("T")

console = Console()
errors = Console(stderr=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (default: TRELLIS_WORKSPACE or the demo)."
    ),
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the database (default: TRELLIS_DATABASE_URL or ./trellis.db).",
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
            message = error["msg"].removeprefix("Value error, ")
            say(f"[red]Configuration error[/red] {name}: {escape(message)}")
        raise typer.Exit(2) from exc


def say(line: str) -> None:
    """One line on stderr, never wrapped, so it stays one line in a log or a narrow terminal."""
    errors.print(line, highlight=False, soft_wrap=True)


def settings_for(workspace: Path | None, database_url: str | None = None) -> Settings:
    """The settings, with `--workspace` and `--database-url` in place of TRELLIS_WORKSPACE
    and TRELLIS_DATABASE_URL when they are given. A workspace folder that does not exist
    stops the command here."""
    settings = load_settings()
    update: dict[str, Any] = {}
    if workspace is not None:
        update["workspace"] = workspace.expanduser().resolve()
    if database_url:
        update["database_url"] = database_url
    if update:
        settings = settings.model_copy(update=update)
    folder = settings.workspace_path()
    if not folder.is_dir():
        setting = "--workspace" if workspace is not None else "TRELLIS_WORKSPACE"
        what = "is not a folder" if folder.exists() else "does not exist"
        say(
            f"[red]Workspace error[/red] {setting}: {escape(str(folder))} {what}; "
            "point it at a workspace folder (`trellis init DIR` writes a starter one)"
        )
        raise typer.Exit(2)
    return settings


def run_async(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's coroutine; its errors are turned into exit codes by
    `one_line_errors`, round the whole command."""
    with one_line_errors():
        return asyncio.run(coro_factory())


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Trellis's errors as one line each on stderr: a mistake in the set-up, the workspace
    or an option's value exits with 2, a refusal with 1. Every mistake found in a workspace
    is listed, as `trellis check` lists them."""
    try:
        yield
    except WorkspaceError as exc:
        for error in (exc, *exc.also):
            say(f"[red]Workspace error[/red] {escape(str(error))}")
        raise typer.Exit(2) from exc
    except SetupError as exc:
        say(f"[red]Setup error[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except TrellisError as exc:
        say(f"[red]Error[/red] {escape(exc.user_message)}")
        raise typer.Exit(1) from exc


class TrellisCommands(TyperGroup):
    """The `trellis` command group: whatever a command raises from Trellis's error tree,
    before, inside or after its coroutine, goes through `one_line_errors`; Ctrl-C that
    the command does not handle itself (`trellis run` does) stops it with one line."""

    def invoke(self, ctx: Any) -> Any:  # typer's own copy of click's Context
        try:
            with one_line_errors():
                return super().invoke(ctx)
        except KeyboardInterrupt:
            say("Stopped.")
            raise typer.Exit(INTERRUPTED) from None

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command, its one-line help in the commands list being its help's first
        paragraph as one line (a docstring's own line breaks would break it mid-sentence)."""
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.help and not command.short_help:
            command.short_help = " ".join(command.help.split("\n\n", 1)[0].split())
        return command


def file_to_write(option: str, path: Path) -> Path:
    """`path`, checked before any work is done: its folder exists and it is not a folder."""
    if path.is_dir():
        raise SetupError(option, f"{path} is a folder; name a file to write")
    if not path.parent.is_dir():
        raise SetupError(
            option, f"the folder {path.parent} does not exist; create it or name another file"
        )
    return path


@contextmanager
def given_path(option: str, path: Path, doing: str) -> Iterator[None]:
    """Reading or writing a path the operator gave: a failure (no such folder, a folder
    where a file was meant, no permission) is their mistake, one line naming the option."""
    try:
        yield
    except OSError as exc:
        raise SetupError(option, f"cannot {doing} {path} ({os_reason(exc)})") from exc


def os_reason(exc: OSError) -> str:
    """What the system said, as a phrase: "no such file or directory"."""
    return (exc.strerror or type(exc).__name__).lower()
