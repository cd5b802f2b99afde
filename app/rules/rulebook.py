"""The rules of one workspace: who may start a workflow, what needs approval, by whom.

RuleBook puts rules.yml (`app.rules.schema`) together with the directory. When a
condition cannot be evaluated at run time, it decides on the safe side:

- an approval tier whose `when` fails might have applied, so its approvers are required
  together with those of every later tier that might have applied (up to the first that
  certainly does), all of them (`require: all`). An error never approves anything
  automatically.
- an `answers.review_when` that fails sends the answer to review.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from app.config.directory import Directory
from app.domain import Person
from app.errors import ConditionError, RuleViolation
from app.rules.facts import channel_facts, draft_facts, input_facts, requester_facts
from app.rules.inputs import validate_input
from app.rules.requirements import ApprovalRequirement, resolve_approvers
from app.rules.schema import MANAGER, RulesConfig, Workflow


class RuleBook:
    """The rules of one workspace, evaluated against its directory."""

    def __init__(self, rules: RulesConfig, directory: Directory) -> None:
        self.rules = rules
        self.directory = directory

    @property
    def workflows(self) -> Mapping[str, Workflow]:
        return self.rules.workflows

    def workflow(self, slug: str) -> Workflow:
        found = self.rules.workflows.get(slug)
        if found is None:
            known = ", ".join(sorted(self.rules.workflows)) or "none are set up"
            raise RuleViolation(f"There is no workflow called “{slug}”. Workflows: {known}.")
        return found

    def may_start(self, slug: str, person: Person) -> bool:
        wf = self.rules.workflows.get(slug)
        return wf is not None and bool(set(wf.started_by) & person.principals)

    def startable_by(self, person: Person) -> list[str]:
        return [slug for slug in self.rules.workflows if self.may_start(slug, person)]

    def validate_input(self, slug: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values for every field, or InvalidInput with one message per field."""
        return validate_input(self.workflow(slug), raw)

    # Approval -------------------------------------------------------------------------

    def approval_for(
        self,
        slug: str,
        *,
        requester: Person,
        channel: Any = None,
        input: Mapping[str, Any] | None = None,
        draft: Any = None,
    ) -> ApprovalRequirement:
        wf = self.workflow(slug)
        activation = {
            "requester": requester_facts(requester),
            "channel": channel_facts(channel),
            "input": input_facts(wf, input or {}),
            "draft": draft_facts(draft),
        }
        candidates: list[int] = []
        failures: list[str] = []
        for i, tier in enumerate(wf.approval):
            if tier.when is None:
                candidates.append(i)
                break
            try:
                holds = tier.when.holds(activation)
            except ConditionError as exc:
                failures.append(f"tier {i + 1}: {exc}")
                candidates.append(i)
                continue
            if holds:
                candidates.append(i)
                break
        tiers = [i for i in candidates if wf.approval[i].approvers]
        if not tiers:
            return ApprovalRequirement(
                slug,
                tier=candidates[-1] if candidates else None,
                channel=wf.channel,
                failed_safe=bool(failures),
                reason="approved automatically",
            )
        if len(tiers) == 1:
            chosen = wf.approval[tiers[0]]
            principals, require, tier_index = chosen.approvers, chosen.require, tiers[0]
        else:
            principals = [p for i in tiers for p in wf.approval[i].approvers]
            require, tier_index = "all", None
        reason = ""
        if failures:
            reason = (
                f"a rule could not be checked ({'; '.join(failures)}), so every approval "
                "that might apply is required"
            )
        return resolve_approvers(
            self.directory,
            workflow=slug,
            requester=requester,
            principals=principals,
            require=require,
            tier=tier_index,
            channel=wf.channel,
            failed_safe=bool(failures),
            reason=reason,
        )

    def read_first(
        self, slug: str, *, requester: Person, from_tier: int | None, reason: str
    ) -> ApprovalRequirement:
        """Who reads a draft that its tier would approve automatically but that may not
        go out unread (app/approvals/read_first.py): the approvers of the first tier from
        `from_tier` on that names some, else the workflow's `escalate_to`, else the requester's
        manager."""
        wf = self.workflow(slug)
        later = [t for t in wf.approval[from_tier or 0 :] if t.approvers]
        principals: list[str] = [MANAGER]
        require: Literal["any", "all"] = "any"
        if later:
            principals, require = list(later[0].approvers), later[0].require
        elif isinstance(wf.escalate_to, list):
            principals = list(wf.escalate_to)
        return resolve_approvers(
            self.directory,
            workflow=slug,
            requester=requester,
            principals=principals,
            require=require,
            tier=None,
            channel=wf.channel,
            failed_safe=False,
            reason=reason,
        )

    # Answers --------------------------------------------------------------------------

    def review_requirement(self, *, requester: Person) -> ApprovalRequirement:
        """Who reviews an answer that `answer_needs_review` holds back (answers.reviewers)."""
        review = self.rules.answers
        return resolve_approvers(
            self.directory,
            workflow="answers",
            requester=requester,
            principals=list(review.reviewers),
            require="any",
            tier=None,
            channel=review.channel,
            failed_safe=False,
            reason="",
        )

    def answer_needs_review(
        self, *, requester: Person, channel: Any = None, draft: Any = None
    ) -> bool:
        condition = self.rules.answers.review_when
        if condition is None:
            return False
        activation = {
            "requester": requester_facts(requester),
            "channel": channel_facts(channel),
            "input": {},
            "draft": draft_facts(draft),
        }
        try:
            return condition.holds(activation)
        except ConditionError:
            return True
