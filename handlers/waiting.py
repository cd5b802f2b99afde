"""The Slack side of a draft that waits: the reminder, the escalation, and the card sent
to whoever may decide on it but is not in its channel.

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
        self,
        draft: DraftView,
        people: Sequence[Person],
        *,
        nobody_new: bool = False,
        once: Once | None = None,
    ) -> None:
        who = await self._mentions(people)
        why = (
            " Nobody decided in time, and everyone it escalates to can already decide, "
            "so it was not escalated to anyone new."
            if nobody_new
            else ""
        )
        await self._in_card_thread(
            draft,
            f":bell: Reminder: this {escape(draft.title)} "
            f"from {escape(draft.requester_name)} still "
            f"waits for a decision.{why} {who} can decide.",
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
    ) -> tuple[str, str] | None:
        """They may not be in the approvals channel, so the card comes to them. Those who
        may not read its sources get only a pointer: what kind of request waits, and where."""
        slack_id = await self._slack_id(person)
        if card:
            intro = (
                f":arrow_double_up: This {escape(draft.title)} from "
                f"{escape(draft.requester_name)} waited too long, so it was escalated to you. "
                "You can decide here."
            )
            summary = f"Escalated to you: {draft.title}"
            return await self._direct(draft, person, slack_id, intro, summary, once=once)
        where = f"<#{draft.card_channel}>" if draft.card_channel else "its approvals channel"
        text = (
            f":arrow_double_up: A {escape(draft.title)} from "
            f"{escape(draft.requester_name)} has waited too long for a "
            f"decision in {where}. It rests on documents you may not read, so it "
            "is not shown here; please nudge its approvers."
        )
        return await self._direct(draft, person, slack_id, text, text, card=False, once=once)

    async def not_in_channel(self, channel: str, people: Sequence[Person]) -> list[Person]:
        members = set(await self.slack.members(channel))
        return [
            p
            for p in people
            if (p.slack_id or await self.slack.user_id_by_email(p.email)) not in members
        ]

    async def asked_to_decide(
        self, draft: DraftView, person: Person, *, card: bool, once: Once | None = None
    ) -> tuple[str, str] | None:
        """The card, or a pointer, for someone who may decide but is not in its channel;
        nothing when they are in it by now."""
        slack_id = await self._slack_id(person)
        if not draft.card_channel or slack_id in await self.slack.members(draft.card_channel):
            return None
        asked = (
            f":ballot_box_with_check: You are asked to decide on this {escape(draft.title)} "
            f"from {escape(draft.requester_name)} because {escape(why_asked(draft, person))}; "
            f"you are not in <#{draft.card_channel}>, where its card is."
        )
        if card:
            summary = f"Asked to decide: {draft.title}"
            intro = f"{asked} You can decide here."
            return await self._direct(draft, person, slack_id, intro, summary, once=once)
        text = (
            f"{asked} It rests on documents you may not read, so it is not shown here: ask "
            "a Trellis admin for access, or ask its other approvers to decide."
        )
        return await self._direct(draft, person, slack_id, text, text, card=False, once=once)

    async def _slack_id(self, person: Person) -> str:
        slack_id = person.slack_id or await self.slack.user_id_by_email(person.email)
        if slack_id is None:
            raise DownstreamError(
                f"Slack has no account for {person.name}.",
                retryable=False,
                detail=f"no Slack user with the email {person.email}",
            )
        return slack_id

    async def _direct(
        self,
        draft: DraftView,
        person: Person,
        slack_id: str,
        text: str,
        summary: str,
        *,
        card: bool = True,
        once: Once | None = None,
    ) -> tuple[str, str]:
        """`text` to `person` directly, followed by the card when `card` (`summary`: the
        message's plain text); where it went."""
        blocks = [section(text), *cards.card_blocks(draft)] if card else None
        try:
            channel = await self.slack.open_dm(slack_id)
            ts = await self._post(channel=channel, text=summary, blocks=blocks, once=once)
            return channel, ts
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
    ) -> str:
        if once is None:
            return await self.slack.post(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
            )
        return await post_once(
            self.slack, channel=channel, once=once, text=text, blocks=blocks, thread_ts=thread_ts
        )

    async def _mentions(self, people: Sequence[Person]) -> str:
        shown = []
        for person in people[:MENTIONS]:
            slack_id = person.slack_id or await self.slack.user_id_by_email(person.email)
            shown.append(f"<@{slack_id}>" if slack_id else escape(person.name))
        if len(people) > MENTIONS:
            shown.append(f"{len(people) - MENTIONS} more")
        return ", ".join(shown) or "an approver"


def why_asked(draft: DraftView, person: Person) -> str:
    """Why `person` may decide on `draft`, in the words of its requirement."""
    me, needs = person.email.lower(), draft.needs()
    if needs.escalated and me in needs.approvers:
        return f"nobody but {draft.requester_name} could approve it, so you, their manager, do"
    if me in draft.escalated_to:
        return "it waited too long for a decision and was escalated to you"
    named = [p for p, group in zip(needs.approvers, needs.eligible, strict=True) if me in group]
    return f"you are one of its approvers ({', '.join(named) or 'named in its rule'})"
