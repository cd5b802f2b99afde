"""The live facts behind `/trellis about`: gathered once, for one reader.

A reader is a person from the directory, or the operator (`trellis about` run on the
server), who sees the whole workspace. Everything about documents is computed from the
documents the reader may see and nothing else: a person never learns the title, the
count or the owner of a document outside their access, nor the name of a folder where
they see nothing. Numbers that concern no document (people, rules, questions, flags,
the audit chain) are the workspace's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from app.config.directory import Directory
from app.db.repositories.about import AboutRepository
from app.db.repositories.knowledge import IndexedDocument
from app.delivery.actions import sends_draft_out
from app.domain import EVERYONE, PUBLIC, AccessScope, DocumentStatus, Person
from app.knowledge.access_rules import ACCESS_FILE
from app.knowledge.search import get_documents
from app.rules.schema import MANAGER, Workflow
from app.services import Services
from app.trust import WEEKS
from app.trust.about_rules import approvers_words, condition_words, tier_conditions
from app.trust.about_weeks import Measures, measure
from app.trust.feedback import is_admin

TOP_LEVEL = "(top level)"
MODE_WORDS = {
    "draft_only": "drafts only: the approved text goes back to the requester, nothing is sent",
    "act_after_approval": "acts after approval: once approved, Trellis carries out its actions",
    "act": "acts at once: its actions run without waiting for anyone",
}
SYSTEM_WORDS = {
    "email": "sends an email",
    "ticketing": "writes to the ticketing system",
    "sql": "writes to a database",
    "webhook": "calls a webhook",
}


@dataclass(frozen=True)
class Reader:
    name: str
    email: str | None
    """None for the operator, who sees every document."""
    groups: tuple[str, ...] = ()
    admin: bool = False

    @property
    def operator(self) -> bool:
        return self.email is None

    @classmethod
    def of(cls, services: Services, person: Person | None) -> Reader:
        if person is None:
            return cls("the operator", None, admin=True)
        return cls(
            person.name, person.email, tuple(sorted(person.groups)), is_admin(services, person)
        )


@dataclass(frozen=True)
class DocumentFacts:
    documents: int
    """Documents the reader may see that answers may use (drafts aside)."""
    by_folder: tuple[tuple[str, int], ...]
    by_owner: tuple[tuple[str, int], ...]
    restricted: int
    """Of those, limited to some groups or people rather than the whole directory."""
    public: int
    """Of those, open to anyone (`public`), guests and external users included."""
    replaced: int
    """Of those, superseded by a current document the reader may also see."""
    deprecated: int
    drafts: int
    visible_to_nobody: int | None
    """Only for the operator: documents with no access rule at all."""
    rule_files: tuple[str, ...]
    topic_owners: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Tier:
    when: str
    approvers: str


@dataclass(frozen=True)
class WorkflowFacts:
    slug: str
    title: str
    mode: str
    mode_words: str
    started_by: tuple[str, ...]
    may_start: bool | None
    systems: tuple[str, ...]
    tiers: tuple[Tier, ...]
    deadlines: str
    channel: str | None


@dataclass(frozen=True)
class ChainFacts:
    records: int
    head_seq: int
    head_hash: str
    head_at: datetime | None
    verified_at: datetime | None
    verified_ok: bool | None
    verified_records: int | None


@dataclass(frozen=True)
class Facts:
    workspace: str
    version: str
    generated_at: datetime
    reader: Reader
    directory_file: str
    people: int
    groups: int
    admins: tuple[tuple[str, tuple[str, ...]], ...]
    support: str | None
    owners_channel: str | None
    min_confidence: float
    flag_reactions: tuple[str, ...]
    flaggers: tuple[str, ...]
    may_flag: bool | None
    eval_minimums: tuple[float, float]
    documents: DocumentFacts
    workflows: tuple[WorkflowFacts, ...]
    review_when: str | None
    reviewers: str
    chain: ChainFacts
    measures: Measures


async def gather(
    services: Services, person: Person | None, *, now: datetime | None = None, weeks: int = WEEKS
) -> Facts:
    now = now or services.clock()
    workspace = services.workspace
    config, directory = workspace.config, workspace.directory
    reader = Reader.of(services, person)
    review = workspace.rules.answers
    return Facts(
        workspace=config.name or "this company",
        version=workspace.version,
        generated_at=now,
        reader=reader,
        directory_file=next(
            (n for n in ("directory.yml", "directory.csv") if (workspace.root / n).is_file()),
            "directory.yml",
        ),
        people=len(directory),
        groups=len(directory.groups),
        admins=tuple((p, _names(services, p)) for p in config.admins),
        support=config.support,
        owners_channel=config.owners_channel,
        min_confidence=config.answers.min_confidence,
        flag_reactions=tuple(config.flags.reactions),
        flaggers=tuple(config.flags.flaggers),
        may_flag=None if person is None else bool(set(config.flags.flaggers) & person.principals),
        eval_minimums=(config.evals.min_status_accuracy, config.evals.min_source_recall),
        documents=await documents(services, person),
        workflows=tuple(
            workflow_facts(services, slug, wf, person)
            for slug, wf in workspace.rulebook.workflows.items()
        ),
        review_when=condition_words(review.review_when.source) if review.review_when else None,
        reviewers=approvers_words(review.reviewers, "any", directory) if review.reviewers else "",
        chain=await chain(services),
        measures=await measure(services.database, now=now, weeks=weeks),
    )


def _names(services: Services, principal: str) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in services.workspace.directory.expand([principal])))


def folder_of(path: str) -> str:
    parts = PurePosixPath(path.replace("\\", "/")).parts
    return parts[0] if len(parts) > 1 else TOP_LEVEL


async def documents(services: Services, person: Person | None) -> DocumentFacts:
    scope = AccessScope.for_person(person) if person is not None else None
    known = services.workspace.directory.knows_principal
    seen = await get_documents(services.database, scope=scope)
    usable = [d for d in seen if d.status != DocumentStatus.DRAFT]
    current = {d.supersedes for d in usable if d.status == DocumentStatus.CURRENT and d.supersedes}
    folders = Counter(folder_of(d.path) for d in usable)
    owners: dict[str, set[str]] = {}
    for d in usable:
        if d.owner:
            owners.setdefault(folder_of(d.path), set()).add(d.owner)
    return DocumentFacts(
        documents=len(usable),
        by_folder=tuple(sorted(folders.items())),
        by_owner=tuple(Counter(d.owner or "no owner" for d in usable).most_common()),
        restricted=sum(1 for d in usable if not {EVERYONE, PUBLIC} & set(d.access)),
        public=sum(1 for d in usable if PUBLIC in d.access),
        replaced=sum(1 for d in usable if d.id in current),
        deprecated=sum(1 for d in usable if d.status == DocumentStatus.DEPRECATED),
        drafts=len(seen) - len(usable),
        visible_to_nobody=sum(1 for d in seen if not any(map(known, d.access)))
        if person is None
        else None,
        rule_files=_rule_files(services, seen, everything=person is None),
        topic_owners=tuple((f, tuple(sorted(o))) for f, o in sorted(owners.items())),
    )


def _rule_files(
    services: Services, seen: list[IndexedDocument], *, everything: bool
) -> tuple[str, ...]:
    """The `_access.yml` files that decide what the reader sees: those above a folder
    holding a document the reader may see (every one, for the operator)."""
    knowledge = services.workspace.knowledge_dir
    folders = {PurePosixPath(d.path.replace("\\", "/")).parent for d in seen}
    found = []
    for path in sorted(knowledge.rglob(ACCESS_FILE)):
        folder = PurePosixPath(path.parent.relative_to(knowledge).as_posix())
        if any(part.startswith(".") for part in folder.parts):
            continue
        if everything or any(f == folder or folder in f.parents for f in folders):
            found.append(f"knowledge/{(folder / ACCESS_FILE).as_posix()}")
    return tuple(found)


def workflow_facts(
    services: Services, slug: str, workflow: Workflow, person: Person | None
) -> WorkflowFacts:
    rulebook, directory = services.workspace.rulebook, services.workspace.directory
    tiers: tuple[Tier, ...]
    read_first = unread_words(workflow, directory)
    if workflow.mode == "act":
        tiers = (Tier("every request", "nobody: it acts at once (mode act)" + read_first(0)),)
    elif not workflow.approval:
        tiers = (
            Tier("every request", "approved automatically (no approval tiers)" + read_first(0)),
        )
    else:
        tiers = tuple(
            Tier(
                when,
                approvers_words(t.approvers, t.require, directory)
                + ("" if t.approvers else read_first(i)),
            )
            for i, (when, t) in enumerate(
                zip(tier_conditions(workflow), workflow.approval, strict=True)
            )
        )
    return WorkflowFacts(
        slug=slug,
        title=workflow.title,
        mode=workflow.mode,
        mode_words=MODE_WORDS[workflow.mode],
        started_by=tuple(workflow.started_by),
        may_start=None if person is None else rulebook.may_start(slug, person),
        systems=tuple(downstream_systems(workflow, services.workspace.rules.connectors)),
        tiers=tiers,
        deadlines=deadlines(workflow),
        channel=workflow.channel,
    )


def unread_words(workflow: Workflow, directory: Directory) -> Callable[[int], str]:
    """For a tier (by index; 0 for mode act) that lets requests through unread: who reads the draft first
    when its text goes out and no model wrote it from documents (app/approvals/read_first.py);
    "" when the workflow sends no draft out."""
    out = sends_draft_out(workflow)

    def words(tier: int) -> str:
        if not out:
            return ""
        later = [t for t in workflow.approval[tier:] if t.approvers]
        if later:
            reader = approvers_words(later[0].approvers, later[0].require, directory)
        elif isinstance(workflow.escalate_to, list):
            reader = approvers_words(workflow.escalate_to, "any", directory)
        else:
            reader = "the requester's manager"
        return (
            f", but only when a model wrote the draft from documents, since its text goes out "
            f"({', '.join(out)}); otherwise (and always without a model) {reader} reads it first"
        )

    return words


def deadlines(workflow: Workflow) -> str:
    parts = []
    if workflow.remind_after:
        parts.append(f"approvers are reminded after {duration_words(workflow.remind_after)}")
    if workflow.escalate_after:
        target = workflow.escalate_to
        to = (
            "the approvers' managers"
            if target == MANAGER
            else ", ".join(target)
            if isinstance(target, list)
            else "nobody (no escalate_to)"
        )
        parts.append(f"escalated to {to} after {duration_words(workflow.escalate_after)}")
    if workflow.expire_after:
        parts.append(f"it expires undone after {duration_words(workflow.expire_after)}")
    return "; ".join(parts)


def duration_words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


async def chain(services: Services) -> ChainFacts:
    async with services.database.reading() as session:
        repo = AboutRepository(session)
        head = await repo.head()
        records = await repo.record_count()
        verified = await repo.last_verification()
    payload = verified.payload if verified else {}
    return ChainFacts(
        records=records,
        head_seq=head.seq if head else 0,
        head_hash=str(head.payload.get("hash", "")) if head else "",
        head_at=head.at if head else None,
        verified_at=verified.at if verified else None,
        verified_ok=bool(payload.get("ok")) if verified else None,
        verified_records=payload.get("records") if verified else None,
    )


def downstream_systems(workflow: Workflow, connectors: dict[str, dict[str, Any]]) -> list[str]:
    """Each downstream system a workflow writes to, with where it is (no secrets)."""
    found = []
    for action in workflow.actions:
        slug = action.connector
        setting = connectors.get(slug, {})
        where = ""
        if slug == "email" and setting.get("host"):
            where = f"through {setting['host']}"
        elif slug == "ticketing" and setting.get("base_url"):
            project = f", project {setting['project']}" if setting.get("project") else ""
            where = f"at {urlparse(str(setting['base_url'])).netloc}{project}"
        elif slug == "sql" and action.with_.get("table"):
            where = f"table {action.with_['table']}"
        elif slug == "webhook" and action.with_.get("url"):
            where = f"at {urlparse(str(action.with_['url'])).netloc}"
        words = SYSTEM_WORDS.get(slug, f"uses {slug}")
        found.append(f"{slug}: {words}" + (f" ({where})" if where else ""))
    return found
