"""Writing a workflow's draft: the same retrieval, access rules and backends as answers.

The draft draws only on documents that the requester and everyone who will read its
approval card (the members of the workflow's approvals channel) may see, and the
workspace's prompt for the workflow (`prompts/<name>.md`) is filled with the request's
fields and given to the answerer as instructions. When the documents support nothing,
the draft is a plain summary of the request, so an approver always has something to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from app import access, budgets
from app.answering.citations import verify_citations
from app.answering.prompts import render
from app.domain import AccessScope, Citation, Passage, Person, Usage
from app.errors import SlackUnavailable
from app.knowledge.search import search
from app.rules import ApprovalRequirement, DraftFacts, Workflow
from app.services import Services


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
) -> list[Passage]:
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
    return await search(services.database, query=query, scope=scope,
                        limit=services.retrieval_limit, mode=services.retrieval_mode)


async def readers_scope(services: Services, *, person: Person, channel: str | None) -> AccessScope:
    """What `person` and every member of `channel` (an approvals channel) may all see.

    Without a channel (or without Slack) only the person reads the draft. A channel that
    cannot be found fails the request rather than risk showing the card to anyone.
    """
    if not channel or services.slack is None or not hasattr(services.slack, "channel_id"):
        return AccessScope.for_person(person)
    channel_id = await services.slack.channel_id(channel)
    if channel_id is None:
        raise SlackUnavailable(f"Trellis cannot find the approvals channel {channel}; "
                               "ask an admin to check rules.yml and invite Trellis there.")
    audience = await access.audience_for(asker=person, channel=await services.slack.channel(channel_id),
                                         slack=services.slack, identity=services.identity)
    return audience.scope


async def compose(
    services: Services,
    *,
    workflow: Workflow,
    inputs: Mapping[str, Any],
    person: Person,
    passages: list[Passage],
) -> ComposedDraft:
    plain = summary(workflow, inputs)
    if workflow.draft is None or not passages:
        return ComposedDraft(plain, (), 0.0, DraftFacts(text=plain))
    route = await budgets.route(services, person=person, task="draft")
    prompt = services.workspace.prompts.get(workflow.draft.prompt, "")
    instructions = render(
        prompt, {**_fields(inputs), "company": services.workspace.config.name or "the company"}
    )
    task = " ".join(str(v) for v in _fields(inputs).values() if v)
    answer = await route.answerer.answer(
        question=task, passages=passages, history=(), instructions=instructions, model=route.model
    )
    if route.note:
        answer = replace(answer, notes=(*answer.notes, route.note))
    kept, _ = verify_citations(answer.citations, passages)
    text = answer.text.strip() if answer.text.strip() and kept else plain
    confidence = answer.confidence if text != plain else 0.0
    kept = kept if text != plain else []
    facts = DraftFacts.from_passages(
        text=text, confidence=confidence, cited=[c.doc_id for c in kept], passages=passages
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


def approvers_text(needs: ApprovalRequirement) -> str:
    if needs.require == "all" and len(needs.approvers) > 1:
        return " and ".join(needs.approvers) + " (one person each)"
    return " or ".join(needs.approvers) or "nobody"
