"""A member Slack says changed (`user_change`: here, made a guest) is answered as who they
now are at once, not as who Trellis had cached (real Bolt app over Socket Mode)."""

from __future__ import annotations

from app.sandbox.events import event_callback
from app.sandbox.socket_mode import new_event_id
from tests.harness import running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"


async def test_a_member_made_a_guest_is_refused_at_once(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sam = trellis.user(SAM)
        asked = await trellis.ask(SAM, "support", QUESTION)
        assert "October 9" in shown_text(await trellis.answer_in_thread("support", asked))

        workspace = trellis.sandbox.workspace
        workspace.users[sam].is_restricted = True  # an admin makes Sam a guest
        changed = {"type": "user_change", "user": {"id": sam, "is_restricted": True}}
        trellis.sandbox.deliver_event(
            event_callback(workspace, changed, event_id=new_event_id()), retry_attempt=0
        )
        dm = workspace.open_im(sam).id
        again = await trellis.sandbox.post_message(sam, trellis.bot, QUESTION)
        reply = await trellis.answer_in_thread(dm, again)
        assert "October 9" not in shown_text(reply)
        assert "verify" in shown_text(reply), shown_text(reply)
