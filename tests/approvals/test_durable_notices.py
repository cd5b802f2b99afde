"""A held answer and an expiry notice go out through the outbox: once, after any crash.

The decision and its message are written in one transaction; a worker that starts later
(as a restarted process would) delivers what the stopped one never sent, and a delivery
Slack refused is tried again instead of being lost.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from app.approvals import notices
from app.approvals.deadlines import Timing
from app.approvals.drafts import DraftState, DraftView
from app.approvals.review import REVIEW_WORKFLOW
from app.approvals.service import Approvals
from app.db.models.approvals import Draft, OutboxAction
from app.domain import ActionState
from tests.approval_helpers import (
    ROSA,
    SAM,
    SOFIA,
    Clock,
    FixedCard,
    approvals_for,
    demo,
    pending_discount,
    person,
    webhook_action,
)
from tests.delivery.test_outbox import FAST, make_worker


class SlackStandIn:
    """Records what would reach Slack; refuses the first `down` posts as Slack would."""

    def __init__(self, *, down: int = 0) -> None:
        self.down = down
        self.answers: list[str] = []
        self.told: list[DraftState] = []
        self.finished: list[tuple[str, str]] = []

    async def post_answer(self, draft: DraftView) -> str:
        if self.down:
            self.down -= 1
            raise ConnectionError("slack is unreachable")
        self.answers.append(draft.text)
        return f"17000000{len(self.answers)}.000100"

    async def decided(self, draft: DraftView) -> None:
        if self.down:
            self.down -= 1
            raise ConnectionError("slack is unreachable")
        self.told.append(draft.state)

    async def refresh_card(self, draft: DraftView) -> None:
        return None

    async def action_finished(self, draft, action) -> None:
        self.finished.append((action.state, action.last_error or action.summary or ""))


async def held_answer(approvals: Approvals, *, expire_after: timedelta | None = None) -> DraftView:
    asker = person(SAM)
    needs = demo().rulebook.review_requirement(requester=asker)
    draft = await approvals.create(
        kind="answer",
        workflow=REVIEW_WORKFLOW,
        title="Answer review",
        mode="post_after_review",
        requester=asker,
        requester_slack_id="U0SAM",
        channel_id="C0SUPPORT",
        thread_ts="1.000",
        private=False,
        inputs={"question": "Within how many days can unused gear be returned?"},
        text="Unused gear can be returned within 60 days.",
        citations=[],
        confidence=0.9,
        actions=[],
        requirement=needs,
        rule="answers.review_when",
        rule_version=demo().version,
        timing=Timing(expire_after=expire_after),
    )
    return await approvals.put_before_approvers(draft_id=draft.id, notifier=FixedCard())


async def test_an_approved_held_answer_waits_in_the_outbox_until_a_worker_posts_it_once(database):
    approvals = approvals_for(database)
    draft = await held_answer(approvals)
    decision = await approvals.approve(draft_id=draft.id, approver=person(ROSA))

    # The process stops here, after the decision and before any post.
    assert decision.outcome == "approved"
    assert decision.draft.state == DraftState.APPROVED
    assert [(a.connector, a.state) for a in decision.draft.outbox] == [
        (notices.ANSWER, ActionState.PENDING)
    ]

    slack = SlackStandIn()
    restarted = make_worker(database, approvals, notifier=slack)
    assert await restarted.run_once() == 1
    assert await make_worker(database, approvals, notifier=slack).run_once() == 0
    assert slack.answers == ["Unused gear can be returned within 60 days."]
    view = await approvals.view(draft.id)
    assert view.state == DraftState.DONE
    assert view.outbox[0].state == ActionState.DONE
    assert view.outbox[0].description == "post the answer in the asker's thread"
    assert slack.finished == []  # the answer itself is the news: no "Done" message after it


async def test_a_held_answer_slack_refused_is_posted_on_a_later_attempt(database):
    approvals = approvals_for(database)
    draft = await held_answer(approvals)
    await approvals.approve(draft_id=draft.id, approver=person(ROSA))

    slack = SlackStandIn(down=2)
    worker = make_worker(database, approvals, notifier=slack)
    for _ in range(20):
        await worker.run_once()
        if (await approvals.view(draft.id)).state == DraftState.DONE:
            break
        await asyncio.sleep(FAST.max_delay)
    assert slack.answers == ["Unused gear can be returned within 60 days."]
    assert (await approvals.view(draft.id)).state == DraftState.DONE


async def test_a_held_answer_is_only_posted_as_it_was_approved(database):
    approvals = approvals_for(database)
    draft = await held_answer(approvals)
    await approvals.approve(draft_id=draft.id, approver=person(ROSA))
    async with database.session() as session:
        await session.execute(
            update(Draft).where(Draft.id == draft.id).values(text="Something nobody approved.")
        )

    slack = SlackStandIn()
    await make_worker(database, approvals, notifier=slack).run_once()
    assert slack.answers == []
    assert (await approvals.view(draft.id)).state == DraftState.FAILED


async def test_an_expiry_notice_is_delivered_after_a_stop_between_expiring_and_telling(database):
    clock = Clock()
    approvals = approvals_for(database, clock)
    draft = await pending_discount(approvals, percent=15, actions=[webhook_action("http://x/")])
    clock.advance(days=2, seconds=1)

    expired = await approvals.expire(draft_id=draft.id)  # the process stops right after
    assert expired is not None and expired.state == DraftState.EXPIRED

    slack = SlackStandIn(down=1)  # and Slack refuses the first attempt
    worker = make_worker(database, approvals, notifier=slack)
    for _ in range(20):
        await worker.run_once()
        if slack.told:
            break
        await asyncio.sleep(FAST.max_delay)
    assert await make_worker(database, approvals, notifier=slack).run_once() == 0
    assert slack.told == [DraftState.EXPIRED]
    view = await approvals.view(draft.id)
    assert view.state == DraftState.EXPIRED
    [notice] = view.outbox
    assert (notice.connector, notice.state, notice.attempts) == (
        notices.EXPIRED,
        ActionState.DONE,
        2,
    )


async def test_a_draft_left_executing_with_its_actions_finished_is_settled(database):
    approvals = approvals_for(database)
    done = await pending_discount(approvals, percent=15, actions=[webhook_action("http://x/")])
    dead = await pending_discount(approvals, percent=15, actions=[webhook_action("http://x/")])
    waiting = await pending_discount(approvals, percent=15, actions=[webhook_action("http://x/")])
    for draft in (done, dead, waiting):
        await approvals.approve(draft_id=draft.id, approver=person(SOFIA))
    async with database.session() as session:
        await session.execute(
            update(Draft)
            .where(Draft.id.in_([done.id, dead.id, waiting.id]))
            .values(state=DraftState.EXECUTING.value)
        )
        for draft, state in ((done, ActionState.DONE), (dead, ActionState.DEAD)):
            await session.execute(
                update(OutboxAction).where(OutboxAction.draft_id == draft.id).values(state=state)
            )

    assert await approvals.settle_finished() == 2
    assert (await approvals.view(done.id)).state == DraftState.DONE
    assert (await approvals.view(dead.id)).state == DraftState.FAILED
    assert (await approvals.view(waiting.id)).state == DraftState.EXECUTING
    assert await approvals.settle_finished() == 0
