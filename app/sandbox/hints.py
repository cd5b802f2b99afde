"""The browser view's first-run hints: things to try for the person you act as.

sandbox.yml may list them by email (`everyone` for the people not listed)::

    hints:
      liam.carter@northwind.example:
        - title: Ask for a discount a manager must approve
          in: sales                  # a channel's name, `app` (the DM), `home` or `systems`
          say: /trellis discount_request customer="Alpine Co." percent=18 reason="2-year renewal"
          then: A card goes to #deal-approvals for Sofia Marino.

The page shows at most three, puts `say` in the composer of `in` when asked, and can be
dismissed. A workspace without hints gets three that work anywhere.
"""

from __future__ import annotations

from typing import Any

from app.errors import WorkspaceError

EVERYONE = "everyone"
MOST = 3
PLACES = ("app", "home", "systems")
DEFAULT = [
    {
        "title": "See what Trellis can do",
        "in": "",
        "say": "/trellis help",
        "then": "Trellis lists its commands, its workflows, who owns it and where to get help.",
    },
    {
        "title": "Ask a question in a direct message",
        "in": "app",
        "say": "",
        "then": "Only you see the answer, built from the documents you may read, with sources.",
    },
    {
        "title": "Open Trellis's Home tab",
        "in": "home",
        "say": "",
        "then": "Your pending requests and approvals; the dashboard if you are an admin.",
    },
]


def hints_for(
    spec: Any, *, by_email: dict[str, str], channels: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """user id ("*" for everyone else) -> hints, each with its place resolved."""
    if spec is None:
        spec = {EVERYONE: DEFAULT}
    if not isinstance(spec, dict):
        raise WorkspaceError("sandbox.yml", "hints: expected people's emails (or everyone)")
    spec = {EVERYONE: DEFAULT, **spec}
    found: dict[str, list[dict[str, Any]]] = {}
    for who, items in spec.items():
        if who == EVERYONE:
            key = "*"
        elif str(who).lower() in by_email:
            key = by_email[str(who).lower()]
        else:
            raise WorkspaceError(
                "sandbox.yml", f"hints: {who} is neither in the directory nor in users"
            )
        if not isinstance(items, list):
            raise WorkspaceError("sandbox.yml", f"hints.{who}: expected a list of hints")
        found[key] = [_hint(item, who, channels) for item in items[:MOST]]
    return found


def _hint(item: Any, who: str, channels: list[dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(item, dict) or not str(item.get("title") or "").strip():
        raise WorkspaceError("sandbox.yml", f"hints.{who}: every hint needs a title")
    place = str(item.get("in") or "").lstrip("#")
    if place in PLACES:
        target: dict[str, str] = {"kind": place}
    else:
        channel = next(
            (c for c in channels if c["name"] == place or (not place and c is channels[0])), None
        )
        if channel is None:
            raise WorkspaceError("sandbox.yml", f"hints.{who}: there is no channel {place}")
        target = {"kind": "channel", "id": channel["id"], "name": channel["name"]}
    return {
        "title": str(item["title"]).strip(),
        "say": str(item.get("say") or ""),
        "then": str(item.get("then") or ""),
        "target": target,
    }
