"""A software consultancy's workspace (tests/data/workspaces/consultancy) for draft tests:
expense claims in three tiers and client replies a partner approves, both emailed once
approved; an expense policy everyone may read, and engineering notes that share common
words ("start") with requests they do not answer."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.harness import RunningTrellis, blocks_text
from tests.workflow_helpers import draft_of, is_card

WORKSPACE = Path(__file__).parents[1] / "data" / "workspaces" / "consultancy"
LEO = "leo.martin@heron.example"  # junior engineer
SVEN = "sven.olsen@heron.example"  # account manager
PRIYA = "priya.nair@heron.example"  # finance
MARIA = "maria.lopez@heron.example"  # partner
POLICY = "finance/expense-policy"
TRAIN = 'expense_claim amount=320 what="train tickets to the Harbour Logistics site"'
TAXI = (
    'expense_claim amount=120 what="Taxi at 23:30 back from the data centre, carrying two servers"'
)
MEALS = 'expense_claim amount=60 what="Meals while travelling to a client site"'
CAKE = 'expense_claim amount=80 what="Birthday cake for the office party"'
START = (
    'client_reply client="City Library" contact=it@library.example question="When can you start?"'
)


def emailing_to(tmp_path: Path, port: int) -> Path:
    """A copy of the workspace whose email connector is the SMTP server on `port`."""
    target = tmp_path / "consultancy"
    shutil.copytree(WORKSPACE, target)
    rules = target / "rules.yml"
    rules.write_text(rules.read_text().replace("port: 2525", f"port: {port}"))
    return target


async def request_card(trellis: RunningTrellis, email: str, command: str):
    """Start a workflow from #general and return (its card, the card's text, its draft)."""
    channel = trellis.channel("approvals")
    before = {m.ts for m in trellis.sandbox.messages(channel)}
    await trellis.sandbox.slash_command(
        trellis.user(email), trellis.channel("general"), "/trellis", command
    )
    card = await trellis.sandbox.wait_for_message(
        channel, lambda m: is_card(m) and m.ts not in before, 20
    )
    return card, blocks_text(card.blocks), await draft_of(trellis, card)


def buttons(card) -> dict[str, str]:
    """The card's buttons: action id -> label."""
    [decision] = [b for b in card.blocks if b.get("block_id") == "trellis_decision"]
    return {e["action_id"]: e["text"]["text"] for e in decision["elements"]}
