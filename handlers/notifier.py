"""The Slack side of `app.notifications.Notifier`: cards, decisions, results, owners' notices.

The requester hears back in the thread of the message that started their request (or in
a direct message when that thread cannot be reached); approvers see the card in the
approvals channel, updated in place; the owners get their notices where
app/trust/owners.py sends them, laid out by handlers/views/owners.py.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog
from slack_sdk.errors import SlackApiError

from app.answering.compose import Reply
from app.approvals.drafts import ActionView, DraftState, DraftView
from app.approvals.notices import CARDS
from app.db.repositories.approvals import OutboxRepository
from app.db.repositories.records import AnswerRepository
from app.domain import ActionState, AnswerStatus, Citation
from app.notifications import Delivery, Once
from app.services import Services
from app.slack_api import error_code
from app.slack_once import post_once
from handlers.views import answers, cards, owners
from handlers.views.blocks import batches, clip, escape, link, section
from handlers.waiting import WaitingMessages

if TYPE_CHECKING:
    from app.notifications import OwnersNotice

log = structlog.get_logger(__name__)

CARD_GONE = frozenset({"message_not_found", "thread_not_found", "channel_not_found"})
"""Slack's answers about a card it no longer has: updating it again would never work."""

CARD_LOCKS = 64


class SlackNotifier(WaitingMessages):
    def __init__(self, services: Services) -> None:
        """Takes what it needs from `services` (not `services` itself, whose notifier is
        the one being built)."""
        if services.gateway is None:
            raise ValueError("the Slack notifier needs services with a Slack gateway")
        self.slack = services.gateway
        self.approvals = services.approvals
        self.live = services.live
        self.database = services.database
        # Updates of one card are made one at a time, each from the state just read, so
        # a slower earlier update never overwrites a newer one.
        self._card_locks = [asyncio.Lock() for _ in range(CARD_LOCKS)]

    # The card ---------------------------------------------------------------------------

    async def post_card(self, draft: DraftView) -> tuple[str, str] | None:
        reference = draft.requirement.get("channel") or self.live.workspace.config.owners_channel
        channel = await self.slack.channel_id(reference) if reference else None
        if channel is None:
            log.warning("no_approvals_channel", draft=draft.id, channel=reference)
            return None
        ts = await post_once(  # tried again after a failure Slack may have carried out
            self.slack,
            channel=channel,
            once=Once(f"card:{draft.id}", draft.created_at),
            text=cards.card_text(draft),
            blocks=cards.card_blocks(draft),
        )
        return channel, ts

    async def refresh_card(self, draft: DraftView) -> None:
        channel, ts = draft.card_channel, draft.card_ts  # where the card is, once posted
        if not (channel and ts):
            return
        async with self._card_locks[hash(draft.id) % CARD_LOCKS]:
            draft = await self.approvals.view(draft.id)
            text, blocks = cards.card_text(draft), cards.card_blocks(draft)
            try:
                await self.slack.update(channel=channel, ts=ts, text=text, blocks=blocks)
            except SlackApiError as error:
                if error_code(error) not in CARD_GONE:
                    raise
                log.warning("approval_card_gone", draft=draft.id, error=error_code(error))
                await self.approvals.card_gone(draft_id=draft.id, channel=channel, ts=ts)
            # The copies sent by direct message show it too, so none is decided twice.
            for where, at in await self._direct_cards(draft.id):
                try:
                    await self.slack.update(channel=where, ts=at, text=text, blocks=blocks)
                except SlackApiError:  # its buttons still refuse a decided draft
                    log.warning("direct_card_not_refreshed", draft=draft.id, exc_info=True)

    async def _direct_cards(self, draft_id: str) -> list[tuple[str, str]]:
        """(channel, ts) of each card sent to a person directly (app/delivery/notices.py)."""
        async with self.database.session() as session:
            rows = await OutboxRepository(session).for_draft(draft_id)
        places = [r.reference.split(" ") for r in rows if r.connector in CARDS and r.reference]
        return [(p[0], p[1]) for p in places if len(p) == 2]

    async def check_card(self, draft: DraftView) -> None:
        """Forget the card of a waiting draft when Slack no longer has it (deleted, or a
        sandbox started afresh), so that the sweep posts it again."""
        channel, ts = draft.card_channel, draft.card_ts
        if not (channel and ts):
            return
        try:
            await self.slack.replies(channel, ts, since=ts)
        except SlackApiError as error:
            if error_code(error) not in CARD_GONE:
                raise
            log.warning("approval_card_gone", draft=draft.id, error=error_code(error))
            await self.approvals.card_gone(draft_id=draft.id, channel=channel, ts=ts)

    # The requester ----------------------------------------------------------------------

    async def decided(self, draft: DraftView) -> None:
        await self.refresh_card(draft)
        who = escape(draft.decided_by_name or "A reviewer")
        if draft.state == DraftState.REJECTED:
            what = "the answer" if draft.kind == "answer" else f"your {escape(draft.title)}"
            await self.tell_requester(
                draft, f"{who} did not approve {what}. *Reason:* {escape(draft.reason or '')}"
            )
        elif draft.state == DraftState.EXPIRED:
            await self.tell_requester(
                draft,
                f"Your {escape(draft.title)} expired: nobody "
                "decided in time, so nothing was done. Start it "
                "again if it is still needed.",
            )
        elif draft.kind == "answer":
            return  # approved: the outbox posts the answer itself (post_answer)
        elif draft.mode == "draft_only" and draft.state == DraftState.DONE:
            # The draft rests on documents the requester may see: it goes to them alone.
            await self.tell_requester(
                draft,
                f"{who} approved your {escape(draft.title)}. The approved text:",
                privately=True,
                quoting=draft.text,
            )
        elif draft.state in (DraftState.APPROVED, DraftState.EXECUTING, DraftState.DONE):
            doing = "; ".join(escape(a.description) for a in draft.outbox)
            rest = f" Trellis will now {doing}." if doing else ""
            await self.tell_requester(draft, f"{who} approved your {escape(draft.title)}.{rest}")

    async def action_finished(self, draft: DraftView, action: ActionView) -> None:
        await self.refresh_card(draft)
        if action.state == ActionState.DONE:
            result = escape(action.summary or action.reference or "done")
            shown = link(action.url, result) if action.url else result
            await self.tell_requester(draft, f":white_check_mark: Done: {shown}")
            return
        await self.tell_requester(
            draft,
            f":rotating_light: Trellis could not {escape(action.description)}: "
            f"{escape(action.last_error or 'unknown error')} The Trellis owners "
            "were told and can retry it; nothing more happens until they do.",
        )

    async def tell_requester(
        self, draft: DraftView, text: str, *, privately: bool = False, quoting: str | None = None
    ) -> None:
        """`text`, then `quoting` whole, quoted, in as many sections as it needs, and in
        as many messages as Slack needs for them (each takes 50 blocks and about 13,000
        characters)."""
        mention = f"<@{draft.requester_slack_id}> " if draft.requester_slack_id else ""
        message = mention + text
        shown = (
            cards.text_sections(message, quoting, most=None)
            if quoting is not None
            else [section(message)]
        )
        first, *more = batches(shown)
        channel: str | None = None
        thread_ts: str | None = None
        if draft.channel_id and draft.thread_ts and not privately:
            try:
                await self.slack.post(
                    channel=draft.channel_id, thread_ts=draft.thread_ts, text=message, blocks=first
                )
                channel, thread_ts = draft.channel_id, draft.thread_ts
            except SlackApiError:
                log.warning("requester_thread_unreachable", draft=draft.id, exc_info=True)
        if channel is None:
            if not draft.requester_slack_id:
                return
            channel = await self.slack.open_dm(draft.requester_slack_id)
            await self.slack.post(channel=channel, text=message, blocks=first)
        for part, blocks in enumerate(more, start=2):
            continued = f"{clip(text, 200)} (part {part} of {len(more) + 1})"
            await self.slack.post(
                channel=channel, thread_ts=thread_ts, text=continued, blocks=blocks
            )

    async def post_answer(self, draft: DraftView) -> str | None:
        reply = Reply(
            AnswerStatus.ANSWERED,
            draft.text,
            tuple(
                Citation(
                    doc_id=c.get("doc_id", ""),
                    title=c.get("title", ""),
                    quote=c.get("quote", ""),
                    url=c.get("url"),
                )
                for c in draft.citations
            ),
            draft.confidence,
            notes=(f"Sources: none. {answers.edited_out(draft.edited_by)}",)
            if draft.sources_edited_out
            else (),
            scope_label=str(draft.inputs.get("scope", "")),
            answer_id=draft.answer_id,
        )
        shown = answers.answer_blocks(reply, checked_by=draft.decided_by_name)
        text = answers.answer_text(reply)
        if draft.private and draft.requester_slack_id and draft.channel_id:
            await self.slack.post_private(
                channel=draft.channel_id,
                user=draft.requester_slack_id,
                thread_ts=draft.thread_ts,
                text=text,
                blocks=shown,
            )
            return None
        if not draft.channel_id:
            return None
        ts = await post_once(  # the outbox tries again after a failure
            self.slack,
            channel=draft.channel_id,
            once=Once(f"answer:{draft.id}", draft.created_at),
            thread_ts=draft.thread_ts,
            text=text,
            blocks=shown,
        )
        if draft.answer_id is not None:
            async with self.database.session() as session:
                await AnswerRepository(session).set_message(
                    draft.answer_id, message_ts=ts, thread_ts=draft.thread_ts
                )
        return ts

    # The owners -------------------------------------------------------------------------

    async def tell_owners(self, delivery: Delivery, notice: OwnersNotice) -> tuple[str, str]:
        channel = (
            await self.slack.open_dm(delivery.channel) if delivery.direct else delivery.channel
        )
        names = self.live.workspace.directory.name_of  # owners are routed by principal
        if delivery.full:
            text, blocks = owners.notice(notice, names)
            if delivery.mentions:
                blocks = [section(" ".join(f"<@{m}>" for m in delivery.mentions)), *blocks]
        else:
            text = escape(owners.pointer(notice, names))
            blocks = [section(text)]
        return channel, await self.slack.post(channel=channel, text=text, blocks=blocks)
