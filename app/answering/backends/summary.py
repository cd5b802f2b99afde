"""A document summarised on request: "Summarise the Return Policy", "What are the main
points of the Expense Policy?".

A question that asks for a summary of one document, naming it by its title, is not a
question any one sentence answers, so the extractive answerer's scoring would refuse it.
`summarise` answers it instead with the first statement of each of that document's
sections among the retrieved passages (its opening, then what each heading says first),
in the document's order, every one quoted as written and citing the document.
Only a document the audience may see can be named: the passages are already filtered.
Deterministic and offline, like the rest of the extractive answerer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from app.answering.backends.quotes import says_something
from app.domain import Citation, ModelAnswer, Passage
from app.knowledge.chunking import chunk_ordinal
from app.text.sentences import split_sentences

_ASKED = re.compile(
    r"^\s*(?:please\s+|can you\s+|could you\s+)?"
    r"(?:summari[sz]e|sum up|give me (?:a |the )?(?:summary|overview) of|"
    r"(?:what are|list|tell me) the (?:main|key) points (?:of|in)|"
    r"(?:what is |give me )?(?:a |an |the )?(?:summary|overview|tl;?dr) of)\s+"
    r"(?:the |our )?(?P<title>.+?)[\s?.!]*$",
    re.IGNORECASE,
)
MOST_POINTS = 5
"""Statements a summary quotes at most."""
TITLE_LIKENESS = 0.9
"""How alike the named title and a document's title must be (difflib's ratio)."""
CONFIDENCE = 0.9
"""A summary of the document named is what was asked, whatever its words."""


def summary_asked(question: str) -> str | None:
    """The title a question asks to have summarised, as written, or None."""
    match = _ASKED.match(question)
    return match.group("title").strip() if match else None


def summarise(question: str, passages: Sequence[Passage], backend: str) -> ModelAnswer | None:
    """The named document's main points from `passages`, or None when the question asks for
    no summary or names no document among them."""
    title = summary_asked(question)
    if title is None:
        return None
    named = _named(title, passages)
    if not named:
        return None
    points: list[tuple[Passage, str]] = []
    for passage in named:
        statement = next(
            (s.text.strip() for s in split_sentences(passage.text) if _a_point(s.text, s.kind)),
            None,
        )
        if statement and all(statement != said for _, said in points):
            points.append((passage, statement))
        if len(points) >= MOST_POINTS:
            break
    if not points:
        return None
    first, quote = points[0]
    citation = Citation(
        doc_id=first.doc_id, title=first.title, quote=quote, url=first.url, chunk_id=first.chunk_id
    )
    text = "\n".join(f"• {_plain(said)} [1]" for _, said in points)
    return ModelAnswer(
        text=f"The main points of {first.title}:\n{text}",
        citations=(citation,),
        confidence=CONFIDENCE,
        backend=backend,
    )


def _named(title: str, passages: Sequence[Passage]) -> list[Passage]:
    """The passages of the document whose title is the one named ("the parental leave
    policy" names "Parental Leave"), in the document's order."""
    wanted = _folded(title)
    likeness: dict[str, float] = {}
    for passage in passages:
        own = _folded(passage.title)
        ratio = SequenceMatcher(None, wanted, own).ratio()
        if ratio < TITLE_LIKENESS and _within(own, wanted):
            ratio = TITLE_LIKENESS
        likeness.setdefault(passage.doc_id, ratio)
    best = max(likeness, key=lambda d: likeness[d], default=None)
    if best is None or likeness[best] < TITLE_LIKENESS:
        return []
    named = [p for p in passages if p.doc_id == best]
    return sorted(named, key=_place)


def _place(passage: Passage) -> int:
    """Where the passage sits in its document; one whose place is unknown comes last."""
    ordinal = chunk_ordinal(passage.chunk_id)
    return ordinal if ordinal is not None else 1 << 30


def _within(title: str, named: str) -> bool:
    """A title of two words or more named whole, with a word for what it is around it
    ("the parental leave policy"), or two words or more of it named in a row ("the company
    handbook" for "Northwind Company Handbook")."""
    extra = set(named.split()) - set(title.split())
    if len(title.split()) >= 2 and f" {title} " in f" {named} " and extra <= _KINDS:
        return True
    return len(named.split()) >= 2 and f" {named} " in f" {title} "


_KINDS = frozenset(
    ("policy", "policies", "guide", "guidelines", "guideline", "document", "doc", "page")
    + ("process", "procedure", "handbook", "manual", "file", "rules", "faq", "sheet")
)
"""Words for what a document is, said around its title when it is named."""


def _a_point(text: str, kind: str) -> bool:
    return kind == "sentence" and says_something(text) and len(text.split()) >= 4


def _plain(text: str) -> str:
    return " ".join(text.replace("**", "").split())


def _folded(text: str) -> str:
    text = re.sub(r"^(the|our)\s+", "", text.casefold().strip())
    return " ".join(re.findall(r"\w+", text))
