"""`trellis check` on who can decide a workflow's requests: tiers nobody but the requester
can approve, and escalations that would only reach people who may already approve."""

from __future__ import annotations

from collections.abc import Iterator

from app.config.directory import Directory
from app.config.yamlfile import Loc
from app.rules.escalation import escalation_for
from app.rules.schema import MANAGER, RulesConfig


def unapprovable(rules: RulesConfig, directory: Directory) -> Iterator[tuple[Loc, str]]:
    """Approval tiers that some people who may start the workflow cannot get past with the
    approvers listed: nobody but the requester is among them (or their manager is not
    listed). The requester's manager then decides, by direct message when not in the
    approvals channel; without a manager in the directory nobody can."""
    for slug, workflow in rules.workflows.items():
        starters = sorted(directory.expand(workflow.started_by), key=lambda p: p.email)
        for t, tier in enumerate(workflow.approval):
            if not tier.approvers:
                continue
            named = [a for a in tier.approvers if a != MANAGER]
            groups = [[a] for a in named] if tier.require == "all" else [named]
            never: list[str] = []
            to_manager: list[str] = []
            for person in starters:
                manager = directory.manager_of(person)
                listed = manager if MANAGER in tier.approvers else None
                for principals in groups or [[]]:
                    eligible = directory.expand(principals) | ({listed} if listed else set())
                    if not eligible - {person}:
                        fallback = manager is not None and manager.email != person.email
                        (to_manager if fallback else never).append(person.email)
                        break
            loc: Loc = ("workflows", slug, "approval", t, "approvers")
            where = f"workflows.{slug}.approval.{t}.approvers"
            who = ", ".join(tier.approvers)
            if never:
                yield (
                    loc,
                    f"{where}: requests from {_some(never)} can never be approved at this "
                    f"tier, as nobody in {who} but the requester could approve them and the "
                    "directory names no manager for them; add people to the directory",
                )
            if to_manager:
                yield (
                    loc,
                    f"{where}: requests from {_some(to_manager)} are decided by the "
                    f"requester's manager at this tier, as nobody in {who} but the requester "
                    "could approve them; the manager gets the card by direct message when "
                    "not in its approvals channel. Add approvers if that is not meant",
                )


def escalates_to_approvers(rules: RulesConfig, directory: Directory) -> Iterator[tuple[Loc, str]]:
    """Workflows whose escalation would only reach people who may already approve: for
    some requests, nobody new is asked when nobody decided in time (the approvers are
    reminded again instead). One warning for each approval tier where that happens."""
    for slug, workflow in rules.workflows.items():
        if workflow.escalate_to is None:
            continue
        starters = sorted(directory.expand(workflow.started_by), key=lambda p: p.email)
        stuck: dict[int, list[str]] = {}
        for person in starters:
            for t, tier in enumerate(workflow.approval):
                named = directory.expand([a for a in tier.approvers if a != MANAGER])
                manager = directory.manager_of(person)
                if MANAGER in tier.approvers and manager is not None:
                    named.add(manager)
                approvers = [p for p in named if p.email != person.email]
                if not approvers:
                    continue
                escalation = escalation_for(
                    directory,
                    workflow.escalate_to,
                    waiting=approvers,
                    approvers={p.email for p in approvers},
                    requester_email=person.email,
                )
                if escalation.passed_over and not escalation.new:
                    stuck.setdefault(t, []).append(person.email)
        for t, emails in sorted(stuck.items()):
            who = ", ".join(workflow.approval[t].approvers)
            yield (
                ("workflows", slug, "escalate_to"),
                f"workflows.{slug}.escalate_to: at approval tier {t + 1} (approval.{t}: "
                f"{who}), requests from {_some(emails)} would escalate only to people who may "
                "already approve them, so nobody new is asked when nobody decides in time "
                "(the approvers are reminded again instead); escalate to someone else, or "
                "name managers above the approvers in the directory",
            )


def _some(emails: list[str]) -> str:
    return ", ".join(emails[:3]) + (f" and {len(emails) - 3} more" if len(emails) > 3 else "")
