"""The "Don't forward my question" button under a question nobody could answer: its asker
keeps the question from the topic's owners while it still waits to be sent."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from app.services import Services
from app.trust.owners import Withdrawal, withdraw_question
from handlers.errors import message_for
from handlers.people import person_of
from handlers.views.answers import DONT_FORWARD

TOLD = {
    Withdrawal.WITHDRAWN: "Understood: I won't forward it. The topic's owners won't see it.",
    Withdrawal.ALREADY_SENT: (
        "Sorry, it was already passed on to the topic's owners, so I can't take it back."
    ),
    Withdrawal.NOT_FORWARDED: "That question isn't waiting to be forwarded to anyone.",
}


def register(app: AsyncApp) -> None:
    app.action(DONT_FORWARD)(on_dont_forward)


async def on_dont_forward(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: Services,
) -> None:
    await ack()
    try:
        person = await person_of(services, body["user"]["id"])
        withdrawal = await withdraw_question(
            services, answer_id=str(action["value"]), person=person
        )
        text = TOLD[withdrawal]
    except Exception as exc:  # the person is always told
        text = message_for(exc)
    await respond(text=text, response_type="ephemeral", replace_original=False)
