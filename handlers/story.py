"""The "Why this answer?" button: the answer's story in a modal, as the clicker may see it."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from app.services import Services
from app.trust import stories
from app.trust.stories import Story
from handlers.asking import failure_text
from handlers.blocks import WHY, clip, confidence_label, escape, link

STATUS_WORDS = {
    "answered": "Answered",
    "no_answer": "No well-supported answer",
    "refused": "Refused",
    "needs_approval": "Held for review",
}


def register(app) -> None:
    app.action(WHY)(on_why)


async def on_why(ack, body: dict, action: dict, client, respond, services: Services) -> None:
    await ack()
    try:
        viewer = await services.identity.resolve(body["user"]["id"])
        story = await stories.for_viewer(
            services.database,
            answer_id=action["value"],
            viewer=viewer,
            directory=services.workspace.directory,
        )
    except Exception as exc:  # the person is always told
        await respond(text=failure_text(exc), response_type="ephemeral", replace_original=False)
        return
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=story_view(story))
    except SlackApiError:
        await respond(
            text="How this answer was made",
            blocks=story_blocks(story),
            response_type="ephemeral",
            replace_original=False,
        )


def story_view(story: Story) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Why this answer?"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": story_blocks(story),
    }


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 2900)}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 2900)}]}


def story_blocks(story: Story) -> list[dict]:
    blocks = [
        _section(f"*Question*\n> {escape(clip(' '.join(story.question.split()), 500))}"),
        _context(
            f"Asked by {escape(story.asker)} in {escape(story.channel or 'Slack')} "
            f"on {story.at:%Y-%m-%d %H:%M} UTC"
        ),
    ]
    status = STATUS_WORDS.get(story.status, escape(story.status))
    if story.status == "answered":
        status += f", confidence {confidence_label(story.confidence)} ({story.confidence:.2f})"
    blocks.append(_section(f"*Outcome:* {status}"))
    if story.scope:
        outside = f", {story.outsiders} outside the directory" if story.outsiders else ""
        blocks.append(
            _section(
                f"*Sources allowed:* documents {escape(story.scope)} may see "
                f"({story.readers} reader(s){outside})."
            )
        )
    blocks.append(_section(_documents_text(story)))
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
    blocks.append(_section("*How:* " + " · ".join(how)))
    for note in story.notes[:5]:
        blocks.append(_context(f":information_source: {escape(note)}"))
    if story.events:
        lines = [
            f"• {event.at:%Y-%m-%d %H:%M} {escape(event.kind.replace('.', ' ').replace('_', ' '))}"
            f" by {escape(event.actor)}" + (f" ({escape(event.detail)})" if event.detail else "")
            for event in story.events[-15:]
        ]
        blocks.append(_section("*Since then*\n" + "\n".join(lines)))
    return blocks


def _documents_text(story: Story) -> str:
    lines = []
    for doc in story.documents[:20]:
        marks = [
            m for m, on in (("cited", doc.cited), ("in your private answer", doc.private)) if on
        ]
        suffix = f" — {', '.join(marks)}" if marks else ""
        lines.append(f"• {link(doc.url, doc.title)}{suffix}")
    if not lines:
        lines.append("No documents you may see were considered.")
    # The same words whether or not others were considered: nothing here can be counted.
    lines.append("_Only documents you may see are listed._")
    return "*Documents considered*\n" + "\n".join(lines)
