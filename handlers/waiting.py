"""The Slack side of a draft that waits too long: the reminder and the escalation.

Each message is one row of the outbox (app/approvals/notices.py), so each method here
raises when Slack did not take its message: the outbox tries it again later, or, when
Slack refuses for good (a deactivated account, say), gives up on that one message and
has the card's thread say who was not told (`not_told`). The others are sent all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from app.approvals.drafts import DraftView
from app.domain import Person
from app.errors import DownstreamError
from app.notifications import Once
from app.slack_api import SlackGateway, error_code
from app.slack_once import post_once
from handlers.views import cards
from handlers.views.blocks import escape, section

MENTIONS = 10
"""People named in one reminder or escalation; more are counted."""
RETRYABLE_REFUSALS = frozenset({"ratelimited"})
"""Refusals of a direct message worth trying again later; any other is for good."""


class WaitingMessages:
    """Mixed into the Slack notifier (handlers/notifier.py)."""

    slack: SlackGateway

    async def remind(
        self, draft: DraftView, people: Sequence[Person], *, once: Once | None = None
    ) -> None:
        who = await self._mentions(people)
        await self._in_card_thread(
            draft,
            f":bell: Reminder: this {escape(draft.title)} "
            f"from {escape(draft.requester_name)} still "
            f"waits for a decision. {who} can decide.",
            once=once,
        )

    async def escalation_said(
        self,
        draft: DraftView,
        people: Sequence[Person],
        *,
        withheld: Sequence[Person] = (),
        once: Once | None = None,
    ) -> None:
        if people:
            who = await self._mentions(people)
            text = (
                f":arrow_double_up: Escalated to {who}: nobody decided in time. "
                "You can now approve, edit or reject it."
            )
        else:
            text = (
                ":arrow_double_up: Nobody decided in time, and the people it escalates to "
                "may not read its sources, so they were only told that it waits here."
            )
        await self._in_card_thread(draft, text, once=once)

    async def asked_instead(
        self, draft: DraftView, unlisted: Sequence[str], *, once: Once | None = None
    ) -> None:
        if not draft.card_channel:
            return
        await self._post(
            channel=draft.card_channel,
            once=once,
            text=(
                f":arrow_double_up: This {escape(draft.title)} from "
                f"{escape(draft.requester_name)} has waited too long for a decision. It "
                f"would escalate to {escape(', '.join(unlisted))}, who "
                f"{'is' if len(unlisted) == 1 else 'are'} not in the directory, so it "
                "waits here: any approver in this channel can decide on its card."
            ),
        )

    async def escalated_to(
        self, draft: DraftView, person: Person, *, card: bool, once: Once | None = None
    ) -> None:
        """They may not be in the approvals channel, so the card comes to them. Those who
        may not read its sources get only a pointer: what kind of request waits, and where."""
        slack_id = person.slack_id or await self.slack.user_id_by_email(person.email)
        if slack_id is None:
            raise DownstreamError(
                f"Slack has no account for {person.name}.",
                retryable=False,
                detail=f"no Slack user with the email {person.email}",
            )
        if card:
            intro = section(
                f":arrow_double_up: This {escape(draft.title)} from "
                f"{escape(draft.requester_name)} waited too long, so it was escalated to you. "
                "You can decide here."
            )
            text, blocks = f"Escalated to you: {draft.title}", [intro, *cards.card_blocks(draft)]
        else:
            where = f"<#{draft.card_channel}>" if draft.card_channel else "its approvals channel"
            text = (
                f":arrow_double_up: A {escape(draft.title)} from "
                f"{escape(draft.requester_name)} has waited too long for a "
                f"decision in {where}. It rests on documents you may not read, so it "
                "is not shown here; please nudge its approvers."
            )
            blocks = None
        try:
            await self._post(
                channel=await self.slack.open_dm(slack_id), text=text, blocks=blocks, once=once
            )
        except SlackApiError as error:  # Slack out of reach raises SlackUnavailable instead
            code = error_code(error)
            raise DownstreamError(
                f"Slack refused the direct message to {person.name} ({code}).",
                retryable=code in RETRYABLE_REFUSALS,
                detail=f"{person.email}: {code}",
            ) from error

    async def not_told(self, draft: DraftView, person: Person) -> None:
        await self._in_card_thread(
            draft,
            f":warning: Trellis could not send a direct message to {escape(person.name)} "
            "(see the log), so they were not told of it: an approver here can still decide.",
        )

    async def _in_card_thread(
        self, draft: DraftView, text: str, *, once: Once | None = None
    ) -> None:
        if draft.card_channel and draft.card_ts:
            await self._post(
                channel=draft.card_channel, thread_ts=draft.card_ts, text=text, once=once
            )

    async def _post(
        self,
        *,
        channel: str,
        text: str,
        once: Once | None,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> None:
        if once is None:
            await self.slack.post(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)
        else:
            await post_once(
                self.slack,
                channel=channel,
                once=once,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
            )

    async def _mentions(self, people: Sequence[Person]) -> str:
        shown = []
        for person in people[:MENTIONS]:
            slack_id = person.slack_id or await self.slack.user_id_by_email(person.email)
            shown.append(f"<@{slack_id}>" if slack_id else escape(person.name))
        if len(people) > MENTIONS:
            shown.append(f"{len(people) - MENTIONS} more")
        return ", ".join(shown) or "an approver"
