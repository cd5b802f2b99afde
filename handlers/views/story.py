"""An answer's story (app/trust/stories.py) as the "Why this answer?" modal shows it."""

from __future__ import annotations

from app.trust.stories import Story
from handlers.views.answers import confidence_label
from handlers.views.blocks import Block, View, clip, context, escape, link, pieces, section

STATUS_WORDS = {
    "answered": "Answered",
    "no_answer": "No well-supported answer",
    "refused": "Refused",
    "needs_approval": "Held for review",
}

REVIEW_DECISIONS = {"draft.approved": "approved", "draft.rejected": "rejected"}
"""How a held answer's review ended, as its story's outcome says it."""


def story_view(story: Story) -> View:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Why this answer?"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": story_blocks(story),
    }


def story_blocks(story: Story) -> list[Block]:
    blocks = [
        section(f"*Question*\n> {escape(clip(' '.join(story.question.split()), 500))}"),
        context(
            f"Asked by {escape(story.asker)} in {escape(story.channel or 'Slack')} "
            f"on {story.at:%Y-%m-%d %H:%M} UTC"
        ),
    ]
    status = STATUS_WORDS.get(story.status, escape(story.status))
    if story.status == "answered":
        status += f", confidence {confidence_label(story.confidence)} ({story.confidence:.2f})"
    decided = next((e for e in reversed(story.events) if e.kind in REVIEW_DECISIONS), None)
    if story.status == "needs_approval" and decided is not None:
        status += f", then {REVIEW_DECISIONS[decided.kind]} by {escape(decided.actor)}"
    blocks.append(section(f"*Outcome:* {status}"))
    if story.scope:
        outside = f", {story.outsiders} outside the directory" if story.outsiders else ""
        blocks.append(
            section(
                f"*Sources allowed:* documents {escape(story.scope)} may see "
                f"({story.readers} reader(s){outside})."
            )
        )
    blocks += [section(piece) for piece in pieces(_documents_text(story))]
    how = [f"version `{escape(story.version or '-')}`"]
    how.append(
        f"model {escape(story.model)}"
        if story.model
        else "composed directly from the sources (no AI model)"
    )
    if story.usage.input_tokens or story.usage.output_tokens:
        how.append(
            f"{story.usage.input_tokens + story.usage.cache_read_tokens + story.usage.cache_write_tokens:,}"
            f" tokens in, {story.usage.output_tokens:,} out, ${story.cost.total:.4f}"
        )
    if "total" in story.latency_ms:
        how.append(f"{story.latency_ms['total'] / 1000:.1f} s")
    blocks.append(section("*How:* " + " · ".join(how)))
    for note in story.notes[:5]:
        blocks.append(context(f":information_source: {escape(note)}"))
    if story.events:
        lines = [
            f"• {event.at:%Y-%m-%d %H:%M} {escape(event.kind.replace('.', ' ').replace('_', ' '))}"
            f" by {escape(event.actor)}" + (f" ({escape(event.detail)})" if event.detail else "")
            for event in story.events[-15:]
        ]
        blocks += [section(piece) for piece in pieces("*Since then*\n" + "\n".join(lines))]
    return blocks


def _documents_text(story: Story) -> str:
    lines = []
    for doc in story.documents[:20]:
        marks = [
            m
            for m, on in (
                ("cited", doc.cited),
                ("in your private answer", doc.private),
                ("considered for your private answer", doc.private_only),
            )
            if on
        ]
        suffix = f" — {', '.join(marks)}" if marks else ""
        lines.append(f"• {link(doc.url, doc.title)}{suffix}")
    if not lines:
        lines.append("No documents you may see were considered.")
    # The same words whether or not others were considered: nothing here can be counted.
    lines.append("_Only documents you may see are listed._")
    return "*Documents considered*\n" + "\n".join(lines)
