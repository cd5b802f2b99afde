"""Slack messages as terminal text, for `trellis demo`.

Block Kit becomes plain lines: mrkdwn references turn into `@Name`, `#channel` and
`label (url)`, entities are decoded, buttons show as `[ Approve ]`. The result is handed to
rich as `Text`, never as markup, so a document's text cannot style or break the output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.emoji import Emoji
from rich.panel import Panel
from rich.text import Text

REFERENCE = re.compile(r"<([^<>]+)>")
STYLE = re.compile(r"(^|[\s(\[])([*_~])([^*_~\n]+?)\2(?=$|[\s).,:;!?\]])", re.M)
QUOTE = re.compile(r"^(?:>|&gt;) ?", re.M)

Names = Callable[[str], str]


def mrkdwn_to_text(text: str, *, names: Names, channels: Names) -> str:
    def replace(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + names(target[1:])
        if target.startswith("#"):
            return "#" + (label or channels(target[1:]))
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        return f"{label} ({target})" if label and label != target else target

    plain = STYLE.sub(r"\1\3", REFERENCE.sub(replace, text))
    plain = QUOTE.sub("│ ", plain)
    return Emoji.replace(plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def blocks_to_lines(
    blocks: list[dict[str, Any]], *, names: Names, channels: Names
) -> list[tuple[str, str]]:
    """(style, line) pairs: style is "" for body text, "bold", "dim" or "button"."""

    def text_of(obj: dict[str, Any] | None) -> str:
        if not obj:
            return ""
        raw = obj.get("text", "")
        if obj.get("type") == "mrkdwn":
            return mrkdwn_to_text(raw, names=names, channels=channels)
        return Emoji.replace(raw)

    lines: list[tuple[str, str]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(("bold", text_of(block.get("text"))))
        elif kind == "section":
            if block.get("text"):
                lines.append(("", text_of(block["text"])))
            for field in block.get("fields", []):
                lines.append(("", text_of(field)))
            if block.get("accessory", {}).get("type") == "button":
                lines.append(("button", f"[ {text_of(block['accessory'].get('text'))} ]"))
        elif kind == "context":
            parts = [text_of(e) for e in block.get("elements", []) if e.get("type") != "image"]
            lines.append(("dim", "  ".join(parts)))
        elif kind == "divider":
            lines.append(("dim", "─" * 40))
        elif kind in ("actions", "context_actions"):
            buttons = [
                f"[ {text_of(button.get('text'))} ]"
                for e in block.get("elements", [])
                # Slack's feedback buttons element holds its two buttons.
                for button in (e.get("positive_button"), e.get("negative_button"), e)
                if button and button.get("text")
            ]
            if buttons:
                lines.append(("button", "  ".join(buttons)))
        elif kind == "rich_text":
            lines.append(("", _rich_text(block, names=names, channels=channels)))
        elif kind == "markdown":
            lines.append(("", block.get("text", "")))
        else:
            lines.append(("dim", f"[{kind} block]"))
    return lines


def _rich_text(block: dict[str, Any], *, names: Names, channels: Names) -> str:
    out: list[str] = []
    for section in block.get("elements", []):
        for element in section.get("elements", []):
            kind = element.get("type")
            if kind == "text":
                out.append(element.get("text", ""))
            elif kind == "user":
                out.append("@" + names(element.get("user_id", "")))
            elif kind == "channel":
                out.append("#" + channels(element.get("channel_id", "")))
            elif kind == "link":
                out.append(element.get("text") or element.get("url", ""))
    return "".join(out)


STYLES = {"bold": "bold", "dim": "dim", "button": "bold cyan", "": ""}


def message_panel(
    author: str, where: str, lines: list[tuple[str, str]], *, private: bool = False
) -> Panel:
    body = [Text(line, style=STYLES[style]) for style, line in lines if line.strip()]
    title = Text(author, style="bold")
    title.append(f"  {where}", style="dim")
    if private:
        title.append("  only visible to you", style="italic yellow")
    return Panel(
        Group(*body), title=title, title_align="left", border_style="yellow" if private else "green"
    )
