"""The only place in app/ that talks to Slack's Web API.

`SlackGateway` wraps slack_sdk's AsyncWebClient with the few calls the core needs and
turns Slack's answers into plain dataclasses. Rate limits (429 with Retry-After), Slack
failing on its side and dropped connections are retried by slack_sdk's retry handlers where
that is safe (app/slack_retries.py); what still fails that way becomes `SlackUnavailable`.
Every other refusal stays slack_sdk's `SlackApiError`, with Slack's error code.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.errors import SlackUnavailable
from app.slack_people import SlackChannel, SlackUser, channel_from_api, user_from_api
from app.slack_retries import passing, retry_handlers
from app.trust import tracing

OUT_OF_REACH = "Slack could not be reached just now. Please try again in a minute."
REPLIES_PAGE = 15
"""conversations.replies's largest page for apps outside Slack's Marketplace."""
USERS_PAGE = 200
"""users.list's page size as Slack recommends it."""


CONVERSATIONS_KEPT = 10_000
"""Direct and group-DM conversations whose description is kept (the least recently asked
in is forgotten first)."""


USER_NOT_SHOWN = ("user_not_found", "users_not_found", "user_not_visible")
"""users.info's answers for someone Slack will not show this app (a person of another
organization in a shared channel may be hidden): treated as nobody the directory knows, so
an answer in their channel draws only on what outsiders may see."""


def retrying_client(
    token: str,
    *,
    base_url: str | None = None,
    timeout: int = 15,
    session: aiohttp.ClientSession | None = None,
) -> AsyncWebClient:
    """A Web API client whose calls Slack's transient failures retry. Without a `session`
    slack_sdk opens a new connection (a TLS handshake with Slack) for every call, which a
    one-off command can afford; a running app passes one from `kept_alive_session`."""
    kwargs: dict[str, Any] = {"token": token, "timeout": timeout}
    if base_url:
        kwargs["base_url"] = base_url
    return AsyncWebClient(**kwargs, session=session, retry_handlers=retry_handlers())


