"""What a failed downstream call means for its outbox row: try again later, or give up.

A connector's `DownstreamError` says itself whether trying again may help (and how long
to wait); a conflict with the draft's state never gets better; a timeout or anything
unexpected is tried again. The worker (app/delivery/outbox.py) retries with a backoff
until the row's attempts are used up, then dead-letters it with `final_message`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import structlog

from app.errors import ApprovalConflict, DownstreamError, SlackUnavailable

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Failure:
    message: str
    """What the requester and the owners are told."""
    retryable: bool
    retry_after: float | None = None
    detail: str | None = None
    """For the log and the audit trail."""


def failure_of(exc: Exception, *, timeout: float) -> Failure:
    """What `exc`, raised by a connector (or its `timeout`), means for the row."""
    if isinstance(exc, DownstreamError):
        return Failure(
            exc.user_message, exc.retryable, getattr(exc, "retry_after", None), detail=str(exc)
        )
    if isinstance(exc, ApprovalConflict):
        return Failure(exc.user_message, False, detail=str(exc))
    if isinstance(exc, SlackUnavailable):  # a message to people, Slack out of reach
        return Failure("Slack could not be reached; Trellis will try again.", True, detail=str(exc))
    if isinstance(exc, TimeoutError):
        return Failure(
            f"The downstream system did not finish within {timeout:g}s; Trellis will try again.",
            True,
            detail=repr(exc),
        )
    reference = uuid.uuid4().hex[:8]
    log.error("outbox_unexpected_error", reference=reference, exc_info=exc)
    return Failure(
        f"Something unexpected went wrong (reference {reference}); Trellis will try again.",
        True,
        detail=repr(exc),
    )


def final_message(message: str) -> str:
    """A failure message for a dead letter: nothing will be tried again on its own."""
    return (
        re.sub(r"[;,]?\s*Trellis will (check and )?try again\.?\s*$", ".", message).rstrip(". ")
        + "."
    )
