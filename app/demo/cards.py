"""Reading Trellis's messages as the demo's people see them: the buttons on a card, and what
the downstream stand-ins received for the draft on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.sandbox import Message
from app.sandbox.systems.base import Received, draft_of
from app.sandbox.systems.crm import DELIVERIES
from app.sandbox.systems.standins import StandIns


def buttons(message: Message) -> list[tuple[str, dict[str, Any]]]:
    """(block id, button) for every button in the message's blocks."""
    found = []
    for block in message.blocks or []:
        elements = list(block.get("elements", []))
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append((block.get("block_id", ""), element))
    return found


def button(message: Message, label: str) -> tuple[str, dict[str, Any]]:
    for block_id, element in buttons(message):
        if element.get("text", {}).get("text", "").strip() == label:
            return block_id, element
    raise LookupError(f"no {label} button on the card")


def has_button(label: str) -> Callable[[Message], bool]:
    def check(message: Message) -> bool:
        return message.bot_id is not None and any(
            e.get("text", {}).get("text", "").strip() == label for _, e in buttons(message)
        )

    return check


def draft_on(card: Message) -> str:
    """The draft a card decides: its buttons carry `<draft id>:<text hash>`."""
    _, approve = button(card, "Approve")
    return str(approve.get("value", "")).partition(":")[0]


def delivered(stand_ins: StandIns, draft: str) -> tuple[Received, Received] | None:
    """The CRM row and the verified webhook delivery for `draft`, once both arrived."""
    received = stand_ins.received()
    rows = [r for r in received["sql"] if draft_of(r.key) == draft]
    hooks = [r for r in received["webhook"] if draft_of(r.key) == draft and r.verified]
    return (rows[-1], hooks[-1]) if rows and hooks else None


def row_text(row: Received) -> str:
    table = row.id.partition("/")[0]
    values = ", ".join(
        f"{name}={value}" for name, value in row.fields if name not in ("id", DELIVERIES)
    )
    return f"a {table} row ({values})"
