"""The typed objects that travel along the chain.

Every stage of `app/pipeline.py` takes and returns these, never Slack payloads. They are
plain frozen dataclasses so they can be compared, hashed and logged without surprises.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

EVERYONE = "everyone"
"""Every person listed in the directory."""

PUBLIC = "public"
"""Anyone at all, people outside the directory included."""


@dataclass(frozen=True)
class Person:
    """A business identity from the directory."""

    email: str
    name: str
    slack_id: str | None = None
    employee_id: str | None = None
    title: str | None = None
    department: str | None = None
    groups: frozenset[str] = frozenset()
    manager: str | None = None
    region: str | None = None

    @property
    def principals(self) -> frozenset[str]:
        """Every principal this person answers to in an access list."""
        return frozenset({self.email.lower(), EVERYONE, PUBLIC, *self.groups})


OUTSIDER_PRINCIPALS = frozenset({PUBLIC})
"""What someone who is not in the directory (a guest, an external user) may see."""


@dataclass(frozen=True)
class AccessScope:
    """What an audience may see.

    `viewers` holds one principal set per distinct viewer. A document is in scope only
    when its access list names a principal of *every* viewer, so an answer posted where
    several people read it shows only what all of them may see. A scope with no viewers
    sees nothing: secure by default.
    """

    viewers: tuple[frozenset[str], ...]
    label: str = ""

    @classmethod
    def for_person(cls, person: Person) -> AccessScope:
        return cls(viewers=(person.principals,), label=person.email)

    @classmethod
    def for_viewers(cls, viewers: Iterable[frozenset[str]], label: str = "") -> AccessScope:
        unique = sorted({frozenset(v) for v in viewers}, key=lambda s: sorted(s))
        # A viewer whose principals include another viewer's adds no new constraint.
        minimal = [v for v in unique if not any(o < v for o in unique)]
        return cls(viewers=tuple(minimal), label=label)

    def allows(self, access: Iterable[str]) -> bool:
        allowed = frozenset(a.lower() if "@" in a else a for a in access)
        return bool(self.viewers) and all(allowed & viewer for viewer in self.viewers)

    def covers(self, other: AccessScope) -> bool:
        """True when everything `other` may see is also visible to this scope."""
        return set(self.viewers) <= set(other.viewers)

    def describe(self) -> list[list[str]]:
        return [sorted(v) for v in self.viewers]


class DocumentStatus(StrEnum):
    CURRENT = "current"
    DRAFT = "draft"
    DEPRECATED = "deprecated"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk of a document, already checked against an AccessScope."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    score: float = 0.0
    url: str | None = None
    owner: str | None = None
    status: str = DocumentStatus.CURRENT
    updated: date | None = None
    supersedes: str | None = None
    tags: tuple[str, ...] = ()
    access: tuple[str, ...] = ()
    heading: str | None = None
    """The section heading the chunk sits under, when the document has one."""
    similarity: float = 0.0
    """Cosine similarity of the question with the chunk's best segment (0 without vectors)."""
    segment_scores: tuple[tuple[int, int, float], ...] = ()
    """(start, end, similarity) of each segment of `text`: which sentences carry the match."""


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    quote: str
    url: str | None = None
    chunk_id: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"doc_id": self.doc_id, "title": self.title, "url": self.url, "quote": self.quote}


class AnswerStatus(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    REFUSED = "refused"
    NEEDS_APPROVAL = "needs_approval"


class FlagStatus(StrEnum):
    """A flag on an answer: open until the owners decide, or the flagger withdraws it."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    SOURCE_UPDATE = "source_update"
    WITHDRAWN = "withdrawn"


class ActionState(StrEnum):
    """An outbox row: waiting, being carried out under a lease, delivered, or given up."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class VersionStatus(StrEnum):
    """A workspace version: live, refused by the eval gate, retired by a newer one, or
    saved (the folder's files kept before a rollback overwrote them; never evaluated)."""

    LIVE = "live"
    REFUSED = "refused"
    RETIRED = "retired"
    SAVED = "saved"


class WorkflowStatus(StrEnum):
    """Where a workflow request stands once started: refused, invalid, pending (a card
    awaits approvers), approved (the outbox carries it out), waiting (saved, no card yet)."""

    REFUSED = "refused"
    INVALID = "invalid"
    PENDING = "pending"
    APPROVED = "approved"
    WAITING = "waiting"


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


@dataclass(frozen=True)
class Turn:
    """One earlier exchange in a thread, given to the model as context."""

    question: str
    answer: str


@dataclass(frozen=True)
class ModelAnswer:
    """What a backend returns before Trellis checks it."""

    text: str
    citations: tuple[Citation, ...]
    confidence: float
    backend: str
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    notes: tuple[str, ...] = ()
