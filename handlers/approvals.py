"""The approval card's buttons (Approve, Edit, Reject), its modals, and the owners' Retry.

Each listener acks, asks app/approvals/service.py to decide, and shows the result: the card is
updated in place, the requester is told, and a click that changes nothing (not an
approver, the requester themselves, too late) gets an ephemeral explanation. Edit and
Reject ask app/approvals/deciders.py first, so no form opens that could not be saved
(unless finding who clicked outlasts Slack's 3 s for opening it: the form opens, and its
submission is checked); their submissions are acked within Slack's 3 s however slow saving
is (handlers/submissions.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from app.approvals.deciders import refusal
from app.approvals.drafts import DraftView
from app.approvals.service import Decision
from app.delivery.scheduler import deliver_notices
from app.domain import Person
from app.errors import DraftExpired
from app.services import Services
from handlers import traces
from handlers.errors import message_for
from handlers.gateway import slack_of
from handlers.people import person_of
from handlers.submissions import Submission, save_submission
from handlers.views import cards
from handlers.views.blocks import TEXT_INPUT_LIMIT, context, escape

log = structlog.get_logger(__name__)


def register(app: AsyncApp) -> None:
    app.action(cards.APPROVE)(on_approve)
    app.action(cards.EDIT)(on_edit)
    app.action(cards.REJECT)(on_reject)
    app.action(cards.RETRY)(on_retry)
    app.view(cards.EDIT_VIEW)(on_edit_submitted)
    app.view(cards.REJECT_VIEW)(on_reject_submitted)


def _draft_ref(value: str) -> tuple[str, str | None]:
    draft_id, _, seen = value.partition(":")
    return draft_id, seen or None


async def _say(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def _show_latest(services: Services, draft_id: str, error: Exception | None = None) -> None:
    """A late or refused click still leaves the card showing the truth; a click that found
    the draft expired also sends the requester's notice the expiry queued."""
    try:
        if isinstance(error, DraftExpired) and error.just_now:
            await deliver_notices(services, draft_id=draft_id)
        else:
            await services.notifier.refresh_card(await services.approvals.view(draft_id))
    except Exception:
        log.warning("card_refresh_failed", draft=draft_id, exc_info=True)


async def on_approve(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: Services,
) -> None:
    await ack()
    with traces.interaction(body, "approve"):
        await _approve(body, action, respond, services)


