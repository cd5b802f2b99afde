"""Writing a workflow's draft: the same retrieval, access rules and backends as answers.

The draft draws only on documents that the requester and everyone who will read its
approval card (the members of the workflow's approvals channel) may see. The workspace's
prompt for the workflow (`prompts/<name>.md`) shapes it: offline, the draft follows the
prompt's sections and quotes only passages that pass the relevance gate for each of them
(`app/answering/backends/drafter.py`); with a model, the prompt is filled with the request's fields
and given as instructions, with only the passages that pass some section's gate. When the
documents support nothing, the draft says what is not on file, or (for a prompt without
sections) is a plain summary of the request that says nothing on file answers it, so an
approver always has something to read and knows no document stands behind it. What of
a draft leaves Trellis once approved is in `app/approvals/outward.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.answering import budgets
from app.answering.backends.drafter import NOTHING_ON_FILE, RequestField, SectionDrafter
from app.answering.backends.sections import Section, parse_sections
from app.answering.citations import verify_citations
from app.answering.corpus import RetrievedPassages
from app.answering.prompts import render
from app.domain import AccessScope, Citation, Passage, Person, Usage
from app.errors import SetupError
from app.identity import access
from app.knowledge.search import search
from app.rules.facts import DraftFacts
from app.rules.requirements import ApprovalRequirement
from app.rules.schema import Workflow
from app.services import Services
from app.slack_api import error_code


@dataclass(frozen=True)
class ComposedDraft:
    text: str
    citations: tuple[Citation, ...]
    confidence: float
    facts: DraftFacts
    backend: str | None = None
    model: str | None = None
    usage: Usage = Usage()
    notes: tuple[str, ...] = ()


def summary(workflow: Workflow, inputs: Mapping[str, Any]) -> str:
    """The request in words, field by field."""
    lines = [workflow.title]
    for name, spec in workflow.inputs.items():
        if name in inputs and inputs[name] not in (None, ""):
            value = inputs[name]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            lines.append(f"{spec.title(name)}: {value}")
    return "\n".join(lines)


async def allowed_passages(
    services: Services, *, workflow: Workflow, inputs: Mapping[str, Any], person: Person
) -> Sequence[Passage]:
    if workflow.draft is None:
        return []
    query = " ".join(
        str(v)
        for name, v in inputs.items()
        if isinstance(v, str)
        and workflow.inputs.get(name) is not None
        and workflow.inputs[name].type in ("string", "text", "choice")
    )
    scope = await readers_scope(services, person=person, channel=workflow.channel)
    return await search(
        services.database,
        query=query,
        scope=scope,
        limit=services.retrieval_limit,
        mode=services.retrieval_mode,
    )


async def readers_scope(services: Services, *, person: Person, channel: str | None) -> AccessScope:
    """What `person` and every member of `channel` (an approvals channel) may all see.

    Without a channel (or without Slack) only the person reads the draft. A channel that
    cannot be found fails the request rather than risk showing the card to anyone.
    """
    slack = services.gateway
    if not channel or slack is None:
        return AccessScope.for_person(person)
    channel_id = await slack.channel_id(channel)
    try:
        if channel_id is None:
            raise LookupError(channel)
        seen = await slack.channel(channel_id)
    except Exception as error:
        if not isinstance(error, LookupError) and error_code(error) not in HIDDEN_CHANNEL:
            raise
        raise SetupError(
            "rules.yml",
            f"Trellis cannot see the approvals channel {channel}: please ask a Trellis admin "
            "to invite Trellis to it, or to correct the channel in rules.yml. Nothing was "
            "saved; start the request again once that is done.",
        ) from error
    audience = await access.audience_for(
        asker=person, channel=seen, slack=slack, identity=services.identity
    )
    return audience.scope


HIDDEN_CHANNEL = frozenset({"channel_not_found", "not_in_channel"})
"""Slack's answers about a channel Trellis is not in (a private one) or that is gone."""


