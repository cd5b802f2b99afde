"""The last line of defence: an unexpected error gets a reference id in the log."""

from __future__ import annotations

import uuid

import structlog

log = structlog.get_logger(__name__)


async def report_unexpected(error: Exception, body: dict) -> None:
    reference = uuid.uuid4().hex[:8]
    log.error("listener_failed", reference=reference, error=repr(error),
              type=body.get("type"), exc_info=error)
