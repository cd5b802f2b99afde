"""`trellis check` on drafts that go out when no model writes them.

Without a model (no ANTHROPIC_API_KEY) a workflow's draft quotes documents: it does not
follow the free text of its prompt ("a short, friendly email to the client"). Where
approving a draft sends its text out (app/delivery/actions.py `sends_draft_out`), check
says so for each workflow, and that the requests its automatic tiers would let through
wait for a person instead (app/approvals/read_first.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from app.config.yamlfile import Loc
from app.delivery.actions import sends_draft_out
from app.rules.schema import MANAGER, RulesConfig, Workflow

MODEL_KEY = "ANTHROPIC_API_KEY"


def offline_drafts(rules: RulesConfig, env: Mapping[str, str]) -> Iterator[tuple[Loc, str]]:
    """(where, warning) for each workflow whose drafts go out, when no model is set."""
    if env.get(MODEL_KEY):
        return
    for slug, workflow in rules.workflows.items():
        out = sends_draft_out(workflow)
        if not out:
            continue
        prompt = f"prompts/{workflow.draft.prompt}" if workflow.draft else "the request"
        warning = (
            f"workflows.{slug}: without a model ({MODEL_KEY} is not set) its draft does not "
            f"follow the free text of {prompt}: it quotes the documents, and approving it "
            f"sends that text out ({', '.join(out)}); an approver should edit it before it "
            "goes out (the card's Edit button)"
        )
        if held := _held_tiers(workflow):
            warning += (
                f". Requests that {held} would approve automatically wait for "
                f"{_reader(workflow)} instead, since a draft written without a model is "
                "approved automatically only once a person has read it"
            )
        loc: Loc = ("workflows", slug, "draft") if workflow.draft else ("workflows", slug)
        yield loc, warning


def _held_tiers(workflow: Workflow) -> str:
    if workflow.mode == "act":
        return "mode act"
    auto = [i for i, t in enumerate(workflow.approval) if not t.approvers]
    if not workflow.approval:
        return "the workflow (no approval tiers)"
    return " and ".join(f"approval tier {i + 1}" for i in auto)


def _reader(workflow: Workflow) -> str:
    """Who reads first: as `RuleBook.read_first` picks, from the first automatic tier on."""
    first = next((i for i, t in enumerate(workflow.approval) if not t.approvers), 0)
    later = [t for t in workflow.approval[first:] if t.approvers]
    if later:
        return ", ".join(later[0].approvers)
    if isinstance(workflow.escalate_to, list):
        return ", ".join(workflow.escalate_to)
    return "the requester's manager" if workflow.escalate_to in (None, MANAGER) else "a person"
