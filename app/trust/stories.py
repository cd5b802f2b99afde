"""One answer's whole story, from the audit trail: who asked, what they and the channel
could see, which documents were considered and cited, the version, model and cost, and
what happened afterwards (flags, feedback, review, actions).

`tell(...)` with no viewer is the operator's view (`trellis audit show`): everything. With
a viewer (the person who clicked "Why this answer?") it is limited to what they may see:
documents outside their access are counted, never named, and the fuller private answer
is part of the story only for the person who asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.answering.pricing import Cost, cost_of, usage_from
from app.config.directory import Directory
from app.config.settings import Settings
from app.config.workspace import load_workspace
from app.db.migrate import open_database
from app.db.models.records import AuditRecord
from app.db.repositories.stories import StoryRepository
from app.db.session import Database
from app.domain import AccessScope, Person, Usage
from app.errors import AccessDenied
from app.knowledge.search import get_documents
from app.text.phrasing import counted

QUESTION_KINDS = ("question", "question.refused")


@dataclass(frozen=True)
class StoryDocument:
    doc_id: str
    title: str
    url: str | None
    cited: bool
    """Cited by the answer shown in the conversation."""
    private: bool = False
    """Cited by the asker's fuller private answer."""
    private_only: bool = False
    """Considered only for the asker's fuller private answer, which did not cite it."""


@dataclass(frozen=True)
class StoryEvent:
    kind: str
    at: datetime
    actor: str
    detail: str = ""


@dataclass
class Story:
    audit_id: str
    kind: str
    at: datetime
    question: str = ""
    asker: str = ""
    asker_email: str | None = None
    channel: str = ""
    status: str = ""
    confidence: float = 0.0
    scope: str = ""
    readers: int = 0
    outsiders: int = 0
    documents: list[StoryDocument] = field(default_factory=list)
    hidden_documents: int = 0
    version: str | None = None
    backend: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost: Cost = field(default_factory=Cost)
    latency_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None
    events: list[StoryEvent] = field(default_factory=list)
    records: list[AuditRecord] = field(default_factory=list)


async def tell(
    database: Database, record_id: str, *, directory: Directory, viewer: Person | None = None
) -> Story | None:
    """The story around `record_id` (an audit id, an answer id or any audit record's id)."""
    async with database.session() as session:
        repo = StoryRepository(session)
        subject = await _subject(repo, record_id)
        if subject is None:
            return None
        records = list(await repo.about([subject]))
        answers = await repo.answers_for(subject)
        drafts = await repo.draft_ids_for([a.id for a in answers])
        records += [r for r in await repo.about(drafts) if r not in records]
    records.sort(key=lambda r: r.seq)
    main = next((r for r in records if r.kind in QUESTION_KINDS), records[0])
    story = _from_record(main, directory)
    story.records = records
    await _documents(database, story, main.payload or {}, viewer)
    story.events = [_event(r, directory, full=viewer is None) for r in records if r is not main]
    return story


async def _subject(repo: StoryRepository, record_id: str) -> str | None:
    if await repo.about([record_id]):
        return record_id
    answer = await repo.answer(record_id)
    if answer is not None:
        return answer.audit_id
    record = await repo.record(record_id)
    if record is not None:
        return record.subject_id or record.id
    return None


def _from_record(record: AuditRecord, directory: Directory) -> Story:
    payload = record.payload or {}
    person = payload.get("person") or {}
    email = person.get("email") or record.actor_email
    known = directory.by_email(email)
    channel = payload.get("channel") or {}
    usage = usage_from(payload.get("usage"))
    return Story(
        audit_id=record.subject_id or record.id,
        kind=record.kind,
        at=record.occurred_at,
        question=payload.get("question", ""),
        asker=(known.name if known else person.get("name")) or email or record.actor_slack_id or "",
        asker_email=email,
        channel=channel.get("label") or record.channel_id or "",
        status=payload.get("status", ""),
        confidence=float(payload.get("confidence") or 0.0),
        scope=(payload.get("scope") or {}).get("label", ""),
        readers=int(channel.get("readers") or 0),
        outsiders=int(channel.get("outsiders") or 0),
        version=payload.get("version"),
        backend=payload.get("backend"),
        model=payload.get("model"),
        usage=usage,
        cost=cost_of(usage, payload.get("model")),
        latency_ms=dict(payload.get("latency_ms") or {}),
        notes=list(payload.get("notes") or []),
        reason=payload.get("reason"),
    )


