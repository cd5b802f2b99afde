"""`/trellis about` and the "About Trellis here" part of App Home: the eight operating
questions answered for the reader (app/trust/about.py), laid out for Slack."""

from __future__ import annotations

from app.trust.about import About, Answer
from handlers.views.blocks import Block, context, escape, header, section

MORE = "`/trellis about` shows every answer in full, with the file or setting each comes from."


def about_text(about: About) -> str:
    facts = about.facts
    return f"About Trellis at {escape(facts.workspace)}, for {escape(facts.reader.name)}: " + (
        " ".join(f"{escape(a.question)} {escape(a.summary)}" for a in about.answers)
    )


def about_blocks(about: About) -> list[Block]:
    facts = about.facts
    blocks = [
        header(f"About Trellis at {facts.workspace}"),
        context(
            f"For {escape(facts.reader.name)}, from the live configuration (version "
            f"{escape(facts.version)}) and measurements, {facts.generated_at:%Y-%m-%d %H:%M} UTC."
        ),
    ]
    for answer in about.answers:
        blocks += [section(_answer(answer)), context("From: " + _sources(answer))]
    return blocks


def about_home_blocks(about: About) -> list[Block]:
    lines = [f"*{escape(a.question)}* {escape(a.summary)}" for a in about.answers]
    return [header("About Trellis here"), section("\n".join(lines)), context(MORE)]


def _answer(answer: Answer) -> str:
    points = "\n".join(f"• {escape(point)}" for point in answer.points)
    return f"*{escape(answer.question)}*\n{escape(answer.summary)}" + (
        f"\n{points}" if points else ""
    )


def _sources(answer: Answer) -> str:
    return ", ".join(escape(source) for source in answer.sources)
