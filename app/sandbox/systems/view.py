"""What the stand-ins received, as the JSON of the browser's Systems view, each thing linked
to the approval that caused it.

A delivery names its draft in its idempotency key (`trellis:<draft id>:<position>`); a ticket
comment carries only a marker derived from that key, so it is matched against the markers of
the drafts seen elsewhere. The approval is the click on the draft's card: the sandbox saw it
as a `block_actions` payload whose button value starts with the draft id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from app.sandbox.records import Message
from app.sandbox.socket_mode import Delivery
from app.sandbox.state import SandboxWorkspace
from app.sandbox.systems.base import KEY_PREFIX, NAMES, Received, draft_of
from workflows.ticketing import marker_for

if TYPE_CHECKING:
    from app.sandbox.systems.standins import StandIns

ACTIONS_PER_DRAFT = 10
ABOUT = {
    "sql": "Rows the sql connector added, with the delivery key it recorded beside each.",
    "webhook": "POSTs the webhook connector made; the receiver checks each signature.",
    "email": "Messages the email connector sent over SMTP, as the server received them.",
    "ticketing": "Comments and issues the ticketing connector created (Jira REST API v3).",
}


def systems_json(
    stand_ins: StandIns, ws: SandboxWorkspace, deliveries: Iterable[Delivery]
) -> list[dict[str, Any]]:
    approvals = approvals_by_draft(ws, deliveries)
    received = stand_ins.received()
    drafts = set(approvals) | {
        d for records in received.values() for r in records if (d := draft_of(r.key))
    }
    markers = {
        marker_for(f"{KEY_PREFIX}{draft}:{position}"): draft
        for draft in drafts
        for position in range(ACTIONS_PER_DRAFT)
    }
    addresses = stand_ins.addresses()
    return [
        {
            "slug": slug,
            "name": NAMES[slug],
            "address": addresses[slug],
            "about": ABOUT[slug],
            "records": [
                _record_json(r, draft_of(r.key) or markers.get(r.marker or ""), approvals)
                for r in received[slug]
            ],
        }
        for slug in NAMES
    ]


def _record_json(
    record: Received, draft: str | None, approvals: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": record.id,
        "title": record.title,
        "fields": [list(pair) for pair in record.fields],
        "body": record.body,
        "verified": record.verified,
        "at": record.at,
        "draft": draft,
        "approval": approvals.get(draft) if draft else None,
    }


def approvals_by_draft(
    ws: SandboxWorkspace, deliveries: Iterable[Delivery]
) -> dict[str, dict[str, Any]]:
    """draft id -> the card it was decided on and who clicked; an Approve click wins over
    the card's other buttons."""
    found: dict[str, dict[str, Any]] = {}
    for delivery in deliveries:
        payload = delivery.payload
        if delivery.type != "interactive" or payload.get("type") != "block_actions":
            continue
        container = payload.get("container") or {}
        for action in payload.get("actions") or []:
            draft, _, rest = str(action.get("value") or "").partition(":")
            if not draft or not rest or container.get("is_ephemeral"):
                continue
            approving = "approve" in str(action.get("action_id", ""))
            if draft in found and found[draft]["approved"] and not approving:
                continue
            channel = str(container.get("channel_id") or "")
            ts = str(container.get("message_ts") or "")
            user = ws.user(str((payload.get("user") or {}).get("id") or ""))
            conversation = ws.conversation(channel)
            found[draft] = {
                "channel": channel,
                "channel_name": conversation.name if conversation else channel,
                "ts": ts,
                "by": user.real_name if user else "",
                "approved": approving,
                "title": _title(ws.find_message(channel, ts)),
            }
    return found


def _title(message: Message | None) -> str:
    if message is None:
        return ""
    for block in message.blocks or []:
        if block.get("type") == "header":
            return str((block.get("text") or {}).get("text") or "")
    return message.text[:120]