async def _approve(
    body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    draft_id, seen = _draft_ref(action["value"])
    try:
        person = await person_of(services, body["user"]["id"])
        decision = await services.approvals.approve(
            draft_id=draft_id, approver=person, seen_hash=seen
        )
    except Exception as exc:
        await _say(respond, message_for(exc))
        await _show_latest(services, draft_id, exc)
        return
    if decision.outcome == "approved":
        await services.notifier.decided(decision.draft)
        await deliver_notices(services, draft_id=draft_id)  # a held answer, posted now
        return
    await services.notifier.refresh_card(decision.draft)
    missing = ", ".join(decision.draft.missing_principals())
    await _say(respond, f"Your approval is recorded. It still needs {missing}.")


async def on_edit(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: Services,
) -> None:
    await ack()
    draft_id, seen = _draft_ref(action["value"])
    try:
        person, draft = await _clicker_and_draft(services, body["user"]["id"], draft_id)
    except Exception as exc:
        await _say(respond, message_for(exc))
        return
    names = services.workspace.directory.name_of
    refused = refusal(draft, person, seen_hash=seen, names=names) if person else None
    problem = refused.user_message if refused else _too_long_to_edit(draft)
    if problem:
        await _say(respond, problem)
        await _show_latest(services, draft_id)
        return
    await client.views_open(trigger_id=body["trigger_id"], view=cards.edit_modal(draft))


async def on_reject(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: Services,
) -> None:
    await ack()
    draft_id, _ = _draft_ref(action["value"])
    try:
        person, draft = await _clicker_and_draft(services, body["user"]["id"], draft_id)
    except Exception as exc:
        await _say(respond, message_for(exc))
        return
    if person and (refused := refusal(draft, person, names=services.workspace.directory.name_of)):
        await _say(respond, refused.user_message)
        await _show_latest(services, draft_id)
        return
    await client.views_open(trigger_id=body["trigger_id"], view=cards.reject_modal(draft))


FORM_CHECK_SECONDS = 1.5
"""How long finding who clicked Edit or Reject may take before its form opens anyway:
Slack's trigger for opening it lasts 3 s, and the form's submission is checked in full."""


async def _clicker_and_draft(
    services: Services, user_id: str, draft_id: str
) -> tuple[Person | None, DraftView]:
    """The draft, and who clicked (None when finding them takes longer than
    `FORM_CHECK_SECONDS`, as when Slack rate-limits the profile look-up: the form opens
    and its submission is refused if they may not decide)."""
    draft = await services.approvals.view(draft_id)
    try:
        async with asyncio.timeout(FORM_CHECK_SECONDS):
            return await person_of(services, user_id), draft
    except TimeoutError:
        log.info("form_opened_before_the_clicker_was_found", draft=draft_id)
        return None, draft


def _too_long_to_edit(draft: DraftView) -> str | None:
    if len(draft.text) > TEXT_INPUT_LIMIT:
        return (
            f"This draft is longer than a Slack text box holds ({TEXT_INPUT_LIMIT} "
            "characters), so it cannot be edited here without cutting it. Reject it with what "
            "to change, and the requester can start it again."
        )
    return None


async def _decided(
    submission: Submission[Decision], services: Services, draft_id: str, block_id: str
) -> Decision | None:
    """The decision a form saved; None when it was refused, which the person is told (in
    the form, or by direct message with the card shown as it now stands)."""
    try:
        return await submission.result()
    except Exception as exc:  # told, so the person knows nothing was saved
        await submission.failed(block_id, exc)
        if submission.late:
            await _show_latest(services, draft_id, exc)
        return None


async def on_edit_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    meta = json.loads(view.get("private_metadata") or "{}")
    text = cards.input_value(view.get("state") or {}, cards.TEXT_BLOCK)

    async def edit() -> Decision:
        person = await person_of(services, body["user"]["id"])
        return await services.approvals.edit(
            draft_id=meta["draft_id"], editor=person, text=text, seen_hash=meta.get("hash")
        )

    submission = await save_submission(ack, body, services, edit(), what="your edit")
    decision = await _decided(submission, services, meta["draft_id"], cards.TEXT_BLOCK)
    if decision is None:
        return
    await submission.saved(f"Your edit of the {decision.draft.title} is saved; its card shows it.")
    await services.notifier.refresh_card(decision.draft)


async def on_reject_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    meta = json.loads(view.get("private_metadata") or "{}")
    reason = cards.input_value(view.get("state") or {}, cards.REASON_BLOCK)

    async def reject() -> Decision:
        person = await person_of(services, body["user"]["id"])
        return await services.approvals.reject(
            draft_id=meta["draft_id"], approver=person, reason=reason
        )

    submission = await save_submission(ack, body, services, reject(), what="your rejection")
    decision = await _decided(submission, services, meta["draft_id"], cards.REASON_BLOCK)
    if decision is None:
        return
    draft = decision.draft
    await submission.saved(
        f"Your rejection of the {draft.title} is saved; {draft.requester_name} is told your reason."
    )
    await services.notifier.decided(draft)


async def on_retry(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: Services,
) -> None:
    await ack()
    try:
        person = await person_of(services, body["user"]["id"])
        with traces.interaction(body, "retry"):
            draft = await services.approvals.retry(
                draft_id=action["value"], owner=person, admins=services.workspace.config.admins
            )
    except Exception as exc:
        await _say(respond, message_for(exc))
        return
    message = body.get("message") or {}
    shown = [b for b in message.get("blocks", []) if b.get("block_id") != "trellis_dead_letter"]
    shown.append(context(f":repeat: Retried by {escape(person.name)}."))
    channel = (body.get("channel") or {}).get("id")
    if channel and message.get("ts"):
        await slack_of(services).update(
            channel=channel, ts=message["ts"], text=message.get("text") or "Retried", blocks=shown
        )
    await services.notifier.refresh_card(draft)