async def compose(
    services: Services,
    *,
    workflow: Workflow,
    inputs: Mapping[str, Any],
    person: Person,
    passages: Sequence[Passage],
) -> ComposedDraft:
    """The draft for the card. It searches again, one question per fact the prompt asks
    for (see `app/answering/backends/drafter.py`), so `passages` (the request's own search) only
    tells whether the readers may see anything at all."""
    plain = summary(workflow, inputs)
    if workflow.draft is None:
        return ComposedDraft(plain, (), 0.0, DraftFacts(text=plain))
    prompt = services.workspace.prompts.get(workflow.draft.prompt, "")
    sections = parse_sections(prompt) or (Section(""),)
    scope = await readers_scope(services, person=person, channel=workflow.channel)

    async def retrieve(query: str) -> RetrievedPassages:
        return await search(
            services.database,
            query=query,
            scope=scope,
            limit=services.retrieval_limit,
            mode=services.retrieval_mode,
        )

    drafter = SectionDrafter(retrieve, min_confidence=services.min_confidence, kind=workflow.title)
    fields = request_fields(workflow, inputs)
    route = await budgets.route(services, person=person, task="draft")
    notes = (route.note,) if route.note else ()
    if route.answerer.name == "extractive":
        draft = await drafter.draft(
            sections=sections, fields=fields, title=workflow.title, requester=person.name
        )
        if not draft.citations and not sections[0].title:
            return _unsupported(plain, notes)
        used = _union(f.passages for f in draft.findings)
        confidence = draft.confidence if draft.citations else 0.0
        facts = DraftFacts.from_passages(
            text=draft.text,
            confidence=confidence,
            cited=[c.doc_id for c in draft.citations],
            passages=used,
        )
        return ComposedDraft(
            draft.text,
            draft.citations,
            confidence,
            facts,
            route.answerer.name,
            None,
            Usage(),
            notes,
        )
    # A model writes the draft from the passages that pass some section's relevance gate.
    relevant = _union(f.passages for f in await drafter.findings(sections, fields))
    if not relevant:
        return _unsupported(plain, notes)
    instructions = render(
        prompt, {**_fields(inputs), "company": services.workspace.config.name or "the company"}
    )
    task = " ".join(str(v) for v in _fields(inputs).values() if v)
    answer = await route.answerer.answer(
        question=task, passages=relevant, history=(), instructions=instructions, model=route.model
    )
    if route.note:
        answer = replace(answer, notes=(*answer.notes, route.note))
    kept, _ = verify_citations(answer.citations, relevant)
    text = answer.text.strip() if answer.text.strip() and kept else plain
    confidence = answer.confidence if text != plain else 0.0
    kept = kept if text != plain else []
    facts = DraftFacts.from_passages(
        text=text, confidence=confidence, cited=[c.doc_id for c in kept], passages=relevant
    )
    return ComposedDraft(
        text,
        tuple(kept),
        confidence,
        facts,
        answer.backend,
        answer.model,
        answer.usage,
        answer.notes,
    )


def _unsupported(plain: str, notes: tuple[str, ...]) -> ComposedDraft:
    """The request in words, saying plainly that nothing its readers may see answers it."""
    text = f"{plain}\n\n{NOTHING_ON_FILE}"
    return ComposedDraft(text, (), 0.0, DraftFacts(text=text), notes=notes)


def request_fields(workflow: Workflow, inputs: Mapping[str, Any]) -> list[RequestField]:
    """The request's fields as the drafter reads them: label, value as written, kind."""
    fields = []
    for name, spec in workflow.inputs.items():
        value = inputs.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        label, text = spec.title(name), " ".join(str(value).split())
        kind = {"number": "number", "integer": "number", "text": "text"}.get(spec.type, "string")
        if kind == "number" and ("%" in label or "percent" in name.lower()):
            text, label = f"{text}%", label.replace("%", "").strip() or label
        fields.append(RequestField(name, label, text, kind))
    return fields


def _union(groups: Iterable[Iterable[Passage]]) -> RetrievedPassages:
    """Passages of several searches, each chunk once, in the order first found."""
    seen: dict[str, Passage] = {}
    for group in groups:
        for passage in group:
            seen.setdefault(passage.chunk_id, passage)
    return RetrievedPassages(seen.values())


def _fields(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in inputs.items()
    }


def rule_for(workflow: Workflow, needs: ApprovalRequirement) -> str:
    """The rule that decided who approves, as rules.yml says it."""
    if needs.tier is None or needs.tier >= len(workflow.approval):
        return needs.reason or "no approval rule"
    tier = workflow.approval[needs.tier]
    condition = (
        tier.when.source
        if tier.when is not None
        else ("every request" if len(workflow.approval) == 1 else "every other request")
    )
    if needs.auto:
        return f"{condition}: approved automatically"
    who = ("one of " if needs.require == "any" and len(needs.approvers) > 1 else "") + (
        " and ".join if needs.require == "all" else ", ".join
    )(needs.approvers)
    rule = f"{condition}: {who} must approve"
    return f"{rule} ({needs.reason})" if needs.reason else rule


def approvers_text(needs: ApprovalRequirement, names: Callable[[str], str] = str) -> str:
    """Who may approve, as a reader says it; `names`: a person's name for their email."""
    approvers = [names(a) for a in needs.approvers]
    if needs.require == "all" and len(approvers) > 1:
        return " and ".join(approvers) + " (one person each)"
    return " or ".join(approvers) or "nobody"
