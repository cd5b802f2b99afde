"""Who may decide on a draft, and the words a person reads when they may not.

One check serves the decisions themselves (app/approvals/service.py) and the approval
card's buttons, which refuse a click before opening a form that could not be saved.
"""

from __future__ import annotations

from collections.abc import Callable

from app.approvals.drafts import APPROVED_STATES, DraftState, DraftView, as_utc
from app.domain import Person
from app.errors import AccessDenied, ApprovalConflict
from app.rules.requirements import ApprovalRequirement
from app.text.phrasing import listed


def refusal(
    draft: DraftView,
    person: Person,
    *,
    verb: str = "decide on",
    seen_hash: str | None = None,
    names: Callable[[str], str] = str,
) -> AccessDenied | ApprovalConflict | None:
    """Why `person` may not `verb` `draft` now, or None when they may.

    Refused: a draft no longer waiting for a decision, the requester's own request, a
    person who is not among its approvers, and a card older than the text (`seen_hash`,
    the start of the text's hash the card showed). `names`: a person's name for their
    email (the directory's `name_of`).
    """
    if draft.state != DraftState.PENDING:
        return ApprovalConflict(already_decided(draft))
    if person.email.lower() == draft.requester_email.lower():
        return AccessDenied(f"You asked for this, so someone else has to {verb} it.")
    needs = draft.needs()
    if not needs.may_approve(person.email):
        return AccessDenied(f"{only_approvers(needs, verb, names)} Nothing was changed.")
    if seen_hash and not draft.text_hash.startswith(seen_hash):
        who = draft.edited_by or "an approver"
        return ApprovalConflict(
            f"The draft changed after this card was shown ({who} edited it). "
            "Read the updated card and decide again."
        )
    return None


def only_approvers(needs: ApprovalRequirement, verb: str, names: Callable[[str], str]) -> str:
    """Who may `verb` a request, by name: "Only Marcus Ndiaye can approve this request." for
    one person; "Only Ana Lee or sales-managers can …, and you are not one of them." else."""
    approvers = needs.approvers
    if not approvers:
        return f"Nobody is named to {verb} this request."
    who = listed([names(a) for a in approvers], "and" if needs.require == "all" else "or")
    if len(approvers) == 1 and "@" in approvers[0]:
        return f"Only {who} can {verb} this request."
    return f"Only {who} can {verb} this request, and you are not one of them."


def already_decided(draft: DraftView) -> str:
    when = as_utc(draft.decided_at)
    at = f" at {when:%Y-%m-%d %H:%M} UTC" if when else ""
    who = draft.decided_by_name or "someone"
    if draft.state in APPROVED_STATES:
        return f"{who} already approved this{at}."
    if draft.state == DraftState.REJECTED:
        return f"{who} already rejected this{at}."
    if draft.state == DraftState.EXPIRED:
        return expired_message(draft)
    return "This request is not ready for a decision yet."


def expired_message(draft: DraftView) -> str:
    when = as_utc(draft.expires_at)
    at = f" on {when:%Y-%m-%d %H:%M} UTC" if when else ""
    return (
        f"This request expired{at} and can no longer be approved. "
        f"{draft.requester_name or 'The requester'} can start it again."
    )


def waiting_for(draft: DraftView) -> str:
    missing = draft.missing_principals()
    return f"It is waiting for {', '.join(missing)}." if missing else ""
