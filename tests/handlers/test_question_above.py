""" "@Trellis can you answer this?" under a colleague's question in a thread is answered as
that question, under a line saying which; a mention that asks something itself is
answered as written, and so is one in a thread Trellis has answered in (real Bolt app
over Socket Mode)."""

from __future__ import annotations

from tests.harness import blocks_text, running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"
ROSA = "rosa.delgado@northwind.example"
ABOVE = "When is Trail Day in 2026? The depot wants to know"


async def test_a_mention_pointing_above_answers_the_colleagues_question(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        parent = await trellis.ask(ROSA, "support", ABOVE, mention=False)
        await trellis.ask(SAM, "support", "sam here, no idea", mention=False, thread_ts=parent)
        await trellis.ask(SAM, "support", "can you answer this?", thread_ts=parent)
        answer = await trellis.answer_in_thread("support", parent)
        assert "October 9" in shown_text(answer)
        assert "Answering the question above: \u201cWhen is Trail Day" in blocks_text(answer.blocks)

        alone = await trellis.ask(ROSA, "support", ABOVE, mention=False)
        await trellis.ask(SAM, "support", "", thread_ts=alone)  # the mention alone
        answer = await trellis.answer_in_thread("support", alone)
        assert "October 9" in shown_text(answer)


async def test_a_mention_that_asks_something_itself_is_answered_as_written(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        parent = await trellis.ask(ROSA, "support", ABOVE, mention=False)
        await trellis.ask(
            SAM,
            "support",
            "What apology code can I add to a delayed shipment reply?",
            thread_ts=parent,
        )
        answer = await trellis.answer_in_thread("support", parent)
        assert "apology code" in shown_text(answer) and "question above" not in shown_text(answer)


async def test_in_a_thread_trellis_answered_the_words_point_at_its_answer(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        asked = await trellis.ask(SAM, "support", "When is Trail Day in 2026?")
        await trellis.answer_in_thread("support", asked)
        replies = len(trellis.bot_replies("support", asked))
        await trellis.ask(SAM, "support", "can you explain this?", thread_ts=asked)
        await trellis.sandbox.wait_until(
            lambda: len(done(trellis, asked)) > replies or None, 15, "the follow-up's answer"
        )
        assert all(
            "question above" not in shown_text(m) for m in trellis.bot_replies("support", asked)
        )


def done(trellis, ts: str):
    return [
        m
        for m in trellis.bot_replies("support", ts)
        if not m.streaming and "Looking through" not in (m.text or "")
    ]
