"""The sandbox's Slack workspace: people, conversations, messages, ephemerals and views.

Everything the sandbox knows lives in one `SandboxWorkspace`, built from a seed
(app.sandbox.seed). Every change (a message posted, edited or deleted, a reaction, an
ephemeral, a view, a Web API call) is announced to the callbacks registered with
`subscribe`, which is how events reach the app and how a live view of the workspace stays
current.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.sandbox.records import (
    ApiCall,
    AssistantThread,
    BotIdentity,
    Change,
    Conversation,
    Ephemeral,
    Message,
    ResponseTarget,
    Team,
    Trigger,
    User,
    View,
)
from app.sandbox.seed import read_seed

MAX_VIEW_STACK = 3


class SlackError(Exception):
    """A Web API error, answered as `{"ok": false, "error": code, **extra}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


class SandboxWorkspace:
    """The whole state of one simulated Slack workspace."""

    def __init__(
        self,
        *,
        team: Team,
        bot: BotIdentity,
        users: list[User],
        channels: list[Conversation],
        clock: Callable[[], float] = time.time,
        trigger_ttl: float = 3.0,
        hints: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.team = team
        self.hints = hints or {}
        """Things to try in the browser view, by user id ("*": everyone else)."""
        self.bot = bot
        self.clock = clock
        self.trigger_ttl = trigger_ttl
        self.users: dict[str, User] = {u.id: u for u in users}
        self.conversations: dict[str, Conversation] = {c.id: c for c in channels}
        self.messages: dict[str, list[Message]] = {c.id: [] for c in channels}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.home_views: dict[str, View] = {}
        self.assistant_threads: dict[tuple[str, str], AssistantThread] = {}
        self.thread_status: dict[tuple[str, str], str] = {}
        """The status line under a thread ("is thinking…"), by (channel, thread_ts)."""
        self.calls: list[ApiCall] = []
        self.triggers: dict[str, Trigger] = {}
        self.response_targets: dict[str, ResponseTarget] = {}
        self._subscribers: list[Callable[[Change], None]] = []
        self._last_us = 0
        self._serial = 0

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_seed(cls, seed: dict[str, Any], **options: Any) -> SandboxWorkspace:
        """A workspace as `seed` describes it (format: app.sandbox.seed)."""
        read = read_seed(seed)
        return cls(
            team=read.team,
            bot=read.bot,
            users=read.users,
            channels=read.channels,
            hints=read.hints,
            **options,
        )

    # -- change notification ------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call `callback(change)` on every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def notify(self, change: Change) -> None:
        for callback in list(self._subscribers):
            callback(change)

    # -- identifiers ------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message timestamp: unique, increasing, "1700000000.000100" style."""
        now_us = int(self.clock() * 1_000_000)
        self._last_us = max(now_us, self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}0{self._serial:08X}"

    # -- people and conversations -------------------------------------------------------------

    def user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        for user in self.users.values():
            if user.email and user.email.lower() == wanted:
                return user
        return None

    def conversation(self, channel_id: str) -> Conversation | None:
        return self.conversations.get(channel_id)

    def bot_sees(self, conversation: Conversation) -> bool:
        """Public channels are visible to the bot; private ones and DMs only as a member."""
        is_public = not conversation.is_private and not conversation.is_im
        return is_public or self.bot.user_id in conversation.members

    def open_im(self, user_id: str) -> Conversation:
        """The DM between `user_id` and the bot, created on first use."""
        for conversation in self.conversations.values():
            if conversation.is_im and conversation.im_user == user_id:
                return conversation
        im = Conversation(
            id=self.new_id("D"),
            name=user_id,
            members=[user_id, self.bot.user_id],
            is_private=True,
            is_im=True,
            im_user=user_id,
            created=int(self.clock()),
        )
        self.conversations[im.id] = im
        self.messages[im.id] = []
        return im

    # -- messages ---------------------------------------------------------------------------

    def post(
        self,
        channel: str,
        *,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        client_msg_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        files: list[dict[str, Any]] | None = None,
        streaming: bool = False,
    ) -> Message:
        author = self.users[user]
        parent = self.find_message(channel, thread_ts) if thread_ts else None
        if parent is not None and parent.is_reply:
            parent = self.find_message(channel, parent.thread_ts or "")
        message = Message(
            channel=channel,
            ts=self.next_ts(),
            text=text,
            user=user,
            team=author.team_id,
            bot_id=author.bot_id,
            app_id=self.bot.app_id if author.bot_id == self.bot.bot_id else None,
            blocks=blocks,
            thread_ts=parent.ts if parent else None,
            client_msg_id=client_msg_id,
            metadata=metadata,
            files=files,
            streaming=streaming,
            streamed=streaming,
        )
        if parent is not None:
            parent.thread_ts = parent.ts
            parent.reply_ts.append(message.ts)
        self.messages[channel].append(message)
        self.notify(Change("message_posted", channel=channel, user=user, message=message))
        return message

    def find_message(self, channel: str, ts: str | None) -> Message | None:
        for message in self.messages.get(channel, []):
            if message.ts == ts:
                return message
        return None

    def update_message(
        self, message: Message, *, text: str | None, blocks: list[dict[str, Any]] | None
    ) -> Message:
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks or None
        message.edited_ts = self.next_ts()
        self.notify(Change("message_changed", channel=message.channel, message=message))
        return message

    def delete_message(self, message: Message) -> None:
        self.messages[message.channel].remove(message)
        if message.is_reply:
            parent = self.find_message(message.channel, message.thread_ts)
            if parent is not None and message.ts in parent.reply_ts:
                parent.reply_ts.remove(message.ts)
        self.notify(Change("message_deleted", channel=message.channel, message=message))

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        return [
            m
            for m in self.messages.get(channel, [])
            if m.ts == thread_ts or m.thread_ts == thread_ts
        ]

    def add_reaction(self, message: Message, *, user: str, name: str) -> None:
        reactors = message.reactions.setdefault(name, [])
        if user in reactors:
            raise SlackError("already_reacted")
        reactors.append(user)
        self.notify(
            Change(
                "reaction_added", channel=message.channel, user=user, message=message, reaction=name
            )
        )

    def remove_reaction(self, message: Message, *, user: str, name: str) -> None:
        reactors = message.reactions.get(name, [])
        if user not in reactors:
            raise SlackError("no_reaction")
        reactors.remove(user)
        if not reactors:
            del message.reactions[name]
        self.notify(
            Change(
                "reaction_removed",
                channel=message.channel,
                user=user,
                message=message,
                reaction=name,
            )
        )

    # -- ephemerals -------------------------------------------------------------------------

    def post_ephemeral(
        self,
        channel: str,
        *,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> Ephemeral:
        ephemeral = Ephemeral(
            channel=channel,
            user=user,
            ts=self.next_ts(),
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            bot_id=self.bot.bot_id,
        )
        self.ephemerals.append(ephemeral)
        self.notify(Change("ephemeral_posted", channel=channel, user=user, ephemeral=ephemeral))
        return ephemeral

    def find_ephemeral(self, user: str, ts: str) -> Ephemeral | None:
        return next((e for e in self.ephemerals if e.user == user and e.ts == ts), None)

    def replace_ephemeral(
        self, ephemeral: Ephemeral, *, text: str, blocks: list[dict[str, Any]] | None
    ) -> None:
        ephemeral.text, ephemeral.blocks = text, blocks
        self.notify(
            Change(
                "ephemeral_changed",
                channel=ephemeral.channel,
                user=ephemeral.user,
                ephemeral=ephemeral,
            )
        )

    def delete_ephemeral(self, ephemeral: Ephemeral) -> None:
        self.ephemerals.remove(ephemeral)
        self.notify(
            Change(
                "ephemeral_deleted",
                channel=ephemeral.channel,
                user=ephemeral.user,
                ephemeral=ephemeral,
            )
        )

    # -- views ------------------------------------------------------------------------------

    def open_view(self, user: str, spec: dict[str, Any], *, on_top_of: View | None = None) -> View:
        if on_top_of is not None and len(self.view_stack(on_top_of.root_view_id)) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        view_id = self.new_id("V")
        view = View(
            id=view_id,
            user=user,
            spec=spec,
            hash=self._view_hash(),
            root_view_id=on_top_of.root_view_id if on_top_of else view_id,
            previous_view_id=on_top_of.id if on_top_of else None,
        )
        self.views[view.id] = view
        self.notify(Change("view_opened", user=user, view=view))
        return view

    def view_stack(self, root_view_id: str) -> list[View]:
        return [v for v in self.views.values() if v.root_view_id == root_view_id]

    def find_view(self, view_id: str | None = None, external_id: str | None = None) -> View | None:
        if view_id:
            return self.views.get(view_id) or next(
                (v for v in self.home_views.values() if v.id == view_id), None
            )
        for view in [*self.views.values(), *self.home_views.values()]:
            if external_id and view.spec.get("external_id") == external_id:
                return view
        return None

    def update_view(self, view: View, spec: dict[str, Any]) -> View:
        view.spec = spec
        view.hash = self._view_hash()
        view.state_values = {}
        self.notify(Change("view_updated", user=view.user, view=view))
        return view

    def close_view(self, view: View, *, all_views: bool = False) -> None:
        closing = self.view_stack(view.root_view_id) if all_views else [view]
        for each in closing:
            self.views.pop(each.id, None)
            self.notify(Change("view_closed", user=each.user, view=each))

    def publish_home(self, user: str, spec: dict[str, Any]) -> View:
        view = self.home_views.get(user)
        if view is None:
            view_id = self.new_id("V")
            view = View(
                id=view_id, user=user, spec=spec, hash=self._view_hash(), root_view_id=view_id
            )
            self.home_views[user] = view
        else:
            view.spec, view.hash = spec, self._view_hash()
        self.notify(Change("home_published", user=user, view=view))
        return view

    def _view_hash(self) -> str:
        self._serial += 1
        return f"{int(self.clock())}.{self._serial:08x}"

    # -- triggers, response URLs, calls -------------------------------------------------------

    def issue_trigger(self, user: str, *, view_id: str | None = None) -> str:
        self._serial += 1
        trigger_id = f"{self._serial}.{int(self.clock())}.{self._serial * 7919:032x}"
        expires_at = self.clock() + self.trigger_ttl
        self.triggers[trigger_id] = Trigger(user=user, expires_at=expires_at, view_id=view_id)
        return trigger_id

    def exchange_trigger(self, trigger_id: str) -> str:
        """The user behind a fresh trigger_id; each can open one view, for a few seconds."""
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.exchanged:
            raise SlackError("exchanged_trigger_id")
        if self.clock() > trigger.expires_at:
            raise SlackError("expired_trigger_id")
        trigger.exchanged = True
        return trigger.user

    def issue_response_target(self, target: ResponseTarget) -> str:
        token = f"{self.new_id('R')}{self._serial * 104729:x}"
        self.response_targets[token] = target
        return token

    def record_call(self, call: ApiCall) -> None:
        self.calls.append(call)
        self.notify(Change("api_call", call=call))
