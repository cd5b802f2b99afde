"""What people do in the sandbox's Slack, and what Slack sends the app when they do it.

`SlackSimulation` is the person-facing half of the sandbox: typing, editing or deleting a
message, reacting, clicking a button, running a slash command or a message shortcut,
submitting or closing a modal, opening the App Home. Each checks what Slack's own client would check (the person
exists and is in the channel, the message is there, required inputs are filled), changes
the workspace, and hands the app the payload Slack would send over Socket Mode, waiting
for its ack where Slack does. `SandboxServer` (app.sandbox.server) serves it over HTTP and
the browser view (app.sandbox.browser) drives it from a page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from app.sandbox import assistant_methods, chat_methods, events, interactions
from app.sandbox.records import Change, Conversation, Ephemeral, Message, ResponseTarget, User, View
from app.sandbox.slack_json import message_json, rich_text_blocks
from app.sandbox.socket_mode import EVENTS_API, Delivery, SocketModeGateway, new_event_id
from app.sandbox.state import SandboxWorkspace, SlackError
from app.sandbox.view_methods import view_spec

T = TypeVar("T")
TOMBSTONE = "This message was deleted."
"""What Slack shows in place of a deleted message that has replies."""


class SimulationError(ValueError):
    """A simulated person tried something Slack's own client would not let them do."""


class OperationTimeout(RuntimeError):
    """The app did not acknowledge an interactive payload in time (Slack: operation_timeout)."""


class InvalidAck(ValueError):
    """The app acknowledged a submission with a response Slack would not take."""


