"""The demo workspace wired to real local peers, for end-to-end workflow tests.

    async with demo_peers(tmp_path) as peers:
        async with running_trellis(tmp_path, workspace=peers.workspace,
                                   environ=peers.environ, background=FAST) as trellis:
            ...

The demo's rules.yml points its connectors at fixed 127.0.0.1 ports; the copy made here
points them at peers on free ports: an SMTP server, a Jira stand-in, a webhook receiver
and a SQLite "CRM" with a `discounts` table.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.approvals.drafts import DraftState, DraftView
from app.config.workspace import default_workspace_path
from app.db.models.approvals import Draft
from app.db.repositories.approvals import DraftRepository
from app.delivery.retry import OutboxPolicy
from app.sandbox.records import Message
from tests.harness import RunningTrellis, blocks_text
from tests.peers.jira import JiraPeer
from tests.peers.smtp import SmtpPeer
from tests.peers.webhook_receiver import WebhookReceiver

FAST = OutboxPolicy(
    max_attempts=3,
    base_delay=0.02,
    max_delay=0.1,
    jitter=0.0,
    execute_timeout=5.0,
    lease=6.0,
    poll=0.05,
    concurrency=1,
)
HOOK_SECRET = "whsec-demo"
JIRA_TOKEN = "jira-demo-token"

crm = MetaData()
discounts = Table(
    "discounts",
    crm,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer", String(100), nullable=False),
    Column("percent", Float, nullable=False),
)


@dataclass
class Peers:
    workspace: Path
    smtp: SmtpPeer
    jira: JiraPeer
    webhook: WebhookReceiver
    crm_url: str

    @property
    def environ(self) -> dict[str, str]:
        return {
            "TRELLIS_WEBHOOK_SECRET": HOOK_SECRET,
            "TRELLIS_TICKETING_TOKEN": JIRA_TOKEN,
            "CRM_DATABASE_URL": self.crm_url,
        }

    async def crm_rows(self) -> list[tuple]:
        engine = create_async_engine(self.crm_url)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(select(discounts.c.customer, discounts.c.percent))
                return [tuple(row) for row in result]
        finally:
            await engine.dispose()


def copy_demo(tmp_path: Path, replacements: dict[str, str]) -> Path:
    target = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), target)
    rules = target / "rules.yml"
    text = rules.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    rules.write_text(text)
    return target


@asynccontextmanager
async def demo_peers(tmp_path: Path) -> AsyncIterator[Peers]:
    async with AsyncExitStack() as stack:
        smtp = await stack.enter_async_context(SmtpPeer())
        jira = await stack.enter_async_context(
            JiraPeer(email="trellis@northwind.example", token=JIRA_TOKEN)
        )
        webhook = await stack.enter_async_context(
            WebhookReceiver(secret=HOOK_SECRET, path="/hooks/discounts")
        )
        crm_url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
        engine = create_async_engine(crm_url)
        async with engine.begin() as conn:
            await conn.run_sync(crm.create_all)
        await engine.dispose()
        workspace = copy_demo(
            tmp_path,
            {
                "port: 2525": f"port: {smtp.port}",
                "http://127.0.0.1:8088": jira.url,
                "http://127.0.0.1:8089/hooks/discounts": webhook.hook_url,
            },
        )
        yield Peers(workspace, smtp, jira, webhook, crm_url)


def is_card(message: Message) -> bool:
    return any(b.get("block_id") == "trellis_decision" for b in message.blocks or [])


async def card_in(trellis: RunningTrellis, channel: str, *, within: float = 10) -> Message:
    """The newest approval card (with its buttons) in `channel`."""
    channel_id = trellis.channel(channel)
    await trellis.sandbox.wait_for_message(channel_id, is_card, within)
    return [m for m in trellis.sandbox.messages(channel_id) if is_card(m)][-1]


async def eventually(
    condition: Callable[[], Awaitable[object]], within: float = 10, every: float = 0.02
) -> object:
    """The first truthy result of `condition`, polled: the database has no event to await."""
    async with asyncio.timeout(within):
        while not (result := await condition()):  # noqa: ASYNC110 - state kept in a database
            await asyncio.sleep(every)
    return result


async def draft_of(trellis: RunningTrellis, card: Message) -> DraftView:
    """The draft behind a card (its place is recorded just after the card is posted)."""

    async def found() -> Draft | None:
        async with trellis.services.database.session() as session:
            return await DraftRepository(session).by_card(card.channel, card.ts)

    draft = await eventually(found, within=5)
    return await trellis.services.approvals.view(draft.id)


async def until_state(
    trellis: RunningTrellis, draft_id: str, *states: DraftState, within: float = 15
) -> DraftView:
    async def reached() -> DraftView | None:
        view = await trellis.services.approvals.view(draft_id)
        return view if view.state in states else None

    return await eventually(reached, within=within, every=0.05)


async def wait_for_text(
    trellis: RunningTrellis,
    channel: str,
    needle: str,
    within: float = 10,
    where: Callable[[Message], bool] = lambda m: True,
) -> Message:
    """A message of Trellis's showing `needle` in `channel`: a channel's name, or a person's
    email for their direct messages with Trellis."""
    channel_id = (
        trellis.sandbox.workspace.open_im(trellis.user(channel)).id
        if "@" in channel
        else trellis.channel(channel)
    )

    def found(message: Message) -> bool:
        text = f"{message.text}\n{blocks_text(message.blocks)}"
        return message.bot_id is not None and needle in text and where(message)

    return await trellis.sandbox.wait_for_message(channel_id, found, within)


async def modal_for(trellis: RunningTrellis, email: str):
    """The modal open for a person (Trellis opens it just after acknowledging the click)."""
    user = trellis.user(email)

    async def opened() -> list:
        return trellis.sandbox.open_views(user)

    [view] = await eventually(opened, within=5)
    return view


async def card_showing(
    trellis: RunningTrellis, card: Message, needle: str, within: float = 5
) -> Message:
    """The card once its update in place shows `needle`."""

    def updated(message: Message) -> bool:
        return message.ts == card.ts and needle in blocks_text(message.blocks)

    return await trellis.sandbox.wait_for_message(card.channel, updated, within)
