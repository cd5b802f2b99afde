"""The one interface every answering backend implements, and what they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from app.domain import DocumentStatus, ModelAnswer, Passage, Turn, Usage

NOTE_CONFLICT = "conflict"
"""Prefix of the note naming current documents that disagree: "conflict: doc-a, doc-b"."""

NOTE_ASKER_OWNS = "asked by the topic's owner"
"""Note of an unanswered question whose asker is the only owner of its topic: nobody else
is told of it (app/trust/owners.py)."""

NOTE_DEPRECATED = "deprecated"
NOTE_UNANSWERED = "unanswered parts"
"""Note prefix: how many parts of a several-part question nothing supports."""
"""Prefix of the note naming cited documents marked deprecated: "deprecated: doc-a"."""


TextSink = Callable[[str], Awaitable[None]]
"""Where a backend that streams hands the answer's text as the model writes it. The text
is provisional: it has not been through the citation checks yet."""


@runtime_checkable
class Answerer(Protocol):
    """Answers a question from passages the asker may see.

    `passages` are already access-checked and ranked by the retriever, best first. The
    answer's citations quote text of those passages only, and `confidence` is in [0, 1]:
    each backend documents what its numbers mean. An empty `text` with confidence 0 means
    the passages do not support an answer.
    """

    name: str

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer: ...


def no_answer(
    backend: str, *, model: str | None = None, usage: Usage | None = None, notes: Sequence[str] = ()
) -> ModelAnswer:
    """The answer a backend gives when the passages do not support one."""
    return ModelAnswer(
        text="",
        citations=(),
        confidence=0.0,
        backend=backend,
        model=model,
        usage=usage or Usage(),
        notes=tuple(notes),
    )


def note_value(notes: Sequence[str], prefix: str) -> list[str]:
    """The comma-separated values of the first note "prefix: a, b", or []."""
    for note in notes:
        head, sep, rest = note.partition(":")
        if sep and head.strip() == prefix:
            return [v.strip() for v in rest.split(",") if v.strip()]
    return []


def drop_superseded(passages: Sequence[Passage]) -> tuple[list[Passage], set[str]]:
    """The passages to answer from, without documents a current one in the list replaces.

    A current passage's `supersedes` names the older doc_id; the older document is left
    out (and so is whatever it superseded in turn). Returns the kept passages in their
    original order and the doc_ids that were left out.
    """
    superseded: set[str] = set()
    frontier = [
        p.supersedes for p in passages if p.status == DocumentStatus.CURRENT and p.supersedes
    ]
    while frontier:
        doc_id = frontier.pop()
        if doc_id in superseded:
            continue
        superseded.add(doc_id)
        frontier.extend(p.supersedes for p in passages if p.doc_id == doc_id and p.supersedes)
    kept = [p for p in passages if p.doc_id not in superseded]
    if any(p.status == DocumentStatus.CURRENT for p in passages) and not any(
        p.status == DocumentStatus.CURRENT for p in kept
    ):
        # Only a cycle of documents superseding each other gets here: a data error that
        # should not silence every source.
        return list(passages), set()
    return kept, {p.doc_id for p in passages if p.doc_id in superseded}


def section_heading(passage: Passage) -> str:
    """The heading path of the passage's section ("Policy > Carry-over"), when it carries one.

    `Passage` may gain a `heading` field from the knowledge index; until then this is "".
    """
    return str(getattr(passage, "heading", "") or "")


def describe_source(passage: Passage) -> str:
    """Document title and section, as the reader would name the source."""
    heading = section_heading(passage)
    title = passage.title or passage.doc_id
    return f"{title} > {heading}" if heading and heading != title else title
