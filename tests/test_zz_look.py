from tests.harness import running_trellis, blocks_text
from tests.workflow_helpers import FAST, demo_peers, card_in, draft_of, until_state, wait_for_text
from tests.test_e2e_customer_reply import start_reply, ROSA
from app.drafts import DraftState

async def test_look(tmp_path):
    async with demo_peers(tmp_path) as peers, running_trellis(tmp_path, workspace=peers.workspace, configure=peers.configure, background=FAST) as trellis:
        await start_reply(trellis, peers)
        card = await card_in(trellis, "support-approvals")
        print(blocks_text(card.blocks))
        d = await draft_of(trellis, card)
        await trellis.sandbox.click_button(trellis.user(ROSA), card.channel, card.ts, "trellis_approve")
        await until_state(trellis, d.id, DraftState.DONE)
        await wait_for_text(trellis, "support", "Done: Commented")
        print("=====")
        for m in trellis.sandbox.messages(card.channel):
            print(blocks_text(m.blocks))
        print("=====")
        for m in trellis.sandbox.messages(trellis.channel("support")):
            print(m.thread_ts, m.text)
