"""`trellis demo`: the Trellis story, played in the terminal by the real app.

The bundled demo company runs on the local sandbox with a throw-away database, and the
story is acted out through the sandbox's simulation API, exactly as people would click
and type in Slack: a question answered with citations, a fuller answer shown only to the
asker, a refusal for someone outside the directory, a discount approved by a manager and
carried into the CRM, and a flag that reaches the document's owner. A step whose feature
this build does not have is skipped, and the output says so.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from app.config.logging import configure_logging
from app.config.settings import Settings
from app.config.workspace import Workspace, default_workspace_path, load_workspace
from app.db.migrate import upgrade
from app.db.session import Database
from app.demo.cards import button, delivered, draft_on, has_button, row_text
from app.demo.render import blocks_to_lines, message_panel, mrkdwn_to_text
from app.knowledge.sync import sync_knowledge
from app.notifications import Notifier
from app.sandbox import Ephemeral, Message, SandboxServer, SandboxWorkspace
from app.sandbox.company import MESSAGE_SHORTCUTS, seed_for
from app.sandbox.systems.standins import StandIns, running_stand_ins
from app.services import Services, build_answerer, build_services
from app.slack_api import SlackGateway, retrying_client

SAM = "sam.ortiz@northwind.example"  # support agent, may flag answers
GINA = "gina@contractor.example"  # a guest, not in the directory
LIAM = "liam.carter@northwind.example"  # sales rep
WAIT = 20.0

Connect = Callable[..., AbstractAsyncContextManager[Any]]


@dataclass
class Outcome:
    status: str  # shown | skipped | failed
    note: str


class Story:
    """The demo's steps, against a running sandbox with Trellis connected to it."""

    def __init__(
        self, sandbox: SandboxServer, workspace: Workspace, console: Console, systems: StandIns
    ) -> None:
        self.sandbox = sandbox
        self.state = sandbox.workspace
        self.workspace = workspace
        self.console = console
        self.systems = systems
        self.first_answer: Message | None = None

    # -- the steps ----------------------------------------------------------------------------

    async def answered_with_citations(self) -> Outcome:
        answer = await self.ask(SAM, "support", "When is Trail Day in 2026?")
        self.first_answer = answer
        if "[1]" not in self.text(answer):
            return Outcome("failed", "the answer carried no citation")
        return Outcome("shown", "answered from the documents Sam may see, with numbered sources")

    async def fuller_answer_in_private(self) -> Outcome:
        sam = self.user(SAM)
        seen = {e.ts for e in self.sandbox.ephemerals(sam)}
        await self.ask(
            SAM, "general", "How many days of paid time off do full-time employees get per year?"
        )
        private = await self.sandbox.wait_for_ephemeral(
            sam, lambda e: e.ts not in seen and "Only you can see" in self.text(e), WAIT
        )
        self.show(private, where="#general thread", private=True)
        return Outcome("shown", "#general has a guest, so HR's policy went to the asker only")

    async def refusal_for_unknown_person(self) -> Outcome:
        answer = await self.ask(GINA, "general", "How many PTO days do I get?")
        if "can't verify who you are" not in answer.text:
            return Outcome("failed", "the guest was not refused")
        return Outcome(
            "shown", "a guest outside the directory is told Trellis cannot verify her, nothing more"
        )

    async def draft_approved_and_delivered(self) -> Outcome:
        if not _available("handlers.approvals"):
            return Outcome("skipped", "approvals are not part of this build yet")
        liam, sales = self.user(LIAM), self.channel("sales")
        command = 'discount_request customer="Alpine Co." percent=18 reason="2-year renewal"'
        self.say(f"Liam Carter types in #sales: /trellis {command}")
        ack = await self.sandbox.slash_command(liam, sales, "/trellis", command)
        if "don't know" in str(ack.get("text", "")):
            return Outcome("skipped", "workflows cannot be started from Slack in this build yet")
        card_channel = self.workspace.rules.workflows["discount_request"].channel
        if card_channel is None:
            return Outcome("failed", "the discount workflow names no approvals channel")
        card = await self.sandbox.wait_for_message(
            self.channel(card_channel), has_button("Approve"), WAIT
        )
        self.show(card, where="#deal-approvals")
        approver = self.approver_for(card_channel, requester=liam)
        block_id, approve = button(card, "Approve")
        draft = draft_on(card)
        self.say(f"{self.name(approver)} clicks Approve.")
        await self.click_until_decided(approver, card, block_id, approve)
        # How his request goes is Liam's own business: told in his direct messages.
        dm = self.sandbox.workspace.open_im(liam).id
        told = await self.sandbox.wait_for_message(
            dm, lambda m: m.bot_id is not None and m.ts > card.ts, WAIT
        )
        self.show(told, where="Liam's direct messages")
        row, hook = await self.sandbox.wait_until(
            lambda: delivered(self.systems, draft), WAIT, "the discount in the CRM and the webhook"
        )
        self.say(f"The CRM received: {row_text(row)}")
        self.say(
            f"The webhook receiver verified the signature of {hook.id} (Idempotency-Key {hook.key})"
        )
        await self.sandbox.wait_until(lambda: self.settled(card), WAIT, "the card to settle")
        self.show(card, where="#deal-approvals (updated)")
        if "Done." not in self.text(card):
            return Outcome("failed", "approved, but an action failed (see the card)")
        result = await self.sandbox.wait_for_message(
            dm, lambda m: m.bot_id is not None and m.ts > told.ts, WAIT
        )
        self.show(result, where="Liam's direct messages")
        return Outcome(
            "shown",
            "approved by a sales manager, carried into the CRM and to the webhook (signature "
            "verified), the result sent back",
        )

    def settled(self, card: Message) -> bool | None:
        """True once the card says the request is done or failed."""
        text = self.text(card)
        return True if "Done." in text or "action failed" in text else None

    async def flag_reaches_owner(self) -> Outcome:
        flags = self.workspace.config.flags
        if not _available("handlers.reactions") or not flags.reactions:
            return Outcome("skipped", "flags are not part of this build yet")
        if self.first_answer is None:
            return Outcome("skipped", "there was no answer to flag")
        emoji = flags.reactions[0]
        self.say(f"Sam Ortiz reacts with :{emoji}: on the answer in #support.")
        await self.sandbox.add_reaction(
            self.user(SAM), self.first_answer.channel, self.first_answer.ts, emoji
        )
        flagged_at = self.state.next_ts()
        notice = await self.wait_for_bot_message(
            lambda m: m.ts > flagged_at and "flagged" in self.text(m)
        )
        where = self.state.conversation(notice.channel)
        if where is not None and where.is_im:
            self.show(notice, where=f"DM to {self.name(where.im_user or '')}")
        else:
            self.show(notice, where=f"#{self.channel_name(notice.channel)}")
        return Outcome("shown", "the flag went to the people who own the document")

    # -- acting and showing -------------------------------------------------------------------

    async def ask(self, email: str, channel: str, question: str) -> Message:
        user, channel_id = self.user(email), self.channel(channel)
        text = f"<@{self.state.bot.user_id}> {question}"
        ts = await self.sandbox.post_message(user, channel_id, text)
        self.show(self.state.find_message(channel_id, ts), where=f"#{channel}")

        def answered(m: Message) -> bool:
            return (
                m.bot_id is not None
                and m.thread_ts == ts
                and not m.streaming
                and "Looking through" not in m.text
            )

        answer = await self.sandbox.wait_for_message(channel_id, answered, WAIT)
        self.show(answer, where=f"#{channel} thread")
        return answer

    async def click_until_decided(
        self, user: str, card: Message, block_id: str, button: dict[str, Any]
    ) -> None:
        """Click, and click again while Trellis answers that the card is not ready yet."""
        for _ in range(10):
            clicked_at = self.state.next_ts()
            await self.sandbox.click_button(
                user,
                card.channel,
                card.ts,
                button["action_id"],
                value=button.get("value"),
                block_id=block_id,
            )

            result = await self.sandbox.wait_until(
                functools.partial(self.click_outcome, user, card, clicked_at),
                WAIT,
                "decision on the card",
            )
            if result == "decided":
                return
            if result != "not ready":
                raise LookupError(result)
            await asyncio.sleep(0.5)
        raise LookupError("the card never became ready for a decision")

    def click_outcome(self, user: str, card: Message, since: str) -> str | None:
        if not has_button("Approve")(card):
            return "decided"
        for ephemeral in self.sandbox.ephemerals(user):
            if ephemeral.ts > since:
                return (
                    "not ready" if "not ready" in ephemeral.text else f"refused: {ephemeral.text}"
                )
        return None

    async def wait_for_bot_message(self, predicate: Callable[[Message], bool]) -> Message:
        """A message from Trellis anywhere: a channel or someone's DM."""

        def found() -> Message | None:
            for messages in self.state.messages.values():
                for m in messages:
                    if m.bot_id and predicate(m):
                        return m
            return None

        return await self.sandbox.wait_until(found, WAIT, "message from Trellis")

    def approver_for(self, channel: str, *, requester: str) -> str:
        members = self.state.conversations[self.channel(channel)].members
        managers = {self.user(p.email) for p in self.workspace.directory.members("sales-managers")}
        return next(m for m in members if m in managers and m != requester)

    def show(
        self, message: Message | Ephemeral | None, *, where: str, private: bool = False
    ) -> None:
        if message is None:
            return
        author = self.name(
            getattr(message, "user", "") if isinstance(message, Message) else self.state.bot.user_id
        )
        text = [("", mrkdwn_to_text(message.text, names=self.name, channels=self.channel_name))]
        blocks = blocks_to_lines(message.blocks or [], names=self.name, channels=self.channel_name)
        # A streamed message shows its text, then the blocks its stream stopped with.
        streamed = isinstance(message, Message) and message.streamed
        lines = (text if streamed or not blocks else []) + blocks
        self.console.print(message_panel(author, where, lines, private=private))

    def say(self, line: str) -> None:
        self.console.print(f"[dim]→[/dim] {line}", highlight=False, markup=True)

    def text(self, message: Message | Ephemeral) -> str:
        lines = blocks_to_lines(message.blocks or [], names=self.name, channels=self.channel_name)
        return message.text + "\n" + "\n".join(line for _, line in lines)

    def user(self, email: str) -> str:
        found = self.state.user_by_email(email)
        if found is None:
            raise LookupError(f"{email} is not in the demo workspace")
        return found.id

    def channel(self, name: str) -> str:
        for conversation in self.state.conversations.values():
            if conversation.id == name or conversation.name == name.lstrip("#"):
                return conversation.id
        raise LookupError(f"no channel {name} in the demo workspace")

    def name(self, user_id: str) -> str:
        user = self.state.user(user_id)
        return user.real_name if user else user_id

    def channel_name(self, channel_id: str) -> str:
        conversation = self.state.conversation(channel_id)
        return conversation.name if conversation else channel_id

    # -- the whole story ------------------------------------------------------------------------

    async def play(self) -> list[tuple[str, Outcome]]:
        steps: list[tuple[str, Callable[[], Awaitable[Outcome]]]] = [
            ("A question answered with citations", self.answered_with_citations),
            (
                "Only what everyone in the channel may see; the rest in private",
                self.fuller_answer_in_private,
            ),
            ("A refusal for someone Trellis cannot verify", self.refusal_for_unknown_person),
            (
                "A draft approved by a manager and delivered downstream",
                self.draft_approved_and_delivered,
            ),
            ("A flag reaching the document's owner", self.flag_reaches_owner),
        ]
        results = []
        for number, (title, step) in enumerate(steps, start=1):
            self.console.rule(f"[bold]{number}. {title}")
            try:
                outcome = await step()
            except (TimeoutError, LookupError) as error:
                outcome = Outcome("failed", str(error))
            style = {"shown": "green", "skipped": "yellow", "failed": "red"}[outcome.status]
            self.console.print(
                f"[{style}]{outcome.status}[/{style}]: {outcome.note}", highlight=False
            )
            results.append((title, outcome))
        return results


