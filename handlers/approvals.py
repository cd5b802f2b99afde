"""The approval card's buttons (Approve, Edit, Reject), its modals, and the owners' Retry.

Each listener acks, asks app/approvals/service.py to decide, and shows the result: the card is
updated in place, the requester is told, and a click that changes nothing (not an
approver, the requester themselves, too late) gets an ephemeral explanation.
"""

from __future__ import annotations

import dataclasses
import json
import uuid

import structlog

from app.approvals.drafts import DraftState
from app.approvals.service import DraftExpired
from app.domain import Person
from app.errors import TrellisError
from app.services import Services
from handlers import blocks, cards
from handlers.asking import failure_text

log = structlog.get_logger(__name__)


def register(app) -> None:
    app.action(cards.APPROVE)(on_approve)
    app.action(cards.EDIT)(on_edit)
    app.action(cards.REJECT)(on_reject)
    app.action(cards.RETRY)(on_retry)
    app.view(cards.EDIT_VIEW)(on_edit_submitted)
    app.view(cards.REJECT_VIEW)(on_reject_submitted)


async def person_of(services: Services, user_id: str) -> Person:
    person = await services.identity.resolve(user_id)
    return dataclasses.replace(person, slack_id=user_id)


def _draft_ref(value: str) -> tuple[str, str | None]:
    draft_id, _, seen = value.partition(":")
    return draft_id, seen or None


def explain(exc: Exception) -> str:
    """What the person is told. A refusal (not theirs to decide, too late) is an answer,
    not a failure; anything unexpected gets a reference id in the log."""
    if isinstance(exc, TrellisError):
        log.info("approval_click_refused", reason=exc.user_message)
        return exc.user_message
    return failure_text(exc)


