"""`/trellis ask` answers through the command's response URL, which Slack takes for 30
minutes (and 5 responses). An answer that comes later still reaches the asker: as a message
only they see in the channel, or, when they are no longer in it, in a direct message."""

from __future__ import annotations

import time

from tests.e2e.test_respond_first import HeldAnswerer
from tests.harness import RunningTrellis, running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"


async def asked_long_ago(trellis: RunningTrellis, held: HeldAnswerer) -> tuple[str, str]:
    """Sam asks in #support; the answer is held until 31 minutes have passed (by the
    sandbox's clock). Sam's id and the channel's."""
    sam, support = trellis.user(SAM), trellis.channel("support")
    await trellis.sandbox.slash_command(sam, support, "/trellis", f"ask {QUESTION}")
    await held.asked_at_least(1)
    trellis.sandbox.workspace.clock = lambda: time.time() + 31 * 60
    return sam, support


async def test_an_answer_after_the_response_url_expired_is_shown_to_the_asker_alone(tmp_path):
    held = HeldAnswerer()
    async with running_trellis(tmp_path, answerer_for=lambda _: held) as trellis:
        sam, support = await asked_long_ago(trellis, held)
        held.release.set()

        answer = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Trail Day" in shown_text(e)
        )
        assert answer.channel == support
        [refused] = trellis.sandbox.calls_to("response_url")
        assert refused.status == 404 and refused.response["error"] == "expired_url"


async def test_a_late_answer_to_someone_who_left_the_channel_comes_by_direct_message(tmp_path):
    held = HeldAnswerer()
    async with running_trellis(tmp_path, answerer_for=lambda _: held) as trellis:
        sam, support = await asked_long_ago(trellis, held)
        workspace = trellis.sandbox.workspace
        workspace.conversations[support].members.remove(sam)
        held.release.set()

        im = workspace.open_im(sam)
        dm = await trellis.sandbox.wait_for_message(im.id, lambda m: "Trail Day" in shown_text(m))
        assert dm.bot_id is not None
        assert not [e for e in trellis.sandbox.ephemerals(sam) if "Trail Day" in shown_text(e)]
