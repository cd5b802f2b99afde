"""Where guests read along, Trellis names no internal channel (real Bolt app, sandbox).

#general has a guest (Gina Guest); #support has only staff. A question nobody could answer
is told in both where it goes, but only #support hears the owners channel and the support
channel named.
"""

from __future__ import annotations

from tests.harness import running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"  # support
UNANSWERED = "Where can I park my car at the office?"  # the demo's documents do not say


async def test_a_no_answer_reply_a_guest_reads_names_no_internal_channel(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(SAM, "general", UNANSWERED)
        seen_by_guest = shown_text(await trellis.answer_in_thread("general", ts))
        assert "couldn't find a well-supported answer" in seen_by_guest
        assert "pass your question on to the document owners" in seen_by_guest
        assert "#" not in seen_by_guest, seen_by_guest

        ts = await trellis.ask(SAM, "support", UNANSWERED)
        staff_only = shown_text(await trellis.answer_in_thread("support", ts))
        assert "the document owners in #trellis-owners" in staff_only
        assert "You can also ask in #help-trellis." in staff_only