async def _documents(
    database: Database, story: Story, payload: dict[str, Any], viewer: Person | None
) -> None:
    considered = [r["doc_id"] if isinstance(r, dict) else r for r in payload.get("retrieved") or []]
    cited = set(payload.get("cited") or [])
    private = payload.get("private") or {}
    shows_private = viewer is None or (story.asker_email or "").lower() == viewer.email.lower()
    extra = (
        [
            d
            for d in [*private.get("retrieved", []), *private.get("cited", [])]
            if d not in considered
        ]
        if shows_private
        else []
    )
    cited_privately = set(private.get("cited") or []) if shows_private else set()
    public_ids = {*considered, *cited}
    ids = list(dict.fromkeys([*considered, *cited, *extra]))
    indexed = {d.id: d for d in await get_documents(database, doc_ids=ids)}
    scope = AccessScope.for_person(viewer) if viewer is not None else None
    for doc_id in ids:
        doc = indexed.get(doc_id)
        if scope is not None and (doc is None or not scope.allows(doc.access)):
            story.hidden_documents += 1
            continue
        story.documents.append(
            StoryDocument(
                doc_id=doc_id,
                title=doc.title if doc else doc_id,
                url=doc.url if doc else None,
                cited=doc_id in cited,
                private=doc_id in cited_privately,
                private_only=doc_id not in public_ids and doc_id not in cited_privately,
            )
        )


def _event(record: AuditRecord, directory: Directory, *, full: bool) -> StoryEvent:
    person = directory.by_email(record.actor_email)
    actor = person.name if person else ("Trellis" if not record.actor_email else "someone")
    payload = record.payload or {}
    details = []
    for key in ("to", "connector", "rule", "tier", "helpful", "reason"):
        if key in payload and payload[key] not in (None, "", []) and (full or key != "reason"):
            details.append(f"{key}: {payload[key]}")
    return StoryEvent(
        kind=record.kind, at=record.occurred_at, actor=actor, detail=", ".join(details)
    )


# --- The operator's view ----------------------------------------------------------------


def render(story: Story, console: Console) -> None:
    console.print(
        f"[bold]{escape(story.kind)}[/bold] {story.audit_id} at {story.at:%Y-%m-%d %H:%M:%S}"
    )
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="dim")
    facts.add_column()
    for label, value in (
        ("question", story.question),
        ("asked by", f"{story.asker} <{story.asker_email}>" if story.asker_email else story.asker),
        ("in", story.channel),
        (
            "scope",
            f"{story.scope} ({counted(story.readers, 'reader')}, "
            f"{story.outsiders} outside the directory)"
            if story.scope
            else "",
        ),
        ("status", f"{story.status} (confidence {story.confidence:.2f})" if story.status else ""),
        ("reason", story.reason or ""),
        ("version", story.version or ""),
        ("model", f"{story.model or '-'} via {story.backend or '-'}"),
        (
            "tokens",
            f"input {story.usage.input_tokens}, output {story.usage.output_tokens}, "
            f"cache write {story.usage.cache_write_tokens}, cache read {story.usage.cache_read_tokens}",
        ),
        ("cost", f"${story.cost.total:.6f}"),
        ("latency", ", ".join(f"{k} {v:.0f} ms" for k, v in story.latency_ms.items())),
        ("notes", " | ".join(story.notes)),
    ):
        if value:
            facts.add_row(label, escape(str(value)))
    console.print(facts)
    if story.documents:
        table = Table(title="Documents considered", title_justify="left")
        for column in ("document", "title", "cited"):
            table.add_column(column)
        for doc in story.documents:
            table.add_row(escape(doc.doc_id), escape(doc.title), ", ".join(_marks(doc)))
        console.print(table)
    if story.events:
        table = Table(title="What happened next", title_justify="left")
        for column in ("when", "what", "who", "detail"):
            table.add_column(column)
        for event in story.events:
            table.add_row(
                f"{event.at:%Y-%m-%d %H:%M:%S}",
                escape(event.kind),
                escape(event.actor),
                escape(event.detail),
            )
        console.print(table)


def _marks(doc: StoryDocument) -> list[str]:
    """How the operator's table marks a document: what each answer did with it."""
    return [
        mark
        for mark, on in (
            ("cited", doc.cited),
            ("cited in the private answer", doc.private),
            ("considered for the private answer", doc.private_only),
        )
        if on
    ]


async def for_viewer(
    database: Database, *, answer_id: str, viewer: Person, directory: Directory
) -> Story:
    """The story of a posted answer as `viewer` may see it (the "Why this answer?" button)."""
    async with database.session() as session:
        answer = await StoryRepository(session).answer(answer_id)
    if answer is None:
        raise AccessDenied("Trellis has no record of this answer any more.")
    story = await tell(database, answer.audit_id, directory=directory, viewer=viewer)
    if story is None:
        raise AccessDenied("The record of this answer could not be found.")
    only_asker = answer.private or story.readers <= 1
    if only_asker and (answer.asker_email or "").lower() != viewer.email.lower():
        raise AccessDenied("Only the person who asked can see how this private answer was made.")
    return story


async def for_operator(settings: Settings, record_id: str) -> Story | None:
    """`trellis audit show`: the whole story, nothing withheld."""
    directory = load_workspace(settings.workspace_path()).directory
    async with open_database(settings.database_url) as database:
        return await tell(database, record_id, directory=directory)
