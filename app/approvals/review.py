"""Answers a reviewer checks before they are posted (rules.yml `answers.review_when`).

A held answer becomes a draft of kind "answer": a card goes to the reviewers' channel and
the asker is told a reviewer will check it first. Approving it posts the answer in the
asker's thread (see `Notifier.decided`); rejecting it tells the asker why.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from app.approvals import asked, drafting
from app.approvals.deadlines import Timing
from app.domain import AccessScope, Citation, Passage, Person
from app.rules.facts import DraftFacts
from app.services import Services
from app.slack_people import SlackChannel

log = structlog.get_logger(__name__)

REVIEW_WORKFLOW = "answer_review"


def needs_review(
    services: Services,
    *,
    person: Person,
    channel: SlackChannel,
    text: str,
    confidence: float,
    citations: Sequence[Citation],
    passages: Sequence[Passage],
) -> bool:
    if services.approvals is None:
        return False
    facts = DraftFacts.from_passages(
        text=text, confidence=confidence, cited=[c.doc_id for c in citations], passages=passages
    )
    return services.workspace.rulebook.answer_needs_review(
        requester=person, channel=channel, draft=facts
    )


def could_hold(
    services: Services, *, person: Person, channel: SlackChannel, passages: Sequence[Passage]
) -> bool:
    """Whether an answer resting on `passages` could be held for review, whatever it turns
    out to say: asked before the model writes, with what is known then (the asker, the
    channel, the tags of every passage as if all were cited, at either end of confidence),
    so an answer that may wait for its reviewers is not streamed in part. A rule on the
    answer's own words can only hold later; then the held notice replaces the streamed text."""
    if services.approvals is None or services.workspace.rulebook.rules.answers.review_when is None:
        return False
    cited = tuple(
        Citation(doc_id=p.doc_id, title=p.title, quote="")
        for p in {p.doc_id: p for p in passages}.values()
    )
    return any(
        needs_review(
            services,
            person=person,
            channel=channel,
            text="",
            confidence=confidence,
            citations=cited,
            passages=passages,
        )
        for confidence in (0.0, 1.0)
    )


async def reviewers_scope(services: Services, *, person: Person) -> AccessScope:
    """What the asker and every member of the reviewers' channel may all see: a held answer
    may rest only on that, or the review card would show reviewers what they may not read."""
    return await drafting.readers_scope(
        services, person=person, channel=services.workspace.rulebook.rules.answers.channel
    )


async def hold_answer(
    services: Services,
    *,
    person: Person,
    slack_user_id: str | None,
    channel: SlackChannel,
    posted_in: str,
    thread_ts: str | None,
    private: bool,
    question: str,
    answer_id: str | None,
    text: str,
    citations: Sequence[Citation],
    confidence: float,
    scope_label: str,
) -> str:
    """Send the answer to its reviewers; what the asker is told meanwhile. `channel`: whose
    members the answer is for; `posted_in`: the conversation it is posted in once approved."""
    rulebook = services.workspace.rulebook
    needs = rulebook.review_requirement(requester=person)
    condition = rulebook.rules.answers.review_when
    view = await services.approvals.create(
        kind="answer",
        workflow=REVIEW_WORKFLOW,
        title="Answer review",
        mode="post_after_review",
        requester=person,
        requester_slack_id=slack_user_id,
        channel_id=posted_in,
        thread_ts=thread_ts,
        private=private,
        answer_id=answer_id,
        inputs={"question": question, "scope": scope_label, "channel": channel.label},
        text=text,
        citations=[c.as_dict() for c in citations],
        confidence=confidence,
        actions=[],
        requirement=needs,
        rule=f"answers.review_when: {condition.source}" if condition else "answers.review_when",
        rule_version=services.workspace.version,
        timing=Timing(),
    )
    try:
        readers, withheld = await asked.deciders(services, view)
        await services.approvals.put_before_approvers(
            draft_id=view.id, notifier=services.notifier, deciders=readers, withheld=withheld
        )
    except Exception:  # the draft waits in the database; the scheduler posts its card later
        log.warning("review_card_failed", draft=view.id, exc_info=True)
    who = ", ".join(needs.approvers) or "a reviewer"
    return (
        f"This answer needs a check by a reviewer ({who}) before it is posted here, "
        "because of where it is going or the documents it uses. You will see it in this "
        "thread as soon as it is approved."
    )