def kept_alive_session(timeout: int = 15, **options: Any) -> aiohttp.ClientSession:
    """An HTTP session whose connections to Slack stay open between calls (close it when
    done). slack_sdk applies no timeout of its own to a session it is given, so it is set
    here."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout), **options)


class SlackGateway:
    """The Web API calls Trellis makes, over an injected AsyncWebClient."""

    def __init__(self, client: AsyncWebClient, *, team_id: str | None = None) -> None:
        self.client = client
        self.team_id = team_id
        self.enterprise_id: str | None = None
        """The Enterprise Grid organisation the home team belongs to, if any."""
        self.bot_user_id: str | None = None
        self.streaming_refused: str | None = None
        """Why Slack will not stream for this app (an error that does not pass, such as
        unknown_method or missing_scope): answers are then posted and updated instead."""
        self._channel_ids: dict[str, str] = {}
        self._conversations: OrderedDict[str, SlackChannel] = OrderedDict()

    def wrote(self, message: dict[str, Any]) -> bool:
        """Whether this app posted the Slack message `message` (as Slack returns it)."""
        return bool(message.get("bot_id")) and message.get("user") in (None, self.bot_user_id)

    async def set_status(
        self, *, channel_id: str, thread_ts: str, status: str, loading_messages: list[str]
    ) -> None:
        """The status line under a thread (assistant.threads.setStatus); "" clears it."""
        await self._call(
            "assistant_threads_setStatus",
            channel_id=channel_id,
            thread_ts=thread_ts,
            status=status,
            loading_messages=loading_messages or None,
        )

    # A streamed message: its text goes in the documented `markdown_text`, at most 12,000
    # characters a call (handlers/answer_stream.py cuts longer text).

    async def start_stream(
        self,
        *,
        channel: str,
        thread_ts: str,
        markdown_text: str,
        recipient_user_id: str,
        recipient_team_id: str | None,
    ) -> str:
        """Start a streamed reply in the thread `thread_ts` with its first text
        (chat.startStream); the new message's ts."""
        response = await self._call(
            "chat_startStream",
            channel=channel,
            thread_ts=thread_ts,
            markdown_text=markdown_text,
            recipient_user_id=recipient_user_id,
            recipient_team_id=recipient_team_id,
        )
        ts: str = response["ts"]
        return ts

    async def append_stream(self, *, channel: str, ts: str, markdown_text: str) -> None:
        """Add `markdown_text` to the text the message `ts` streams (chat.appendStream)."""
        await self._call("chat_appendStream", channel=channel, ts=ts, markdown_text=markdown_text)

    async def stop_stream(
        self,
        *,
        channel: str,
        ts: str,
        markdown_text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Stop the stream of the message `ts` (chat.stopStream), with the last of its text
        and the blocks shown below it."""
        await self._call(
            "chat_stopStream", channel=channel, ts=ts, markdown_text=markdown_text, blocks=blocks
        )

    async def connect(self) -> None:
        """Learn who the bot is, which team is home and the organisation it is in
        (`auth.test`)."""
        response = await self._call("auth_test")
        self.bot_user_id = response.get("user_id")
        self.team_id = self.team_id or response.get("team_id")
        self.enterprise_id = response.get("enterprise_id") or None

    async def _call(self, method: str, **kwargs: Any) -> Any:
        with tracing.slack_call(method) as span:
            try:
                return await getattr(self.client, method)(**kwargs)
            except SlackApiError as exc:
                code = error_code(exc)
                tracing.attributes(span, {"slack.error": code})
                if passing(exc):
                    status = exc.response.status_code
                    raise SlackUnavailable(
                        OUT_OF_REACH, detail=f"{method}: HTTP {status} {code}".rstrip()
                    ) from exc
                raise
            except Exception as exc:  # network failures after slack_sdk's own retries
                raise SlackUnavailable(OUT_OF_REACH, detail=f"{method}: {exc!r}") from exc

    # Directory -------------------------------------------------------------------

    async def user(self, user_id: str) -> SlackUser | None:
        try:
            response = await self._call("users_info", user=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") in USER_NOT_SHOWN:
                return None
            raise
        return user_from_api(
            response["user"], home_team=self.team_id, home_enterprise=self.enterprise_id
        )

    async def channel(self, channel_id: str) -> SlackChannel:
        """The conversation `channel_id` as Slack describes it now. A direct message or a
        group DM is looked up once: who is in it and whether it is shared never change
        (adding someone to a group DM makes a new conversation). A channel is looked up every
        time, since it may be renamed, made private or shared, which review rules read;
        conversations.info is Tier 3 (50+ a minute), so a burst of direct questions would
        otherwise wait on Slack's rate limit."""
        if known := self._conversations.get(channel_id):
            self._conversations.move_to_end(channel_id)
            return known
        response = await self._call("conversations_info", channel=channel_id)
        found = channel_from_api(response["channel"])
        if found.is_im or found.is_group_dm:
            self._conversations[channel_id] = found
            if len(self._conversations) > CONVERSATIONS_KEPT:
                self._conversations.popitem(last=False)
        return found

    async def members(self, channel_id: str) -> list[str]:
        pages = self._pages("conversations_members", channel=channel_id, limit=200)
        return [member async for page in pages for member in page.get("members", [])]

    async def users(self) -> AsyncIterator[list[SlackUser]]:
        """The workspace's own users, 200 to a page (users.list): one call for as many
        profiles as 200 calls of users.info, and rate-limited less per profile."""
        async for page in self._pages("users_list", limit=USERS_PAGE):
            yield [
                user_from_api(u, home_team=self.team_id, home_enterprise=self.enterprise_id)
                for u in page.get("members", [])
            ]

    async def user_id_by_email(self, email: str) -> str | None:
        """The Slack user id of an email in this workspace, or None."""
        try:
            response = await self._call("users_lookupByEmail", email=email)
        except SlackApiError as exc:
            if exc.response.get("error") in ("users_not_found", "user_not_found"):
                return None
            raise
        user_id: str = response["user"]["id"]
        return user_id

    async def channel_id(self, reference: str) -> str | None:
        """A channel id for "C0123", "#name" or "name"; None when the bot cannot see it."""
        if reference in self._channel_ids:
            return self._channel_ids[reference]
        found: str | None = None
        if not reference.startswith("#") and reference[:1] in "CGD" and reference.isupper():
            found = reference
        else:
            found = await self._channel_by_name(reference.lstrip("#"))
        if found:
            self._channel_ids[reference] = found
        return found

    async def _channel_by_name(self, name: str) -> str | None:
        """None only when Slack answered that no such channel is visible: Slack out of
        reach is `SlackUnavailable`, not a missing channel."""
        pages = self._pages(
            "conversations_list",
            types="public_channel,private_channel",
            limit=200,
            exclude_archived=True,
        )
        try:
            async with aclosing(pages):  # closed at once when the channel is found
                async for page in pages:
                    for channel in page.get("channels", []):
                        if channel.get("name") == name:
                            found: str = channel["id"]
                            return found
        except SlackApiError:  # refused (missing_scope…): no channel it can find
            return None
        return None

    async def _pages(self, method: str, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """Every page of a method Slack pages with a cursor, one answer at a time."""
        cursor = None
        while True:
            response = await self._call(method, **kwargs, **({"cursor": cursor} if cursor else {}))
            yield response
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    async def open_dm(self, user_id: str) -> str:
        """The id of the bot's direct message with a person (opened when needed)."""
        response = await self._call("conversations_open", users=user_id)
        channel_id: str = response["channel"]["id"]
        return channel_id

    async def replies(
        self, channel_id: str, thread_ts: str, *, since: str, metadata: bool = False
    ) -> list[dict[str, Any]]:
        """The messages of the thread `thread_ts` from the message `since` on (`metadata`:
        with theirs), every page (Slack gives apps outside its Marketplace 15 a page)."""
        messages: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self._call(
                "conversations_replies",
                channel=channel_id,
                ts=thread_ts,
                oldest=since,
                inclusive=True,
                limit=REPLIES_PAGE,
                cursor=cursor,
                include_all_metadata=metadata or None,
            )
            messages.extend(page.get("messages") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if cursor:
                continue
            if page.get("has_more"):  # more, and no way to read it: not known to be absent
                raise SlackUnavailable(OUT_OF_REACH, detail="replies: has_more, no cursor")
            return messages

    async def history(
        self,
        channel_id: str,
        *,
        cursor: str | None = None,
        limit: int = 200,
        oldest: str | None = None,
        metadata: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a channel's messages (from `oldest` on), newest first, and the cursor
        of the next; with `metadata`, the messages' metadata too."""
        response = await self._call(
            "conversations_history",
            channel=channel_id,
            cursor=cursor,
            limit=limit,
            oldest=oldest,
            include_all_metadata=metadata or None,
        )
        following = (response.get("response_metadata") or {}).get("next_cursor") or None
        return list(response.get("messages", [])), following

    # Messages --------------------------------------------------------------------

    async def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        response = await self._call(
            "chat_postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
        )
        ts: str = response["ts"]
        return ts

    async def update(
        self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        await self._call("chat_update", channel=channel, ts=ts, text=text, blocks=blocks)

    async def delete(self, *, channel: str, ts: str) -> None:
        await self._call("chat_delete", channel=channel, ts=ts)

    async def post_private(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> None:
        await self._call(
            "chat_postEphemeral",
            channel=channel,
            user=user,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
        )

    async def upload(
        self,
        *,
        channel: str,
        filename: str,
        content: bytes,
        title: str,
        thread_ts: str | None = None,
    ) -> str | None:
        """Share a file in a channel, or in a thread of it (files_upload_v2); its file id."""
        response = await self._call(
            "files_upload_v2",
            channel=channel,
            filename=filename,
            content=content,
            title=title,
            thread_ts=thread_ts,
        )
        file_id: str | None = (response.get("file") or {}).get("id")
        return file_id


def error_code(error: BaseException) -> str:
    """The error Slack answered a failed call with; "" when it gave none (out of reach,
    or failing on its side with an HTTP error page)."""
    cause = error.__cause__ if isinstance(error, SlackUnavailable) else error
    if isinstance(cause, SlackApiError) and isinstance(cause.response.data, dict):
        return str(cause.response.data.get("error") or "")
    return ""
