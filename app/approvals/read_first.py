"""A draft leaves for someone outside Trellis unread only when a model wrote it from documents.

An approval tier with `approvers: []`, or a workflow in mode `act`, lets a request through
without anyone reading it. When its actions send the draft's text out (`{{ draft.text }}`
in an email, a ticket or a webhook), that holds only for a draft a model wrote from
documents that support it. Without a model the draft quotes documents: it does not follow
the prompt's free text ("a short, friendly email to the client"). A draft no document
supports restates the internal request. Either waits for a person: the approvers of the
next tier that names some, else the workflow's `escalate_to`, else the requester's
manager, and the card's rule says why. A draft written without a model that a tier sends
to approvers anyway says so on its card, so they edit it before it goes out.
"""

from __future__ import annotations

from dataclasses import replace

from app.approvals.drafting import ComposedDraft
from app.delivery.actions import sends_draft_out
from app.domain import Person
from app.rules.requirements import ApprovalRequirement
from app.rules.schema import Workflow
from app.services import Services

RULE = "approved automatically only when a model wrote the draft from documents that support it"
HELD = (
    "Its draft goes out once approved, and no model wrote it from documents, so a person "
    "reads it first."
)
"""What the requester is told when their request waits only for that reason."""
WITHOUT_MODEL = (
    "written without a model: the draft quotes the documents and does not follow the "
    "prompt's request, so edit it before it goes out"
)


def unread_risk(workflow: Workflow, draft: ComposedDraft) -> str | None:
    """Why this draft may not go out unread, or None when it may."""
    outside = sends_draft_out(workflow)
    if not outside:
        return None
    if not draft.citations:
        what = "no document supports this draft, so it restates the request"
    elif draft.model is None:
        what = (
            "this draft was written without a model: it quotes the documents and does not "
            "follow the prompt's request"
        )
    else:
        return None
    return (
        f"{what}; approving it sends its text out ({', '.join(outside)}), so a person "
        "reads and edits it first"
    )


def who_reads(
    services: Services,
    *,
    slug: str,
    workflow: Workflow,
    needs: ApprovalRequirement,
    draft: ComposedDraft,
    requester: Person,
) -> ApprovalRequirement:
    """`needs`, or a person to read the draft first when it would go out unread."""
    unread = needs.auto or workflow.mode == "act"
    why = unread_risk(workflow, draft)
    if why is None:
        return needs
    if not unread:
        return needs if needs.reason else replace(needs, reason=_offline_note(draft))
    return services.workspace.rulebook.read_first(
        slug,
        requester=requester,
        from_tier=needs.tier,
        reason=f"{_condition(workflow, needs)}: {RULE}; {why}",
    )


def held(needs: ApprovalRequirement) -> bool:
    """Whether `needs` is a person reading a draft that would have gone out unread."""
    return RULE in needs.reason


def _condition(workflow: Workflow, needs: ApprovalRequirement) -> str:
    """What would have let the request through unread, as rules.yml says it."""
    if workflow.mode == "act":
        return "mode act"
    if needs.tier is None or needs.tier >= len(workflow.approval):
        return "every request"
    when = workflow.approval[needs.tier].when
    return when.source if when is not None else "every request"


def _offline_note(draft: ComposedDraft) -> str:
    if draft.model is None and draft.citations:
        return WITHOUT_MODEL
    return "no document supports this draft: it restates the request, so edit it before it goes out"
