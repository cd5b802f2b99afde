from tests.harness import running_trellis, blocks_text
from tests.workflow_helpers import FAST, demo_peers, card_in, draft_of, until_state, wait_for_text
from app.drafts import DraftState

LIAM = "liam.carter@northwind.example"
SOFIA = "sofia.marino@northwind.example"

async def test_smoke(tmp_path):
    async with demo_peers(tmp_path) as peers:
        async with running_trellis(tmp_path, workspace=peers.workspace, configure=peers.configure, background=FAST) as trellis:
            ack = await trellis.sandbox.slash_command(trellis.user(LIAM), trellis.channel("sales"), "/trellis",
                'discount_request customer="Alpine Co." percent=15 reason="Volume commitment for the spring order"')
            print("ACK", ack)
            import asyncio
            await asyncio.sleep(4)
            for m in trellis.sandbox.messages(trellis.channel("sales")):
                print("SALES", m.ts, m.thread_ts, m.text, blocks_text(m.blocks))
            for c in trellis.sandbox.workspace.calls[-15:]:
                print("CALL", c.method, c.status, str(c.response)[:300])
            card = await card_in(trellis, "deal-approvals")
            print(blocks_text(card.blocks))
            draft = await draft_of(trellis, card)
            await trellis.sandbox.click_button(trellis.user(SOFIA), card.channel, card.ts, "trellis_approve")
            view = await until_state(trellis, draft.id, DraftState.DONE, DraftState.FAILED)
            print(view.state, view.outbox)
            msg = await wait_for_text(trellis, "sales", "Done:")
            for m in trellis.sandbox.messages(trellis.channel("sales")):
                print("SALES", m.ts, m.thread_ts, m.text)
            for m in trellis.sandbox.messages(trellis.channel("deal-approvals")):
                print("CARD", blocks_text(m.blocks))
            print(await peers.crm_rows(), peers.webhook.deliveries)
