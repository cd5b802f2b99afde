"""Who must approve a request: the principals rules.yml names, resolved to people.

The requester is never one of their own approvers. When excluding them leaves a tier
unsatisfiable (`any`: nobody left at all; `all`: a listed principal with nobody left, as
when the only vp-sales asks for a discount that vp-sales must approve), the requester's
manager stands in (`escalated`). With no manager in the directory, nobody can approve the
request, and that is a RuleViolation. `manager` as an approver is the requester's manager.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from app.config.directory import Directory
from app.domain import Person
from app.errors import RuleViolation
from app.rules.schema import MANAGER


@dataclass(frozen=True)
class ApprovalRequirement:
    """Who must approve a request. No approvers means it is approved automatically.

    `approvers` are principals (group names, emails) in the order rules.yml lists them,
    with `manager` already resolved. `eligible[i]` holds the emails that may approve for
    `approvers[i]`, the requester left out. With `require="all"` one *distinct* person
    per principal must approve: someone in two listed principals counts once.
    """

    workflow: str
    approvers: tuple[str, ...] = ()
    require: Literal["any", "all"] = "any"
    eligible: tuple[frozenset[str], ...] = ()
    tier: int | None = None
    channel: str | None = None
    escalated: bool = False
    failed_safe: bool = False
    reason: str = ""

    @property
    def auto(self) -> bool:
        return not self.approvers

    def may_approve(self, email: str) -> bool:
        email = email.lower()
        return any(email in group for group in self.eligible)

    def is_satisfied(self, approvals: Iterable[str]) -> bool:
        """True when the people who approved (emails) are enough."""
        if self.auto:
            return True
        given = {e.lower() for e in approvals}
        if self.require == "any":
            return any(given & group for group in self.eligible)
        return _distinct_match([group & given for group in self.eligible])


def resolve_approvers(
    directory: Directory,
    *,
    workflow: str,
    requester: Person,
    principals: list[str],
    require: Literal["any", "all"],
    tier: int | None,
    channel: str | None,
    failed_safe: bool,
    reason: str,
) -> ApprovalRequirement:
    """The requirement for `principals`, the requester left out and escalated if need be."""
    me = requester.email.lower()
    boss = directory.manager_of(requester)
    resolved: list[str] = []
    eligible: list[frozenset[str]] = []
    for p in principals:
        if p == MANAGER and boss is not None:
            p = boss.email.lower()
        if p in resolved:
            continue
        people = directory.expand([p]) if p != MANAGER else set()
        resolved.append(p)
        eligible.append(frozenset(x.email.lower() for x in people) - {me})
    # A principal nobody else can act for: `any` does without it while someone is
    # left; `all` cannot, and neither can `any` with nobody left.
    escalated = (not all(eligible)) if require == "all" else (not any(eligible))
    kept = [(p, e) for p, e in zip(resolved, eligible, strict=True) if e]
    resolved, eligible = [p for p, _ in kept], [e for _, e in kept]
    if escalated:
        if boss is None:
            raise RuleViolation(
                "Nobody but you could approve this request, and the directory names no "
                "manager for you to approve it instead. Ask a Trellis admin to add an "
                "approver.",
                detail=f"{workflow}: no approver other than {me}",
            )
        if boss.email.lower() not in resolved:
            resolved.append(boss.email.lower())
            eligible.append(frozenset({boss.email.lower()}))
        reason = (reason + "; " if reason else "") + (
            "nobody but the requester could approve, so their manager does"
        )
    if require == "all" and not _distinct_match(eligible):
        raise RuleViolation(
            "This request needs more distinct approvers than the directory has besides "
            "you. Ask a Trellis admin to add approvers.",
            detail=f"{workflow}: cannot find distinct approvers for {resolved}",
        )
    return ApprovalRequirement(
        workflow,
        approvers=tuple(resolved),
        require=require,
        eligible=tuple(eligible),
        tier=tier,
        channel=channel,
        escalated=escalated,
        failed_safe=failed_safe,
        reason=reason,
    )


def _distinct_match(groups: list[frozenset[str]]) -> bool:
    """Can each group be given its own person? (Bipartite matching, small inputs.)"""
    owner: dict[str, int] = {}

    def place(i: int, seen: set[str]) -> bool:
        for email in sorted(groups[i]):
            if email in seen:
                continue
            seen.add(email)
            if email not in owner or place(owner[email], seen):
                owner[email] = i
                return True
        return False

    return all(place(i, set()) for i in range(len(groups)))