async def _say(respond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def _show_latest(services: Services, draft_id: str, refusal: Exception | None = None) -> None:
    """A late or refused click still leaves the card showing the truth; a click that found
    the draft expired also tells the requester."""
    try:
        view = await services.approvals.view(draft_id)
        if isinstance(refusal, DraftExpired) and refusal.just_now:
            await services.notifier.decided(view)
        else:
            await services.notifier.refresh_card(view)
    except Exception:
        log.warning("card_refresh_failed", draft=draft_id, exc_info=True)


async def on_approve(ack, body: dict, action: dict, respond, services: Services) -> None:
    await ack()
    draft_id, seen = _draft_ref(action["value"])
    try:
        person = await person_of(services, body["user"]["id"])
        decision = await services.approvals.approve(
            draft_id=draft_id, approver=person, seen_hash=seen
        )
    except Exception as exc:
        await _say(respond, explain(exc))
        await _show_latest(services, draft_id, exc)
        return
    if decision.outcome == "approved":
        await services.notifier.decided(decision.draft)
        return
    await services.notifier.refresh_card(decision.draft)
    missing = ", ".join(decision.draft.missing_principals())
    await _say(respond, f"Your approval is recorded. It still needs {missing}.")


async def on_edit(ack, body: dict, action: dict, respond, client, services: Services) -> None:
    await ack()
    draft_id, seen = _draft_ref(action["value"])
    try:
        person = await person_of(services, body["user"]["id"])
        draft = await services.approvals.view(draft_id)
    except Exception as exc:
        await _say(respond, explain(exc))
        return
    refusal = _refusal(services, draft, person, seen) or _too_long_to_edit(draft)
    if refusal:
        await _say(respond, refusal)
        await _show_latest(services, draft_id)
        return
    await client.views_open(trigger_id=body["trigger_id"], view=cards.edit_modal(draft))


async def on_reject(ack, body: dict, action: dict, respond, client, services: Services) -> None:
    await ack()
    draft_id, _ = _draft_ref(action["value"])
    try:
        person = await person_of(services, body["user"]["id"])
        draft = await services.approvals.view(draft_id)
    except Exception as exc:
        await _say(respond, explain(exc))
        return
    refusal = _refusal(services, draft, person, None)
    if refusal:
        await _say(respond, refusal)
        await _show_latest(services, draft_id)
        return
    await client.views_open(trigger_id=body["trigger_id"], view=cards.reject_modal(draft))


def _refusal(services: Services, draft, person: Person, seen: str | None) -> str | None:
    if draft.state != DraftState.PENDING:
        who = draft.decided_by_name or "someone"
        if draft.state == DraftState.EXPIRED:
            return "This request expired and can no longer be decided."
        verb = "rejected" if draft.state == DraftState.REJECTED else "approved"
        return f"{who} already {verb} this."
    if seen and not draft.text_hash.startswith(seen):
        return "The draft changed since this card was shown. Read the updated card first."
    return services.approvals.may_decide(draft, person)


def _too_long_to_edit(draft) -> str | None:
    if len(draft.text) > cards.TEXT_INPUT_LIMIT:
        return (
            f"This draft is longer than a Slack text box holds ({cards.TEXT_INPUT_LIMIT} "
            "characters), so it cannot be edited here without cutting it. Reject it with what "
            "to change, and the requester can start it again."
        )
    return None


async def on_edit_submitted(ack, body: dict, view: dict, services: Services) -> None:
    meta = json.loads(view.get("private_metadata") or "{}")
    text = cards.input_value(view.get("state") or {}, cards.TEXT_BLOCK)
    try:
        person = await person_of(services, body["user"]["id"])
        decision = await services.approvals.edit(
            draft_id=meta["draft_id"], editor=person, text=text, seen_hash=meta.get("hash")
        )
    except TrellisError as exc:
        await ack(response_action="errors", errors={cards.TEXT_BLOCK: exc.user_message[:150]})
        return
    except Exception as exc:  # told in the form, so the person knows nothing was saved
        await ack(response_action="errors", errors={cards.TEXT_BLOCK: _unexpected(exc, body)})
        return
    await ack()
    await services.notifier.refresh_card(decision.draft)


async def on_reject_submitted(ack, body: dict, view: dict, services: Services) -> None:
    meta = json.loads(view.get("private_metadata") or "{}")
    reason = cards.input_value(view.get("state") or {}, cards.REASON_BLOCK)
    try:
        person = await person_of(services, body["user"]["id"])
        decision = await services.approvals.reject(
            draft_id=meta["draft_id"], approver=person, reason=reason
        )
    except TrellisError as exc:
        await ack(response_action="errors", errors={cards.REASON_BLOCK: exc.user_message[:150]})
        return
    except Exception as exc:  # told in the form, so the person knows nothing was saved
        await ack(response_action="errors", errors={cards.REASON_BLOCK: _unexpected(exc, body)})
        return
    await ack()
    await services.notifier.decided(decision.draft)


def _unexpected(error: Exception, body: dict) -> str:
    """Logs an unexpected failure with a reference, and the words for the form."""
    reference = uuid.uuid4().hex[:8]
    log.error("form_failed", reference=reference, error=repr(error),
              type=body.get("type"), exc_info=error)
    return (f"Something went wrong on Trellis's side and nothing was saved. Please try again "
            f"(reference {reference}).")


async def on_retry(ack, body: dict, action: dict, respond, services: Services) -> None:
    await ack()
    try:
        person = await person_of(services, body["user"]["id"])
        draft = await services.approvals.retry(
            draft_id=action["value"], owner=person, admins=services.workspace.config.admins
        )
    except Exception as exc:
        await _say(respond, explain(exc))
        return
    message = body.get("message") or {}
    shown = [b for b in message.get("blocks", []) if b.get("block_id") != "trellis_dead_letter"]
    shown.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f":repeat: Retried by {blocks.escape(person.name)}."}
            ],
        }
    )
    channel = (body.get("channel") or {}).get("id")
    if channel and message.get("ts"):
        await services.slack.update(
            channel=channel, ts=message["ts"], text=message.get("text") or "Retried", blocks=shown
        )
    await services.notifier.refresh_card(draft)
