"""What conditions see: the values of `requester`, `channel`, `input` and `draft`.

Each builder turns what the app has at hand (a Person, a Slack channel, a workflow's
input, an AI draft) into the plain values a CEL condition reads; `app.rules.conditions`
describes the fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.domain import Passage, Person
from app.errors import InvalidValue
from app.rules.inputs import coerce, is_blank
from app.rules.schema import Workflow


@dataclass(frozen=True)
class CitedDoc:
    doc_id: str
    title: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftFacts:
    """What conditions may know about an AI draft or answer."""

    text: str = ""
    confidence: float = 0.0
    citations: tuple[CitedDoc, ...] = ()

    @classmethod
    def from_passages(
        cls, *, text: str, confidence: float, cited: Iterable[str], passages: Iterable[Passage]
    ) -> DraftFacts:
        """Facts for an answer citing the documents `cited`, with tags from `passages`."""
        by_doc: dict[str, Passage] = {}
        for passage in passages:
            by_doc.setdefault(passage.doc_id, passage)
        docs = []
        for doc_id in dict.fromkeys(cited):
            found = by_doc.get(doc_id)
            docs.append(
                CitedDoc(doc_id, found.title if found else "", tuple(found.tags) if found else ())
            )
        return cls(text=text, confidence=confidence, citations=tuple(docs))


def requester_facts(person: Person) -> dict[str, Any]:
    return {
        "email": person.email.lower(),
        "name": person.name,
        "groups": sorted(person.groups),
        "department": person.department or "",
        "region": person.region or "",
        "title": person.title or "",
        "manager": (person.manager or "").lower(),
    }


def channel_facts(channel: Any) -> dict[str, Any]:
    """Accepts a mapping or any object with id/name/is_shared/is_private/is_dm (or is_im)."""

    def get(key: str, default: Any) -> Any:
        if channel is None:
            return default
        if isinstance(channel, Mapping):
            return channel.get(key, default)
        return getattr(channel, key, default)

    return {
        "id": str(get("id", "") or ""),
        "name": str(get("name", "") or "").lstrip("#"),
        "is_shared": bool(get("is_shared", False)),
        "is_private": bool(get("is_private", False)),
        "is_dm": bool(get("is_dm", get("is_im", False))),
    }


def draft_facts(draft: Any) -> dict[str, Any]:
    """Accepts DraftFacts, a mapping of the same shape, or None (no draft yet)."""
    if draft is None:
        return {"text": "", "confidence": 0.0, "citations": [], "tags": []}
    get = draft.get if isinstance(draft, Mapping) else lambda k, d=None: getattr(draft, k, d)
    citations = []
    for c in get("citations", ()) or ():
        cget = c.get if isinstance(c, Mapping) else lambda k, d=None, c=c: getattr(c, k, d)
        citations.append(
            {
                "doc_id": str(cget("doc_id", "") or ""),
                "title": str(cget("title", "") or ""),
                "tags": [str(t) for t in cget("tags", ()) or ()],
            }
        )
    tags = sorted({t for c in citations for t in c["tags"]})
    return {
        "text": str(get("text", "") or ""),
        "confidence": float(get("confidence", 0.0) or 0.0),
        "citations": citations,
        "tags": tags,
    }


def input_facts(workflow: Workflow, values: Mapping[str, Any]) -> dict[str, Any]:
    """Input values as CEL sees them: a `number` is always a double.

    A value that does not fit its field (wrong type, out of bounds) is left out, so a
    condition on it fails and the decision falls on the safe side.
    """
    facts: dict[str, Any] = {}
    for name, value in values.items():
        spec = workflow.inputs.get(name)
        if is_blank(value):
            continue
        if spec is None:
            facts[name] = value
            continue
        try:
            facts[name] = coerce(spec, value)
        except InvalidValue:
            continue
    return facts
