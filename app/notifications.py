"""Who is told what about a draft, as an interface the Slack layer implements.

The core decides *when* people must hear about a draft (a card to post, a decision, a
result, a dead letter, a reminder); `handlers/cards.py` decides *how* it looks in Slack.
Without Slack (the CLI), `QuietNotifier` only logs, and drafts wait in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import structlog

from app.approvals.drafts import ActionView, DraftView
from app.domain import Person

log = structlog.get_logger(__name__)


class Notifier(Protocol):
    async def post_card(self, draft: DraftView) -> tuple[str, str] | None:
        """Post the approval card; (channel id, ts), or None when there is nowhere to post."""

    async def refresh_card(self, draft: DraftView) -> None:
        """Show the draft's current state on its card, in place."""

    async def decided(self, draft: DraftView) -> None:
        """Tell the requester the decision (and deliver an approved answer)."""

    async def action_finished(self, draft: DraftView, action: ActionView) -> None:
        """An action is done (the result) or dead-lettered (owners and requester told)."""

    async def remind(self, draft: DraftView, people: Sequence[Person]) -> None: ...

    async def escalated(
        self, draft: DraftView, people: Sequence[Person], *, withheld: Sequence[Person] = ()
    ) -> None:
        """`people` may now decide and get the card; `withheld` were due to, but may not
        read its sources: they are only told where it waits."""


class QuietNotifier:
    async def post_card(self, draft: DraftView) -> tuple[str, str] | None:
        log.info("draft_waiting", draft=draft.id, workflow=draft.workflow)
        return None

    async def refresh_card(self, draft: DraftView) -> None:
        return None

    async def decided(self, draft: DraftView) -> None:
        log.info("draft_decided", draft=draft.id, state=draft.state.value)

    async def action_finished(self, draft: DraftView, action: ActionView) -> None:
        log.info("action_finished", draft=draft.id, action=action.id, state=action.state)

    async def remind(self, draft: DraftView, people: Sequence[Person]) -> None:
        return None

    async def escalated(
        self, draft: DraftView, people: Sequence[Person], *, withheld: Sequence[Person] = ()
    ) -> None:
        return None
