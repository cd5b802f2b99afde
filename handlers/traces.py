"""The root span of each Slack delivery Trellis acts on; app/trust/tracing.py has the rest.

    with traces.slack_event(body, event):
        await answer_in_thread(...)

Slack user, channel, team and event ids go into the span only when the operator records
content (TRELLIS_TRACE_CONTENT); the kind of delivery and of conversation always do.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from opentelemetry.trace import Span, SpanKind

from app.trust import tracing


def slack_event(body: dict[str, Any], event: dict[str, Any]) -> AbstractContextManager[Span]:
    """A message or mention Trellis answers."""
    kind = str(event.get("type") or "event")
    return tracing.span(
        f"slack {kind}",
        {
            "slack.event.type": kind,
            "slack.channel_type": event.get("channel_type"),
            "slack.in_thread": bool(event.get("thread_ts")),
        },
        private={
            "slack.event.id": body.get("event_id"),
            "slack.user.id": event.get("user"),
            "slack.channel.id": event.get("channel"),
            "slack.team.id": event.get("user_team") or body.get("team_id"),
        },
        kind=SpanKind.SERVER,
    )


def slash_command(command: dict[str, Any], verb: str) -> AbstractContextManager[Span]:
    """`/trellis <verb> …`."""
    return tracing.span(
        f"slack {command.get('command') or '/trellis'} {verb}",
        {"slack.event.type": "slash_command", "slack.command.verb": verb},
        private={
            "slack.user.id": command.get("user_id"),
            "slack.channel.id": command.get("channel_id"),
            "slack.team.id": command.get("team_id"),
        },
        kind=SpanKind.SERVER,
    )


def interaction(body: dict[str, Any], name: str) -> AbstractContextManager[Span]:
    """A button, shortcut or form of Trellis's (`name`: approve, retry, workflow …)."""
    kind = str(body.get("type") or "interaction")
    return tracing.span(
        f"slack {kind} {name}",
        {"slack.event.type": kind, "slack.action": name},
        private={
            "slack.user.id": (body.get("user") or {}).get("id"),
            "slack.channel.id": (body.get("channel") or {}).get("id"),
            "slack.team.id": (body.get("team") or {}).get("id"),
        },
        kind=SpanKind.SERVER,
    )


def assistant_thread(body: dict[str, Any], event: dict[str, Any]) -> AbstractContextManager[Span]:
    """An assistant view thread opened, or the channel it sits beside changed."""
    kind = str(event.get("type") or "assistant_thread")
    thread = event.get("assistant_thread") or {}
    return tracing.span(
        f"slack {kind}",
        {"slack.event.type": kind, "slack.channel_type": "im"},
        private={
            "slack.event.id": body.get("event_id"),
            "slack.user.id": thread.get("user_id"),
            "slack.channel.id": thread.get("channel_id"),
            "slack.team.id": body.get("team_id"),
        },
        kind=SpanKind.SERVER,
    )
