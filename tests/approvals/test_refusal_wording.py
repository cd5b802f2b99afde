"""The words someone reads when they click a request they may not decide on."""

from __future__ import annotations

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.config.workspace import default_workspace_path
from app.errors import AccessDenied
from app.rules.requirements import ApprovalRequirement
from app.services import Services, build_services
from tests.approval_helpers import DANIEL, ELENA, LIAM, PRIYA, demo, pending_discount, person


def demo_services(database) -> Services:
    return build_services(
        Settings(database_url=database.url, workspace=default_workspace_path()),
        demo(),
        database,
        answerer=ExtractiveAnswerer(),
    )


async def refusal_for(services: Services, approvers: tuple[str, ...], require: str = "any") -> str:
    needs = ApprovalRequirement("discount_request", approvers=approvers, require=require)
    draft = await pending_discount(services.approvals, percent=15, needs=needs)
    try:
        await services.approvals.approve(draft_id=draft.id, approver=person(PRIYA))
    except AccessDenied as refused:
        return refused.user_message
    raise AssertionError("Priya was allowed to approve")


async def test_one_approver_is_named_by_their_name_in_the_singular(database):
    services = demo_services(database)
    said = await refusal_for(services, (DANIEL,))
    assert said == "Only Daniel Okafor can approve this request. Nothing was changed."


async def test_several_approvers_are_named_as_alternatives(database):
    services = demo_services(database)
    said = await refusal_for(services, (DANIEL, ELENA))
    assert said.startswith(
        "Only Daniel Okafor or Elena Petrova can approve this request, and you are not one of them."
    )
    assert "@" not in said


async def test_approvers_who_must_all_approve_are_joined_by_and(database):
    services = demo_services(database)
    said = await refusal_for(services, (DANIEL, "finance"), require="all")
    assert said.startswith("Only Daniel Okafor and finance can approve this request")
    assert LIAM not in said
