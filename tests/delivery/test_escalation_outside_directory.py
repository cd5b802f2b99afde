"""A real HR export names managers who are not in it (a board, a parent company). Trellis
starts anyway, and a request that would escalate to such a manager is put to the
workflow's approvals channel instead, with an audit record that says so."""

from __future__ import annotations

import shutil

from app.config.workspace import default_workspace_path, load_workspace
from app.delivery.scheduler import sweep_drafts
from tests.approval_helpers import Clock
from tests.harness import running_trellis
from tests.workflow_helpers import card_in, draft_of, wait_for_text

SAM = "sam.ortiz@northwind.example"
ROSA = "rosa.delgado@northwind.example"  # the one support lead, who approves replies
OUTSIDE = "coo@parent-company.example"
REPLY = (
    'customer_reply customer="Alpine Co." contact=purchasing@alpine-co.example ticket=SUP-9 '
    'question="When does our contract renew? We are planning the next tents order."'
)


def workspace_with_rosas_manager_outside(tmp_path):
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    directory = root / "directory.yml"
    text = directory.read_text()
    rosa = text.index(f"email: {ROSA}")
    before, after = text[:rosa], text[rosa:]
    after = after.replace("manager: maya.lindqvist@northwind.example", f"manager: {OUTSIDE}", 1)
    directory.write_text(before + after)
    return root


async def test_escalation_to_a_manager_outside_the_directory_goes_to_the_approvals_channel(
    tmp_path,
):
    root = workspace_with_rosas_manager_outside(tmp_path)
    workspace = load_workspace(root)  # a warning, not a refusal to start
    rosa = workspace.directory.by_email(ROSA)
    assert rosa.manager == OUTSIDE and workspace.directory.manager_of(rosa) is None
    assert any(OUTSIDE in str(w) for w in workspace.directory.warnings)

    clock = Clock()
    async with running_trellis(tmp_path, workspace=root, clock=clock) as trellis:
        await trellis.sandbox.slash_command(
            trellis.user(SAM), trellis.channel("support"), "/trellis", REPLY
        )
        card = await card_in(trellis, "support-approvals")
        draft = await draft_of(trellis, card)

        clock.advance(hours=4, seconds=1)  # escalate_after: 4h, escalate_to: manager
        assert (await sweep_drafts(trellis.services)).escalated == 1
        notice = await wait_for_text(
            trellis,
            "support-approvals",
            "not in the directory",
            where=lambda m: m.thread_ts is None,  # in the channel, not hidden in a thread
        )
        assert OUTSIDE in notice.text and "any approver in this channel" in notice.text

        view = await trellis.services.approvals.view(draft.id)
        assert view.escalated_to == ()
        [escalated] = [
            r for r in await trellis.services.audit.story(draft.id) if r.kind == "draft.escalated"
        ]
        assert escalated.payload["not_in_directory"] == [OUTSIDE]
        assert escalated.payload["instead"] == "approvals channel"
        assert escalated.channel_id == trellis.channel("support-approvals")
        assert (await sweep_drafts(trellis.services)).escalated == 0  # once