def summary(results: list[tuple[str, Outcome]]) -> Table:
    table = Table(title="The Trellis story", show_header=True)
    table.add_column("step")
    table.add_column("result")
    table.add_column("what happened")
    for title, outcome in results:
        table.add_row(title, outcome.status, outcome.note)
    return table


async def play_demo(
    settings: Settings,
    *,
    console: Console,
    connect: Connect,
    notifier: Callable[[Services], Notifier],
) -> list[tuple[str, Outcome]]:
    """Run the demo company on a sandbox with a throw-away database and play the story.

    `connect(services, client=, app_token=)` connects the Slack app (handlers.runtime.connect_bolt);
    `notifier` builds its notifier (handlers.notifier.SlackNotifier)."""
    workspace = load_workspace(default_workspace_path())
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    with tempfile.TemporaryDirectory(prefix="trellis-demo-") as folder:
        database = Database(f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}")
        try:
            await upgrade(database)
            await sync_knowledge(database, workspace, console=console)
            settings = settings.model_copy(
                update={"database_url": database.url, "workspace": workspace.root}
            )
            sandbox = SandboxServer(
                SandboxWorkspace.from_seed(seed_for(workspace)), message_shortcuts=MESSAGE_SHORTCUTS
            )
            async with sandbox, running_stand_ins(workspace, sandbox) as systems:
                client = retrying_client(sandbox.bot_token, base_url=sandbox.api_url)
                gateway = SlackGateway(client)
                await gateway.connect()
                services: Services = build_services(
                    settings,
                    workspace,
                    database,
                    slack=gateway,
                    answerer=build_answerer(settings, workspace),
                    notifier=notifier,
                    environ=systems.environ,
                    adapt_workspace=systems.adapt,
                )
                async with (
                    connect(services, client=client, app_token=sandbox.app_token),
                    _background(services),
                ):
                    await sandbox.wait_for_connections(1)
                    console.print(
                        f"Trellis is answering as [bold]{workspace.config.name}[/bold] "
                        f"on a local sandbox ({sandbox.url}).\n"
                    )
                    return await Story(sandbox, workspace, console, systems).play()
        finally:
            await database.dispose()


@asynccontextmanager
async def _background(services: Services) -> AsyncIterator[None]:
    """The outbox worker and scheduled jobs, as `trellis run` has them (when this build has them)."""
    if not _available("app.delivery.scheduler"):
        yield
        return
    from app.delivery.scheduler import Background

    background = Background(services, outbox_every=1.0)
    await background.start()
    try:
        yield
    finally:
        await background.stop()


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
