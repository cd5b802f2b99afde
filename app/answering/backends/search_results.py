"""Passages as the Messages API is sent them (`search_result` blocks, one text block per
sentence), and the citations of its reply mapped back to those passages, checked with
`verify_citations` and numbered in order of first use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.answering.base import describe_source
from app.answering.citations import normalize_quote, verify_citations
from app.domain import Citation, DocumentStatus, Passage
from app.text.sentences import Sentence


@dataclass(frozen=True)
class SentResult:
    """A passage as it was sent: its search_result block and the sentence of each text block."""

    passage: Passage
    source: str
    sentences: tuple[Sentence, ...]

    def block(self) -> dict[str, Any]:
        title = describe_source(self.passage)
        if self.passage.status in (DocumentStatus.DEPRECATED, DocumentStatus.DRAFT):
            title = f"{title} ({self.passage.status})"
        return {
            "type": "search_result",
            "source": self.source,
            "title": title,
            "content": [{"type": "text", "text": s.text} for s in self.sentences],
            "citations": {"enabled": True},
        }

    def quote(self, start: int, end: int) -> str | None:
        """The exact passage text of content blocks [start, end), or None if out of range."""
        if not 0 <= start < end <= len(self.sentences):
            return None
        return self.passage.text[self.sentences[start].start : self.sentences[end - 1].end]


@dataclass
class Citer:
    """Checks a reply's citations block by block and numbers the ones that hold, in order
    of first use: the same numbering whether the blocks come whole or streamed."""

    sent: Sequence[SentResult]
    citations: list[Citation] = field(default_factory=list)
    rejected: int = 0
    cited_chunks: set[str] = field(default_factory=set)
    _numbers: dict[tuple[str, str], int] = field(default_factory=dict)

    def markers(self, raw_citations: Sequence[Any]) -> list[int]:
        """The numbers of one text block's verified citations."""
        passages = [s.passage for s in self.sent]
        markers: list[int] = []
        for raw in raw_citations:
            claim = claim_of(raw, self.sent)
            kept = verify_citations([claim], passages)[0] if claim else []
            if not kept:
                self.rejected += 1
                continue
            citation = kept[0]
            key = (citation.chunk_id or citation.doc_id, normalize_quote(citation.quote))
            if key not in self._numbers:
                self.citations.append(citation)
                self._numbers[key] = len(self.citations)
            if self._numbers[key] not in markers:
                markers.append(self._numbers[key])
            self.cited_chunks.add(citation.chunk_id or citation.doc_id)
        return markers


def marked(markers: Sequence[int]) -> str:
    return "".join(f" [{n}]" for n in markers)


def claim_of(raw: Any, sent: Sequence[SentResult]) -> Citation | None:
    """What a `search_result_location` citation claims, in passage terms; None if unmappable.

    The quote is the exact passage text of the cited block range when `cited_text` is
    those blocks (the API concatenates them); otherwise `cited_text` as given, which
    `verify_citations` then has to find in the passage.
    """
    if getattr(raw, "type", None) != "search_result_location":
        return None
    index = getattr(raw, "search_result_index", None)
    source = getattr(raw, "source", None)
    if isinstance(index, int) and 0 <= index < len(sent) and sent[index].source == source:
        result = sent[index]
    else:
        # The index and the source disagree: trust neither blindly, follow the source.
        matching = [r for r in sent if r.source == source]
        if not matching:
            return None
        result = matching[0]
    cited_text = str(getattr(raw, "cited_text", "") or "")
    start = getattr(raw, "start_block_index", None)
    end = getattr(raw, "end_block_index", None)
    quote = cited_text
    if isinstance(start, int) and isinstance(end, int):
        exact = result.quote(start, end)
        blocks = "".join(s.text for s in result.sentences[start:end])
        if exact is not None and _squeezed(blocks) == _squeezed(cited_text):
            quote = exact
    return Citation(
        doc_id=result.passage.doc_id,
        title=result.passage.title,
        quote=quote,
        url=result.passage.url,
        chunk_id=result.passage.chunk_id,
    )


def _squeezed(text: str) -> str:
    return "".join(normalize_quote(text).split())
