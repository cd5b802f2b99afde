"""When a Slack Web API call is tried again, with slack_sdk's own retry handlers.

- Rate limited (HTTP 429): every call, after the Retry-After Slack asks for; Slack did
  nothing with the refused call.
- Slack failing on its side (an HTTP 5xx, or `fatal_error`, `internal_error`,
  `service_unavailable`, `request_timeout`): only the calls that are safe to repeat, the
  reads and the writes that leave the same result when made twice (chat.update,
  chat.stopStream, the status line…). A post is not repeated: "it's possible some aspect of
  the operation succeeded", and a second post would show the answer twice.
- The connection failing: every call when it could not even be opened; the calls safe to
  repeat when it dropped while Slack may have been carrying the call out.

What still fails is Slack out of reach for the caller (`passing`), reported as
`SlackUnavailable` by app/slack_api.py.
"""

from __future__ import annotations

from aiohttp import ClientConnectorError
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

PASSING_ERRORS = frozenset(
    {"fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)
"""Errors Slack documents as its own, passing trouble."""
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})

READS = ("auth.test", "bots.info", "team.info", "users.")
READ_CONVERSATIONS = frozenset(
    {
        "conversations.history",
        "conversations.info",
        "conversations.list",
        "conversations.members",
        "conversations.replies",
    }
)
SAME_WHEN_REPEATED = frozenset(
    {
        "assistant.threads.setStatus",
        "assistant.threads.setSuggestedPrompts",
        "assistant.threads.setTitle",
        "chat.stopStream",
        "chat.update",
        "conversations.open",
        "views.publish",
        "views.update",
    }
)
"""Writes whose second call changes nothing the first did not (a second chat.stopStream is
refused with message_not_in_streaming_state, which the stream's end expects)."""


def method_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def safe_to_repeat(method: str) -> bool:
    """Whether a call of `method` may be made again when Slack may have carried it out."""
    return method.startswith(READS) or method in READ_CONVERSATIONS or method in SAME_WHEN_REPEATED


def passing(error: SlackApiError) -> bool:
    """Whether a call failed because Slack was out of reach or busy, not because of what
    it asked: rate limited still after the retries, or Slack failing on its side."""
    data = error.response.data
    code = data.get("error") if isinstance(data, dict) else None
    status = error.response.status_code
    return status == 429 or status >= 500 or code in RATE_LIMITED | PASSING_ERRORS


class ServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """slack_sdk's retries of Slack's server errors, for the calls safe to repeat: any
    HTTP 5xx, and the errors Slack documents as passing, which may come with HTTP 200."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or not safe_to_repeat(method_of(request.url)):
            return False
        code = (response.body or {}).get("error")
        return response.status_code >= 500 or code in PASSING_ERRORS


class ConnectionErrorRetryHandler(AsyncConnectionErrorRetryHandler):
    """slack_sdk's retries of a failed connection: any call that never reached Slack, and
    the calls safe to repeat when the connection dropped after it was sent."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not isinstance(error, ClientConnectorError) and not safe_to_repeat(
            method_of(request.url)
        ):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]
