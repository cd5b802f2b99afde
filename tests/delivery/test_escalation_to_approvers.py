"""An escalation asks someone new: a manager who may already approve the request is passed
over for the next one up; when nobody new is found, the approvers are reminded again and
told so, and `trellis check` warns about the workflow."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from app.cli.review import review_workspace
from app.config.workspace import default_workspace_path
from app.delivery.scheduler import sweep_drafts
from tests.approval_helpers import Clock
from tests.harness import RunningTrellis, running_trellis
from tests.workflow_helpers import card_in, draft_of, wait_for_text

SAM = "sam.ortiz@northwind.example"
ROSA = "rosa.delgado@northwind.example"  # support lead; her manager is Maya
MAYA = "maya.lindqvist@northwind.example"
CHAIR = "ines.romero@northwind.example"  # added above Maya in the second case
REPLY = (
    'customer_reply customer="Alpine Co." contact=purchasing@alpine-co.example ticket=SUP-9 '
    'question="When does our contract renew? We are planning the next tents order."'
)
MAYA_ENTRY = "    groups: [leadership]\n    region: NA\n"


def workspace_where_maya_approves_replies(tmp_path: Path, *, maya_manager: str = "") -> Path:
    """The demo, with Maya (Rosa's manager, who has none unless `maya_manager`) also a
    support lead."""
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    directory = root / "directory.yml"
    text = directory.read_text()
    assert MAYA_ENTRY in text
    manager = f"    manager: {maya_manager}\n" if maya_manager else ""
    text = text.replace(
        MAYA_ENTRY, f"    groups: [leadership, support-leads]\n{manager}    region: NA\n"
    )
    if maya_manager:  # someone above Maya, who may read what support cites
        text += (
            f"\n  - email: {maya_manager}\n    name: Ines Romero\n    employee_id: NW-1099\n"
            "    title: Chair of the Board\n    department: Board\n"
            "    groups: [leadership, support]\n    region: NA\n"
        )
    directory.write_text(text)
    return root


async def escalated(trellis: RunningTrellis, clock: Clock) -> list[str]:
    """Sam's customer reply waits past escalate_after (4h); whom the escalation named."""
    await trellis.sandbox.slash_command(
        trellis.user(SAM), trellis.channel("support"), "/trellis", REPLY
    )
    draft = await draft_of(trellis, await card_in(trellis, "support-approvals"))
    clock.advance(hours=4, seconds=1)
    assert (await sweep_drafts(trellis.services)).escalated == 1
    assert (await sweep_drafts(trellis.services)).escalated == 0  # once
    [record] = [
        r for r in await trellis.services.audit.story(draft.id) if r.kind == "draft.escalated"
    ]
    return list(record.payload["to"])


async def test_escalation_to_managers_who_already_approve_reminds_the_approvers_instead(tmp_path):
    root = workspace_where_maya_approves_replies(tmp_path)
    clock = Clock()
    async with running_trellis(tmp_path, workspace=root, clock=clock) as trellis:
        assert await escalated(trellis, clock) == []
        reminder = await wait_for_text(trellis, "support-approvals", "Reminder")
        assert "everyone it escalates to can already decide" in reminder.text
        assert trellis.user(MAYA) in reminder.text and trellis.user(ROSA) in reminder.text
        said = [
            m.text or "" for m in trellis.sandbox.messages(trellis.channel("support-approvals"))
        ]
        assert not any("Escalated to" in text for text in said)


async def test_escalation_passes_over_a_manager_who_already_approves_for_the_next_one_up(tmp_path):
    root = workspace_where_maya_approves_replies(tmp_path, maya_manager=CHAIR)
    clock = Clock()
    async with running_trellis(tmp_path, workspace=root, clock=clock) as trellis:
        to = await escalated(trellis, clock)
        assert to == [CHAIR]
        said = await wait_for_text(trellis, "support-approvals", "Escalated to")
        assert trellis.user(CHAIR) in said.text and trellis.user(MAYA) not in said.text


def test_check_warns_when_a_workflow_escalates_only_to_its_approvers(tmp_path):
    warned = [str(w) for w in review_workspace(default_workspace_path(), os.environ).warnings]
    assert not any("escalate_to" in w for w in warned)
    root = workspace_where_maya_approves_replies(tmp_path)
    warned = [str(w) for w in review_workspace(root, os.environ).warnings]
    [warning] = [w for w in warned if "customer_reply.escalate_to" in w]
    assert SAM in warning and "already approve" in warning
