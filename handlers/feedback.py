"""Buttons and modals of the trust loop: Helpful / Not helpful, "Say what's wrong", and the
owners' Accept correction / Update source / Dismiss."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from app.domain import FlagStatus, Person
from app.errors import TrellisError
from app.notifications import FlagRaised, SourceUpdateAsked
from app.services import Services
from app.trust import feedback, flag_review, owners
from handlers.errors import message_for
from handlers.gateway import slack_of
from handlers.people import person_of
from handlers.submissions import save_submission
from handlers.views import assistant as assistant_views
from handlers.views import flags
from handlers.views.answers import FEEDBACK_DOWN, FEEDBACK_UP
from handlers.views.blocks import Block, notice_blocks

log = structlog.get_logger(__name__)


def register(app: AsyncApp) -> None:
    app.action(FEEDBACK_UP)(on_feedback)
    app.action(FEEDBACK_DOWN)(on_feedback)
    app.action(assistant_views.FEEDBACK)(on_feedback_buttons)
    app.action(flags.EXPLAIN)(on_explain)
    app.view(flags.NOTE_VIEW)(on_note)
    app.action(flags.ACCEPT)(on_accept)
    app.view(flags.CORRECTION_VIEW)(on_correction)
    app.action(flags.DISMISS)(on_decision)
    app.action(flags.UPDATE_SOURCE)(on_decision)


async def _say(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


# --- Helpful / Not helpful -------------------------------------------------------------


async def on_feedback(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: Services,
) -> None:
    await ack()
    await _record(
        body,
        respond,
        services,
        answer_id=action["value"],
        helpful=action["action_id"] == FEEDBACK_UP,
    )


async def on_feedback_buttons(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: Services,
) -> None:
    """Slack's feedback buttons element: the same as Helpful / Not helpful."""
    await ack()
    answer_id, helpful = assistant_views.feedback_of(str(action.get("value") or ""))
    await _record(body, respond, services, answer_id=answer_id, helpful=helpful)


async def _record(
    body: dict[str, Any],
    respond: AsyncRespond,
    services: Services,
    *,
    answer_id: str,
    helpful: bool,
) -> None:
    try:
        person = await person_of(services, body["user"]["id"])
        recorded = await feedback.record_feedback(
            services, answer_id=answer_id, person=person, helpful=helpful
        )
    except Exception as exc:
        await _say(respond, message_for(exc))
        return
    if recorded.changed or recorded.previous is None:
        services.metrics.observe_feedback(helpful=recorded.helpful)
    verdict = "helpful" if recorded.helpful else "not helpful"
    if recorded.changed:
        text = f"Changed: your feedback on this answer is now “{verdict}”."
    elif recorded.previous is not None:
        text = f"You already marked this answer {verdict}; nothing changed."
    else:
        text = f"Thanks, your feedback (“{verdict}”) is recorded."
    if not recorded.helpful and services.workspace.config.flags.reactions:
        emoji = services.workspace.config.flags.reactions[0]
        text += f" If it is wrong, react with :{emoji}: so the document's owners can correct it."
    await _say(respond, text)


# --- The flagger -----------------------------------------------------------------------


async def send_flag_to_owners(services: Services, case: feedback.FlagCase) -> None:
    posted = await owners.deliver(
        services, owners=case.owners, doc_ids=case.doc_ids, notice=FlagRaised(case)
    )
    await feedback.remember_notices(services, flag_id=case.id, notices=posted)


async def refresh_notices(services: Services, case: feedback.FlagCase) -> None:
    """Show the flag's current state on every notice the owners were sent."""
    slack = slack_of(services)
    names = services.workspace.directory.name_of
    text, blocks = flags.owner_notice(case, names)
    pointer = flags.pointer_notice(case, names)
    for notice in case.notices:
        try:
            if notice.get("full", True):
                await slack.update(
                    channel=notice["channel"], ts=notice["ts"], text=text, blocks=blocks
                )
            else:
                await slack.update(
                    channel=notice["channel"],
                    ts=notice["ts"],
                    text=pointer,
                    blocks=notice_blocks(pointer, emoji=":triangular_flag_on_post:"),
                )
        except Exception:
            log.warning("flag_notice_update_failed", flag=case.id, exc_info=True)


async def tell_flagger(
    services: Services, case: feedback.FlagCase, text: str, blocks: list[Block] | None = None
) -> None:
    if not case.flagger_slack_id:
        return
    blocks = blocks or notice_blocks(text, emoji=":triangular_flag_on_post:")
    slack = slack_of(services)
    try:
        await slack.post_private(
            channel=case.channel_id,
            user=case.flagger_slack_id,
            thread_ts=case.thread_ts,
            text=text,
            blocks=blocks,
        )
    except Exception:  # e.g. they left the channel: a direct message still reaches them
        await slack.post(channel=case.flagger_slack_id, text=text, blocks=blocks)


async def on_explain(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: Services,
) -> None:
    await ack()
    try:
        case = await feedback.get_case(services, action["value"])
        if case.status not in (FlagStatus.OPEN, FlagStatus.WITHDRAWN):
            await _say(
                respond,
                f"This flag was already {feedback.STATUS_WORDS[case.status]} by "
                f"{case.decided_by or 'an owner'}.",
            )
            return
        await client.views_open(trigger_id=body["trigger_id"], view=flags.note_modal(case))
    except Exception as exc:
        await _say(respond, message_for(exc))


