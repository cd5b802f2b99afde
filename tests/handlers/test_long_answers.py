"""Long answers and long lists of sources reach Slack whole: the text is split into sections
of at most 3000 characters (Slack's limit for a section) at line, sentence or word
boundaries, never inside a link, an escaped character or a citation marker; a message keeps
to Slack's 50 blocks and the text Slack takes in one message's blocks, an answer longer
than that says where it stops, and sources that do not fit are counted, not cut. An approved
answer is posted as the approver read it on the card."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from app.answering.compose import Reply
from app.domain import AnswerStatus, Citation, ModelAnswer, Passage, Turn
from handlers.answer_stream import pieces as stream_pieces
from handlers.views.answers import ANSWER_GOES_ON, answer_blocks
from handlers.views.blocks import MESSAGE_TEXT, escape, pieces, text_in
from tests.harness import running_trellis
from tests.workflow_helpers import card_in, wait_for_text

ROSA = "rosa.delgado@northwind.example"
SAM = "sam.ortiz@northwind.example"
HELD = "Within how many days can unused gear be returned?"  # held for review by the rules
WHOLE = re.compile(r"<[^<>\n]*>|&[a-z]+;|\[\d+\]")

words = st.sampled_from(
    ["tent", "returns", "<https://wiki.example/a b|Return Policy>", "&amp;", "[3]", "[12]", "day."]
)
separators = st.sampled_from([" ", " ", " ", "\n", ". ", "! "])
texts = st.lists(st.tuples(words, separators), min_size=1, max_size=900).map(
    lambda parts: "".join(w + s for w, s in parts)
)


def flat(text: str) -> str:
    return " ".join(text.split())


@given(texts, st.integers(min_value=60, max_value=400))
def test_pieces_keep_every_word_and_never_cut_a_link_entity_or_marker(text, limit):
    cut = pieces(text, limit=limit)
    assert all(len(piece) <= limit for piece in cut)
    assert flat(" ".join(cut)) == flat(text)
    whole = [m.group() for m in WHOLE.finditer(text)]
    assert [m.group() for piece in cut for m in WHOLE.finditer(piece)] == whole


@given(texts, st.integers(min_value=60, max_value=400))
def test_a_streamed_text_is_sent_in_pieces_slack_joins_back_to_the_same_text(text, limit):
    sent = stream_pieces(text, limit=limit)
    assert "".join(sent) == text  # not a character dropped: Slack joins them as they come
    assert all(len(piece) <= limit for piece in sent)
    whole = [m.group() for m in WHOLE.finditer(text)]
    assert [m.group() for piece in sent for m in WHOLE.finditer(piece)] == whole


def test_a_quoted_text_stays_quoted_where_a_long_line_is_cut():
    line = ">" + "word " * 1000
    cut = pieces(line, limit=500, carry=">")
    assert len(cut) > 1 and all(piece.startswith(">") for piece in cut)


def long_reply(sources: int, *, words: int = 800) -> Reply:
    citations = tuple(
        Citation(
            f"doc-{i}",
            f"Policy {i} & terms",
            "Unused gear can be returned within 60 days of purchase. " * 6,
            f"https://wiki.northwind.example/policies/{i}",
        )
        for i in range(1, sources + 1)
    )
    sentences = [
        f"Point {n}: unused gear & tents come back within 60 days [{n % sources + 1}]."
        for n in range(words // 10)
    ]
    return Reply(AnswerStatus.ANSWERED, " ".join(sentences), citations, 0.8, answer_id="a1")


def shown_text(blocks: Sequence[dict]) -> str:
    return "\n".join(
        b["text"]["text"] for b in blocks if b.get("type") == "section" and "text" in b
    )


def test_a_long_answer_with_eight_sources_is_shown_whole_in_valid_blocks():
    reply = long_reply(8)
    assert len(reply.text) > 4500
    blocks = answer_blocks(reply, checked_by="Rosa Delgado")
    assert len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()
    text_sections = [b["text"]["text"] for b in blocks if b.get("type") == "section"]
    answer = [t for t in text_sections if not t.startswith("*[")]
    assert len(answer) >= 2 and all(len(t) <= 3000 for t in text_sections)
    assert flat(" ".join(answer)) == flat(escape(reply.text))
    shown = shown_text(blocks)
    for number in range(1, 9):
        assert f"*[{number}]* <https://wiki.northwind.example/policies/{number}|" in shown
    assert "Checked by Rosa Delgado" in str(blocks[-1])


def test_an_answer_longer_than_one_message_holds_says_where_it_stops():
    reply = long_reply(8, words=3000)
    assert len(reply.text) > MESSAGE_TEXT
    blocks = answer_blocks(reply, checked_by="Rosa Delgado")
    # Slack refuses blocks holding more than about 13,200 characters (msg_blocks_too_long).
    assert text_in(blocks) <= MESSAGE_TEXT and len(blocks) <= 50
    shown = shown_text(blocks)
    assert ANSWER_GOES_ON in shown
    assert flat(shown).startswith(flat(escape(reply.text))[:5000])
    listed = re.findall(r"\*\[(\d+)\]\* <", shown)
    more = re.findall(r"…and (\d+) more sources?", shown)
    assert len(listed) + sum(map(int, more)) == 8 and listed


def test_sources_beyond_one_message_are_counted_not_cut():
    reply = long_reply(400, words=400)
    blocks = answer_blocks(reply, private_note="Only you can see this.")
    assert len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()
    shown = shown_text(blocks)
    listed = re.findall(r"\*\[(\d+)\]\* <https://wiki\.northwind\.example/policies/(\d+)\|", shown)
    assert all(a == b for a, b in listed)
    [more] = re.findall(r"…and (\d+) more sources", shown)
    assert len(listed) + int(more) == 400
    assert flat(escape(reply.text)) in flat(shown)


class LongAnswerer:
    """A model that writes a long answer citing every passage it was given."""

    name = "long-model"

    def __init__(self, steps: int = 90, *, sources: int | None = None) -> None:
        self.steps = steps
        self.sources = sources

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        passages = passages[: self.sources]
        citations = tuple(Citation(p.doc_id, p.title, p.text[:200], p.url) for p in passages)
        sentences = [
            f"Step {n}: unused gear & tents <in their box> can come back [{n % len(passages) + 1}]."
            for n in range(self.steps)
        ]
        return ModelAnswer(" ".join(sentences), citations, 0.9, backend="long-model")


def quoted_draft(card_text: str) -> str:
    lines = [line[1:] for line in card_text.split("\n") if line.startswith(">")]
    return flat(" ".join(lines))


async def test_an_approved_long_answer_is_posted_as_the_approver_read_it(tmp_path):
    async with running_trellis(tmp_path, answerer_for=lambda _: LongAnswerer()) as trellis:
        ts = await trellis.ask(SAM, "support", HELD)
        await trellis.answer_in_thread("support", ts)
        card = await card_in(trellis, "support-approvals")
        read = quoted_draft(shown_text(card.blocks))
        assert len(read) > 4000
        await trellis.sandbox.click_button(
            trellis.user(ROSA), card.channel, card.ts, "trellis_approve"
        )

        posted = await wait_for_text(
            trellis, "support", "Checked by Rosa Delgado", where=lambda m: m.thread_ts == ts
        )
        sections = [t for t in shown_text(posted.blocks).split("\n") if t]
        answer = flat(" ".join(t for t in sections if t.startswith("Step")))
        assert answer == read
        cited = re.findall(r"^\*\[(\d+)\]\* <", shown_text(posted.blocks), re.M)
        sources = re.findall(r"\[(\d+)\] <", shown_text(card.blocks) + str(card.blocks))
        assert cited and sorted(set(cited), key=int) == sorted(set(sources), key=int)


async def test_an_answer_longer_than_a_slack_message_is_posted_not_refused(tmp_path):
    answerer = LongAnswerer(steps=260, sources=1)  # the holiday calendar: posted unreviewed
    async with running_trellis(tmp_path, answerer_for=lambda _: answerer) as trellis:
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, "When is Trail Day in 2026?")
        im = trellis.dm_with(SAM)
        reply = await trellis.answer_in_thread(im, ts)
        shown = shown_text(reply.blocks)
        assert "Step 0:" in shown and ANSWER_GOES_ON in shown
        assert text_in(reply.blocks) <= MESSAGE_TEXT
