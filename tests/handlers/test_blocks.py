"""Nothing from a document, a person or the model can broadcast, mention or spoof a link."""

from __future__ import annotations

from dataclasses import replace

from slack_sdk.models.blocks import Block

from app.answering.compose import Reply
from app.domain import AnswerStatus, Citation
from handlers.views.answers import answer_blocks
from handlers.views.blocks import escape, link

HOSTILE = "<!channel> hi <@U123> <https://evil.example|https://wiki.acme.example/reset> <script>x</script> & co"


def _all_text(blocks: list[dict]) -> str:
    out = []
    for block in blocks:
        for key in ("text",):
            if key in block:
                out.append(block[key]["text"])
        for element in block.get("elements", []):
            out.append(element.get("text", ""))
    return "\n".join(out)


def test_escape_neutralises_slacks_control_characters():
    assert escape(HOSTILE).count("<") == 0
    assert "&lt;!channel&gt;" in escape(HOSTILE)
    assert "&amp; co" in escape(HOSTILE)


def test_escape_removes_bidirectional_overrides():
    assert escape("pay \u202eTRELLIS\u202c to \u2066x\u2069") == "pay TRELLIS to x"


def test_links_only_from_http_urls_and_labels_cannot_break_out():
    assert link("javascript:alert(1)", "Policy") == "Policy"
    assert link(None, "Policy") == "Policy"
    built = link("https://wiki.acme.example/a b>|c", "Pol|icy <b>")
    assert built.startswith("<https://wiki.acme.example/a%20b%3E%7Cc|")
    assert built.count("|") == 1 and built.count("<") == 1


def test_answer_blocks_render_hostile_document_text_inert_and_are_valid_block_kit():
    reply = Reply(
        AnswerStatus.ANSWERED,
        f"It says: {HOSTILE} [1]",
        (Citation("d1", "Title <!here>", HOSTILE, "https://wiki.acme.example/d1"),),
        confidence=0.8,
        scope_label="every member of #support",
    )
    blocks = answer_blocks(reply)
    text = _all_text(blocks)
    assert "<!channel>" not in text and "<!here>" not in text and "<@U123>" not in text
    assert "<https://evil.example" not in text
    assert "<https://wiki.acme.example/d1|Title &lt;!here&gt;>" in text
    assert "Based on sources every member of #support can see" in text
    for block in blocks:
        Block.parse(block).validate_json()


def test_sources_that_share_a_title_are_told_apart_by_their_document():
    reply = Reply(
        AnswerStatus.ANSWERED,
        "Run the linter first [1]. Sign the CLA before a review [2]. Ask in #help [3].",
        (
            Citation("pip/contributing", "Contributing", "Run the linter first."),
            Citation("pytest/contributing", "contributing", "Sign the CLA before a review."),
            Citation("support", "Getting help", "Ask in #help."),
        ),
        confidence=0.8,
        scope_label="you",
    )
    text = _all_text(answer_blocks(reply))
    assert "*[1]* Contributing (pip/contributing)" in text
    assert "*[2]* contributing (pytest/contributing)" in text
    assert "*[3]* Getting help\n" in text  # a title nothing shares stays as it is


def test_a_title_shown_once_keeps_no_document_id():
    reply = Reply(
        AnswerStatus.ANSWERED,
        "Run the linter first [1].",
        (Citation("pip/contributing", "Contributing", "Run the linter first."),),
        confidence=0.8,
        scope_label="you",
    )
    assert "pip/contributing" not in _all_text(answer_blocks(reply))


def test_a_reply_that_does_not_answer_shows_the_closest_page_under_it_as_no_answer():
    reply = Reply(
        AnswerStatus.NO_ANSWER,
        "I couldn't find a well-supported answer in the documents available here.",
        confidence=0.3,
        nearest="Benefits > Health insurance <abroad>",
    )
    blocks = answer_blocks(reply)
    text = _all_text(blocks)
    assert (
        ":mag: The closest page I found is “Benefits &gt; Health insurance &lt;abroad&gt;”, "
        "but I couldn't confirm that it answers your question."
    ) in text
    assert "closest page" not in _all_text(answer_blocks(replace(reply, nearest=None)))
    for block in blocks:
        Block.parse(block).validate_json()