class SlackSimulation:
    """People acting in one `SandboxWorkspace`, and the app told over one Socket Mode gateway."""

    def __init__(self, workspace: SandboxWorkspace, gateway: SocketModeGateway) -> None:
        self.workspace = workspace
        self.gateway = gateway
        self.hooks_url = "/hooks/"
        """Where response_url posts go; the server sets its own address once it listens."""
        self.reshape_events: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        """Applied to each Events API payload before it is sent: a test sends the variants
        Slack's documentation allows (no `authorizations`, another field order...)."""

    def open_group_dm(self, user_ids: list[str]) -> Conversation:
        """A group DM of `user_ids` with the bot, as one of them starts it (Slack names it
        mpdm-a--b--c-1)."""
        ws = self.workspace
        members = [*user_ids, ws.bot.user_id]
        names = "--".join(u.name if (u := ws.user(m)) else m for m in members)
        group = Conversation(
            id=ws.new_id("C"),
            name=f"mpdm-{names}-1",
            members=members,
            is_private=True,
            is_mpim=True,
            created=int(ws.clock()),
        )
        ws.conversations[group.id] = group
        ws.messages[group.id] = []
        return group

    async def post_message(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> str:
        """`user_id` types `text` into a channel or DM (channel_id = the bot's user id opens it)."""
        user = self._person(user_id)
        conversation = self._joined(user, channel_id)
        if thread_ts and self.workspace.find_message(conversation.id, thread_ts) is None:
            raise SimulationError(f"no message {thread_ts} in {conversation.id}")
        message = self.workspace.post(
            conversation.id,
            user=user.id,
            text=text,
            blocks=rich_text_blocks(text),
            thread_ts=thread_ts,
            client_msg_id=str(uuid.uuid4()),
        )
        return message.ts

    async def edit_message(self, user_id: str, channel_id: str, ts: str, text: str) -> None:
        """`user_id` edits their message `ts` to read `text`; Slack tells the app (`message_changed`)."""
        message, before = self._own(user_id, channel_id, ts)
        message.text, message.blocks = text, rich_text_blocks(text)
        message.edited_ts = self.workspace.next_ts()
        self.workspace.notify(
            Change("message_edited", message.channel, message=message, previous=before)
        )

    async def delete_message(self, user_id: str, channel_id: str, ts: str) -> None:
        """`user_id` deletes their own message `ts`; Slack tells the app (`message_deleted`, or
        `message_changed` into a tombstone when it has replies)."""
        message, before = self._own(user_id, channel_id, ts)
        if message.reply_ts:  # a thread's first message stays, as Slack's placeholder
            message.text, message.user, message.subtype = TOMBSTONE, "USLACKBOT", "tombstone"
            message.blocks = message.files = message.client_msg_id = None
            change = Change("message_tombstoned", message.channel, message=message, previous=before)
            self.workspace.notify(change)
        else:
            self._as_person(lambda: self.workspace.delete_message(message))

    def _own(self, user_id: str, channel_id: str, ts: str) -> tuple[Message, Message]:
        """`user_id`'s own message `ts`, and a copy of it as it is now."""
        user = self._person(user_id)
        message = self._message(self._joined(user, channel_id), ts)
        if message.user != user.id:
            raise SimulationError(f"{user_id} did not write {ts}")
        return message, replace(message, reply_ts=list(message.reply_ts))

    async def add_reaction(self, user_id: str, channel_id: str, ts: str, name: str) -> None:
        user = self._person(user_id)
        message = self._message(self._joined(user, channel_id), ts)
        self._as_person(lambda: self.workspace.add_reaction(message, user=user.id, name=name))

    async def remove_reaction(self, user_id: str, channel_id: str, ts: str, name: str) -> None:
        user = self._person(user_id)
        message = self._message(self._joined(user, channel_id), ts)
        self._as_person(lambda: self.workspace.remove_reaction(message, user=user.id, name=name))

    async def click_button(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
    ) -> dict[str, Any]:
        """Click a button in a message (or in one of the user's ephemerals); returns the ack."""
        user = self._person(user_id)
        conversation = self._joined(user, channel_id)
        message = self.workspace.find_message(conversation.id, message_ts)
        ephemeral = None if message else self.workspace.find_ephemeral(user.id, message_ts)
        if message is None and ephemeral is None:
            raise SimulationError(f"no message {message_ts} visible to {user.id}")
        shown: Message | Ephemeral = message or ephemeral  # type: ignore[assignment]
        found_block, element = interactions.find_element(shown.blocks or [], action_id, block_id)
        action = interactions.action_json(
            found_block, element, value=value, action_ts=self.workspace.next_ts()
        )
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": conversation.id,
            "is_ephemeral": ephemeral is not None,
        }
        if shown.thread_ts:
            container["thread_ts"] = shown.thread_ts
        target = ResponseTarget(
            user=user.id, channel=conversation.id, message_ts=message_ts, ephemeral=not message
        )
        payload = interactions.block_actions(
            self.workspace,
            user=user,
            actions=[action],
            trigger_id=self.workspace.issue_trigger(user.id),
            container=container,
            channel=conversation,
            message=message_json(self.workspace, message) if message else None,
            response_url=self._response_url(target),
        )
        return await self._interact("interactive", payload)

    async def click_view_button(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Click a button in an open modal or the App Home; `values` fills the inputs first."""
        user = self._person(user_id)
        view = self._view(user, view_id)
        blocks = view.spec.get("blocks", [])
        if values is not None:
            view.state_values = interactions.state_values(blocks, values)
        found_block, element = interactions.find_element(blocks, action_id, block_id)
        action = interactions.action_json(
            found_block, element, value=value, action_ts=self.workspace.next_ts()
        )
        payload = interactions.block_actions(
            self.workspace,
            user=user,
            actions=[action],
            trigger_id=self.workspace.issue_trigger(user.id, view_id=view.id),
            container={"type": "view", "view_id": view.id},
            view=view,
            state_values=view.state_values,
        )
        return await self._interact("interactive", payload)

    async def slash_command(
        self, user_id: str, channel_id: str, command: str, text: str = ""
    ) -> dict[str, Any]:
        """Run `/command text`; returns the ack payload, whose text Slack shows the user."""
        user = self._person(user_id)
        conversation = self._joined(user, channel_id)
        payload = interactions.slash_command(
            self.workspace,
            user=user,
            channel=conversation,
            command=command,
            text=text,
            trigger_id=self.workspace.issue_trigger(user.id),
            response_url=self._response_url(ResponseTarget(user=user.id, channel=conversation.id)),
        )
        ack = await self._interact("slash_commands", payload)
        if ack.get("text") or ack.get("blocks"):
            try:  # Slack checks the response as it checks a message
                shown, blocks = chat_methods.message_content(ack, required=True)
            except SlackError as error:
                problems = "; ".join(error.extra.get("errors") or [])
                raise InvalidAck(
                    f"{command} answered with {error.code} {problems}".strip()
                ) from error
            text_shown = shown or ""
            if ack.get("response_type") == "in_channel":
                self.workspace.post(
                    conversation.id, user=self.workspace.bot.user_id, text=text_shown, blocks=blocks
                )
            else:
                self.workspace.post_ephemeral(
                    conversation.id, user=user.id, text=text_shown, blocks=blocks
                )
        return ack

    async def message_shortcut(
        self, user_id: str, channel_id: str, message_ts: str, callback_id: str
    ) -> dict[str, Any]:
        user = self._person(user_id)
        conversation = self._joined(user, channel_id)
        message = self._message(conversation, message_ts)
        payload = interactions.message_action(
            self.workspace,
            user=user,
            channel=conversation,
            message=message,
            callback_id=callback_id,
            trigger_id=self.workspace.issue_trigger(user.id),
            response_url=self._response_url(ResponseTarget(user=user.id, channel=conversation.id)),
            action_ts=self.workspace.next_ts(),
        )
        return await self._interact("interactive", payload)

    async def submit_view(
        self, user_id: str, view_id: str, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Submit an open modal; returns the ack payload (e.g. response_action "errors")."""
        user = self._person(user_id)
        view = self._view(user, view_id)
        blocks = view.spec.get("blocks", [])
        state = interactions.state_values(blocks, values or {})
        missing = interactions.missing_inputs(blocks, state)
        if missing:
            raise SimulationError(f"required inputs left empty: {', '.join(missing)}")
        if unoffered := interactions.unoffered_choices(blocks, state):
            raise SimulationError(f"not one of the menu's options: {', '.join(unoffered)}")
        view.state_values = state
        payload = interactions.view_submission(
            self.workspace,
            user=user,
            view=view,
            trigger_id=self.workspace.issue_trigger(user.id, view_id=view.id),
        )
        ack = await self._interact("interactive", payload)
        action = ack.get("response_action")
        if action == "errors":
            if problems := interactions.form_error_problems(blocks, ack.get("errors")):
                raise InvalidAck("; ".join(problems))
            return ack
        if action in ("update", "push"):
            spec = self._as_person(lambda: view_spec(ack.get("view"), home=False))
            if action == "update":
                self.workspace.update_view(view, spec)
            else:
                self._as_person(lambda: self.workspace.open_view(user.id, spec, on_top_of=view))
        else:
            self.workspace.close_view(view, all_views=action == "clear")
        return ack

    async def close_view(self, user_id: str, view_id: str) -> None:
        """Press Cancel; a view with notify_on_close sends view_closed."""
        user = self._person(user_id)
        view = self._view(user, view_id)
        if view.spec.get("notify_on_close"):
            payload = interactions.view_closed(
                self.workspace, user=user, view=view, is_cleared=False
            )
            await self._interact("interactive", payload)
        self.workspace.close_view(view, all_views=bool(view.spec.get("clear_on_close")))

    async def open_home(self, user_id: str) -> Delivery | None:
        """Open the app's Home tab (app_home_opened)."""
        user = self._person(user_id)
        im = self.workspace.open_im(user.id)
        event = events.app_home_opened_event(
            self.workspace,
            user=user.id,
            im=im,
            home=self.workspace.home_views.get(user.id),
            event_ts=self.workspace.next_ts(),
        )
        return self._emit("app_home_opened", event, im)

    async def open_assistant(self, user_id: str, viewing: str | None = None) -> str:
        """Open Trellis in the assistant view while looking at channel `viewing`; a new
        assistant thread starts in the person's DM with the app. Returns its thread_ts."""
        user = self._person(user_id)
        if viewing is not None:
            self._joined(user, viewing)
        im = self.workspace.open_im(user.id)
        context = assistant_methods.viewing(self.workspace, viewing)
        thread = assistant_methods.start_thread(self.workspace, im, user=user.id, context=context)
        event = assistant_methods.thread_event(self.workspace, "assistant_thread_started", thread)
        self._emit("assistant_thread_started", event, im)
        return thread.thread_ts

    async def view_channel(self, user_id: str, thread_ts: str, channel_id: str) -> None:
        """With the assistant view open, the person moves to another channel."""
        user = self._person(user_id)
        self._joined(user, channel_id)
        im = self.workspace.open_im(user.id)
        thread = self.workspace.assistant_threads.get((im.id, thread_ts))
        if thread is None:
            raise SimulationError(f"no assistant thread {thread_ts} for {user.id}")
        thread.context = assistant_methods.viewing(self.workspace, channel_id)
        kind = "assistant_thread_context_changed"
        self._emit(kind, assistant_methods.thread_event(self.workspace, kind, thread), im)

    # -- telling the app --------------------------------------------------------------------

    def _emit(
        self, subscription: str, event: dict[str, Any], conversation: Conversation
    ) -> Delivery | None:
        """Deliver `event` if the app subscribed to it."""
        if subscription not in self.workspace.bot.events:
            return None
        payload = events.event_callback(
            self.workspace, event, event_id=new_event_id(), conversation=conversation
        )
        if self.reshape_events is not None:
            payload = self.reshape_events(payload)
        return self.gateway.deliver(EVENTS_API, payload)

    async def _interact(self, type: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await self.gateway.deliver(type, payload).wait()
        if ack is None:
            raise OperationTimeout(f"the app did not acknowledge the {type} payload in time")
        return ack

    # -- lookups ----------------------------------------------------------------------------

    def _person(self, user_id: str) -> User:
        user = self.workspace.user(user_id)
        if user is None or user.deleted:
            raise SimulationError(f"no active user {user_id}")
        return user

    def _joined(self, user: User, channel_id: str) -> Conversation:
        if channel_id == self.workspace.bot.user_id:
            return self.workspace.open_im(user.id)
        conversation = self.workspace.conversation(channel_id)
        if conversation is None or user.id not in conversation.members:
            raise SimulationError(f"{user.id} is not in {channel_id}")
        return conversation

    def _message(self, conversation: Conversation, ts: str) -> Message:
        message = self.workspace.find_message(conversation.id, ts)
        if message is None:
            raise SimulationError(f"no message {ts} in {conversation.id}")
        return message

    def _view(self, user: User, view_id: str) -> View:
        view = self.workspace.find_view(view_id)
        if view is None or view.user != user.id:
            raise SimulationError(f"{user.id} has no open view {view_id}")
        return view

    def _response_url(self, target: ResponseTarget) -> str:
        target.issued_at = self.workspace.clock()
        return f"{self.hooks_url}{self.workspace.issue_response_target(target)}"

    @staticmethod
    def _as_person(action: Callable[[], T]) -> T:
        try:
            return action()
        except SlackError as error:
            raise SimulationError(error.code) from error