async def on_note(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    values = view["state"]["values"]
    correction = (values["correction"]["text"].get("value") or "").strip()
    chosen = (values.get("source", {}).get("doc", {}) or {}).get("selected_option") or {}

    async def explain() -> feedback.FlagCase:
        person = await person_of(services, body["user"]["id"])
        [wrong_source] = await _cited_ids(services, view, [chosen.get("value")])
        return await feedback.explain_flag(
            services,
            flag_id=view["private_metadata"],
            person=person,
            correction=correction,
            wrong_source=wrong_source,
        )

    submission = await save_submission(ack, body, services, explain(), what="your note")
    try:
        case = await submission.result()
    except Exception as exc:
        await submission.failed("correction", exc)
        return
    await submission.saved(
        "Your note is saved: the owners can now see what you said. You'll hear back when "
        "they decide."
    )
    await refresh_notices(services, case)
    if not submission.late:  # told by direct message already
        await tell_flagger(
            services,
            case,
            "Thanks, the owners can now see what you said. You'll hear back here when they decide.",
        )


async def _cited_ids(
    services: Services, view: dict[str, Any], values: list[str | None]
) -> list[str | None]:
    """The document ids the sources menu's chosen `values` stand for (an id too long for a
    Slack option value is read back from the flag's citations)."""
    if not any(v and v.startswith(flags.LONG_ID) for v in values):
        return values
    case = await feedback.get_case(services, view["private_metadata"])
    return [flags.source_id(v, case) if v else v for v in values]


# --- The owners ------------------------------------------------------------------------


async def on_accept(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: Services,
) -> None:
    await ack()
    try:
        person = await person_of(services, body["user"]["id"])
        case = await feedback.get_case(services, action["value"])
        flag_review.check_may_decide(services, case, person)
        if case.status != FlagStatus.OPEN:
            await _say(respond, _already(case))
            return
        await client.views_open(trigger_id=body["trigger_id"], view=flags.correction_modal(case))
    except Exception as exc:
        await _say(respond, message_for(exc))


async def on_correction(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    values = view["state"]["values"]
    text = values["answer"]["text"].get("value") or ""
    chosen = (values.get("sources", {}).get("docs", {}) or {}).get("selected_options") or []
    extra = values.get("extra", {}).get("ids", {}).get("value") or ""
    typed = [d for d in extra.replace(" ", ",").split(",") if d]

    async def accept() -> tuple[Person, feedback.FlagCase]:
        person = await person_of(services, body["user"]["id"])
        doc_ids = [d for d in await _cited_ids(services, view, [o["value"] for o in chosen]) if d]
        doc_ids += typed
        case, _ = await flag_review.accept_correction(
            services, flag_id=view["private_metadata"], person=person, text=text, doc_ids=doc_ids
        )
        return person, case

    submission = await save_submission(ack, body, services, accept(), what="your correction")
    try:
        person, case = await submission.result()
    except Exception as exc:
        about_sources = isinstance(exc, TrellisError) and "source" in exc.user_message
        await submission.failed("extra" if about_sources else "answer", exc)
        return
    question = case.question[:150]
    await submission.saved(f"Your correction is saved: Trellis now answers “{question}” with it.")
    services.metrics.observe_flag(event="accepted")
    await refresh_notices(services, case)
    await tell_flagger(
        services,
        case,
        f"{person.name} accepted your correction. Trellis now answers "
        f"“{question}” with the corrected answer.",
    )


async def on_decision(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: Services,
) -> None:
    await ack()
    verdict = "dismiss" if action["action_id"] == flags.DISMISS else "update_source"
    try:
        person = await person_of(services, body["user"]["id"])
        case = await flag_review.decide_flag(
            services, flag_id=action["value"], person=person, verdict=verdict
        )
    except Exception as exc:
        await _say(respond, message_for(exc))
        return
    services.metrics.observe_flag(event="dismissed" if verdict == "dismiss" else "source_update")
    await refresh_notices(services, case)
    if verdict == "dismiss":
        await tell_flagger(
            services,
            case,
            f"{person.name} reviewed your flag and kept the answer "
            "as it is. Ask them if you think it is still wrong.",
        )
        return
    posted = await ask_for_source_update(services, case, person)
    if not case.owners:
        await _say(respond, flags.no_owner_for_decider(case))
    in_channel = await owners.owners_channel(services) in {p["channel"] for p in posted}
    told = {p.get("person") for p in posted} - {person.email}  # whoever decided knows
    admins = owners.owner_people(services, services.workspace.config.admins)
    await tell_flagger(
        services,
        case,
        flags.source_update_asked(
            case,
            asked_by=person.name,
            names=services.workspace.directory.name_of,
            admins_told=tuple(a.name for a in admins if a.email in told and not case.owners),
            channel_told=in_channel,
        ),
    )


async def ask_for_source_update(
    services: Services, case: feedback.FlagCase, person: Person
) -> list[dict[str, Any]]:
    """Ask the documents' owners (none: the owners channel, else the admins, as
    app/trust/owners.py routes it); what was posted, and where."""
    return await owners.deliver(
        services,
        owners=flag_review.source_owners(case),
        doc_ids=case.doc_ids,
        notice=SourceUpdateAsked(case, asked_by=person.name, admins=admin_names(services)),
    )


def admin_names(services: Services) -> tuple[str, ...]:
    """The Trellis admins by name, their groups expanded to the people in them."""
    return tuple(p.name for p in owners.owner_people(services, services.workspace.config.admins))


def _already(case: feedback.FlagCase) -> str:
    if case.status == FlagStatus.WITHDRAWN:
        return f"{case.flagger_name} withdrew this flag."
    return f"This flag was already {feedback.STATUS_WORDS[case.status]} by {case.decided_by or 'an owner'}."
