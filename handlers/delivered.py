"""What a person wrote and where, from what Slack delivers.

Slack sends message and command text in its own markup: `&`, `<` and `>` arrive as `&amp;`,
`&lt;` and `&gt;`; mentions, channels and links arrive as `<@U123|ana>`, `<#C123|sales>`,
`<https://example.com|the wiki>`; `<!here>` and user-group mentions as `<!...>`.
(https://api.slack.com/reference/surfaces/formatting#escaping). Questions are read, searched
and quoted back as the person wrote them, so every entry point (messages, the assistant view,
slash commands, message shortcuts) reads the text through `plain_text`.
"""

from __future__ import annotations

import re
from typing import Any

QUESTION_SUBTYPES = {None, "file_share", "thread_broadcast"}
"""Messages a person writes: plain ones, with files attached, and thread replies also sent
to the channel. Every other subtype (edits, deletions, joins, bot and system messages, the
assistant view's own thread roots) is something that happened, not something asked."""
_MARKUP = re.compile(r"<([^<>]*)>")


def plain_text(text: str | None, *, drop_user: str | None = None, one_line: bool = True) -> str:
    """`text` as the person wrote it, markup read and entities decoded; on one line unless
    `one_line` is False (a message kept whole, lines and all).

    `drop_user`: a Slack user id whose mentions are left out (the app's own, in a message
    addressed to it). Other mentions read as `@name`, or `@U123` when Slack sent no name
    (handlers/people.py `with_names` names them once the event is acked). Channels read as
    `#name`, links as their label (or their address), `<!here>` and the like are left out,
    and user groups and dates read as the text Slack gives for them.
    """
    if not text:
        return ""

    def read(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user = target[1:]
            return " " if drop_user and user == drop_user else f"@{label or user}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            command = target[1:]
            if command.startswith("subteam^"):
                return label or "@group"
            if command.startswith("date^"):
                return label
            return " "  # here, channel, everyone: an alert, not words of the question
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        return label or target

    read_markup = _MARKUP.sub(read, text)
    decoded = read_markup.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(decoded.split()) if one_line else decoded.strip()


def is_direct_message(event: dict[str, Any]) -> bool:
    """A message in a direct conversation with Trellis: Slack says so with `channel_type`
    "im"; without it, a direct conversation's id starts with D."""
    kind = event.get("channel_type")
    return kind == "im" or (not kind and str(event.get("channel") or "").startswith("D"))


def is_group_message(event: dict[str, Any]) -> bool:
    """A message in a group direct conversation (several people and Trellis). Slack sends
    no `app_mention` there: a mention arrives as this message only."""
    return event.get("channel_type") == "mpim"
