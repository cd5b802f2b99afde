"""What Trellis says when asked for help (`/trellis help`, or a mention with no question)."""

from __future__ import annotations

from app.config.workspace import Workspace
from handlers.views.blocks import Block, escape, section


def help_text(workspace: Workspace, *, outsiders: bool = False) -> str:
    """Slack mrkdwn; the workspace's own names in it are escaped. `outsiders`: a guest or
    someone from another organisation reads it, so no internal channel, admin or workflow
    is named (they may not start one)."""
    config = workspace.config
    if outsiders:
        return (
            f"*Trellis for {escape(config.name or 'your company')}* answers the questions of "
            "the people in this organisation's directory from documents they are allowed to "
            "see, and cites every source. In a channel shared with people from outside, it "
            "only uses sources marked public."
        )
    return (
        f"*Trellis for {escape(config.name or 'your company')}* answers questions from documents "
        "you are allowed to see, and cites every source.\n"
        "• Mention me in a channel or send me a direct message with your question.\n"
        "• `/trellis ask QUESTION` asks privately.\n"
        "• In a channel, I only use sources every member may see; if you could see more, "
        "I send you the fuller answer privately.\n"
        "• Reply in the thread of my answer to ask a follow-up.\n"
        "• `/trellis about` tells how Trellis is set up here: who can use it, what it sees, "
        "what needs approval, what is logged, and who supports it.\n"
        f"{_workflows_help(workspace)}"
        f"Owned by: {escape(', '.join(config.admins) or 'the Trellis admins')}. "
        f"Help and questions: {escape(config.support or 'ask an admin')}."
    )


def _workflows_help(workspace: Workspace) -> str:
    slugs = sorted(workspace.rulebook.workflows)
    if not slugs:
        return ""
    return (
        "• `/trellis WORKFLOW field=value …` starts a workflow ("
        + ", ".join(f"`{s}`" for s in slugs)
        + "); leave fields out to get a form, or "
        "use the “Start Trellis workflow” shortcut on a message.\n"
    )


def help_blocks(text: str) -> list[Block]:
    """`text`, the help as `help_text` words it, as Block Kit."""
    return [section(text)]


def unknown_verb(verb: str, help: str) -> str:
    """`help`: the help as its reader is shown it (handlers/help.py)."""
    return f"I don't know `{escape(verb)}`.\n\n{help}"
