"""A modal's submission, acknowledged within Slack's 3 s however long saving it takes.

Slack wants the ack of a `view_submission` within 3 s; later, the person sees an error in
the modal even though what they submitted may still be saved. Saving can take longer:
SQLite's write lock held by a burst of answers, the database briefly away, Slack slow to
say who is submitting. So the listener starts the save and waits for it for
`SAVE_WITHIN_SECONDS`:

- saved in time: the ack carries the outcome. A refusal is shown in the form, under the
  input it concerns (`response_action: errors`, keyed by the input's block_id), and the
  form stays open to be corrected; a saved submission closes the modal.
- still saving: the modal is replaced at once by a note that it is being saved
  (`response_action: update`); the save goes on to its end, never cut short nor started
  again, and the person is told how it went by direct message, which they see whether or
  not the modal is still open.

    submission = await save_submission(ack, body, services, edit(), what="your edit")
    try:
        decision = await submission.result()
    except Exception as error:
        await submission.failed(cards.TEXT_BLOCK, error)
        return
    await submission.saved("Your edit is saved: the card shows the new text.")
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, Generic, TypeVar

import structlog
from slack_bolt.async_app import AsyncAck

from app.services import Services
from handlers.errors import NOT_SAVED, message_for
from handlers.gateway import slack_of
from handlers.views.blocks import View, escape, notice_blocks, section

log = structlog.get_logger(__name__)

T = TypeVar("T")

SAVE_WITHIN_SECONDS = 2.0
"""How long a submission's ack waits for it to be saved: Slack wants the ack within 3 s."""
ERROR_LIMIT = 150
"""The characters of an error shown under a form's input."""


class Submission(Generic[T]):
    """One submitted modal and its save; `late` once the modal was acked before the save
    ended (the person then hears the outcome by direct message)."""

    def __init__(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        services: Services,
        saving: asyncio.Future[T],
        *,
        what: str,
    ) -> None:
        self.ack, self.body, self.services = ack, body, services
        self.saving = saving
        self.what = what
        self.late = False

    async def result(self) -> T:
        """What the save returned, once it has ended (its error, if it failed)."""
        return await self.saving

    async def saved(self, told: str | None = None) -> None:
        """Close the modal; if it was already acked, tell the person `told`."""
        if not self.late:
            await self.ack()
        elif told:
            await self._tell(told, emoji=":white_check_mark:")

    async def failed(self, block_id: str, error: Exception) -> None:
        """Show why `error` kept the submission from being saved, under the input `block_id`."""
        reason = message_for(error, outcome=NOT_SAVED, type=self.body.get("type"))
        await self.refused({block_id: reason}, reason)

    async def refused(self, errors: Mapping[str, str], reason: str) -> None:
        """Show `errors` (input block_id: message) in the form, which stays open; if it was
        already acked, tell the person `reason` instead."""
        if not self.late:
            shown = {block_id: message[:ERROR_LIMIT] for block_id, message in errors.items()}
            await self.ack(response_action="errors", errors=shown)
            return
        await self._tell(f"{self.what[:1].upper()}{self.what[1:]} did not go through: {reason}")

    async def _tell(self, text: str, *, emoji: str = ":warning:") -> None:
        slack = slack_of(self.services)
        try:
            channel = await slack.open_dm(self.body["user"]["id"])
            await slack.post(channel=channel, text=text, blocks=notice_blocks(text, emoji=emoji))
        except Exception:  # Slack itself is failing: the log is all that is left
            log.warning("submission_outcome_not_told", what=self.what, exc_info=True)


async def save_submission(
    ack: AsyncAck, body: dict[str, Any], services: Services, save: Awaitable[T], *, what: str
) -> Submission[T]:
    """Start `save` and wait for it up to `SAVE_WITHIN_SECONDS`; past that, ack at once with
    a note that `what` ("your edit") is being saved, and let the save go on."""
    submission = Submission(ack, body, services, asyncio.ensure_future(save), what=what)
    await asyncio.wait({submission.saving}, timeout=SAVE_WITHIN_SECONDS)
    if not submission.saving.done():
        submission.late = True
        view = body.get("view") or {}
        log.warning(
            "submission_saved_after_ack", form=view.get("callback_id"), waited_s=SAVE_WITHIN_SECONDS
        )
        await ack(response_action="update", view=still_saving(view, what))
    return submission


def still_saving(submitted: dict[str, Any], what: str) -> View:
    """The note that replaces a modal whose submission is still being saved: no inputs, so
    nothing can be submitted twice."""
    return {
        "type": "modal",
        "title": submitted.get("title") or {"type": "plain_text", "text": "Trellis"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [
            section(
                f":hourglass_flowing_sand: Trellis is still saving {escape(what)}. You can "
                "close this: a direct message will tell you once it is saved, or if it could "
                "not be."
            )
        ],
    }
