"""The chain, spelled out once.

    Slack user ─► identity ─► allowed data ─► business rules ─► AI output ─► review ─► logs

`answer_question` is the whole path of a question, top to bottom. Each stage lives in its
own module; this file only decides the order and what passes between them. It never sees
a Slack payload: handlers turn those into a `Question` and render the `Outcome`. Workflow
requests have their own chain, `app/approvals/chain.py`.

One question is one unit of work: everything its answers rest on (the thread so far, the
passages, a curated answer, the day's spend) is read in one read-only transaction before
any model is asked, and its audit record and answer records are written in one write
transaction after.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from app.answering.base import TextSink
from app.answering.compose import Reply, adds_to, compose, for_asker_only, seen_by_outsiders
from app.answering.grounds import adds_sources, read_grounds
from app.approvals import review
from app.domain import AnswerStatus, Passage, Person
from app.errors import IdentityUnknown
from app.identity import access
from app.services import Services
from app.slack_people import SlackChannel
from app.trust import answer_log, tracing


@dataclass(frozen=True)
class Question:
    text: str
    channel: SlackChannel
    slack_user_id: str | None = None
    person: Person | None = None
    """Set when the asker is already known (the CLI's --as); otherwise resolved from Slack."""
    thread_ts: str | None = None
    message_ts: str | None = None
    private: bool = False
    """Only the asker will see the answer, so their own scope applies."""
    answer_ts: str | None = None
    """The Slack message that will show the answer (the thinking indicator it replaces).
    The answer's record names it in the transaction that stores it, so a reaction on the
    answer always finds it. Without it, `answer_question`'s `show` names the message."""
    received_id: str | None = None
    """The stored question (app/answering/intake.py), marked answered in that transaction."""
    posted_in: str | None = None
    """The conversation the answer is posted in, when it is not `channel`: the assistant
    view answers in the person's DM for the members of the channel they are viewing."""

    @property
    def conversation_id(self) -> str:
        """Where the question and its answer are: its thread, its answer records."""
        return self.posted_in or self.channel.id


@dataclass(frozen=True)
class Outcome:
    audit_id: str
    status: AnswerStatus
    public: Reply
    private: Reply | None = None
    person: Person | None = None


async def answer_question(
    services: Services,
    question: Question,
    *,
    on_text: TextSink | None = None,
    show: Callable[[Reply], Awaitable[str]] | None = None,
) -> Outcome:
    """The chain below, as one span of the question's trace (app/trust/tracing.py).
    `on_text`: where the public answer's text goes as the model writes it, before any
    check has run (see `review.could_hold`); the Outcome decides what is finally shown.
    `show`: shows the checked public answer when it is not held and no message was posted
    for it before (`question.answer_ts`); the Slack message showing it, for its record."""
    with tracing.span(
        "trellis.question",
        {"trellis.question.private": question.private},
        private={"trellis.question.text": question.text, "slack.user.id": question.slack_user_id},
    ) as span:
        outcome = await _answer_question(services, question, on_text, show)
        tracing.attributes(
            span,
            {
                "trellis.audit_id": outcome.audit_id,
                "trellis.answer.status": outcome.status.value,
                "trellis.answer.confidence": outcome.public.confidence,
                "trellis.answer.citations": len(outcome.public.citations),
                "trellis.answer.private": outcome.private is not None,
            },
            private={
                "trellis.answer.text": outcome.public.text,
                "trellis.person.email": outcome.person.email if outcome.person else None,
            },
        )
        return outcome


async def _answer_question(
    services: Services,
    question: Question,
    on_text: TextSink | None = None,
    show: Callable[[Reply], Awaitable[str]] | None = None,
) -> Outcome:
    timer = answer_log.StageTimer()
    audit_id = str(uuid.uuid4())

    # 1. Identity: who is asking. Unknown people are refused, and the refusal is audited.
    with tracing.span("trellis.identity"):
        try:
            person = question.person or await services.identity.resolve(
                question.slack_user_id or ""
            )
        except IdentityUnknown as refusal:
            await answer_log.record_refusal(services, question, audit_id, str(refusal))
            services.metrics.questions.labels(status=AnswerStatus.REFUSED.value).inc()
            return Outcome(
                audit_id, AnswerStatus.REFUSED, Reply(AnswerStatus.REFUSED, refusal.user_message)
            )
    timer.lap("identity")

    # 2. Allowed data: what everyone who will read the answer may see, and everything the
    #    answers may rest on, read at once (no transaction stays open while a model writes).
    with tracing.span("trellis.audience") as span:
        audience = await access.audience_for(
            asker=person,
            channel=question.channel,
            slack=services.slack,
            identity=services.identity,
            private=question.private,
        )
        tracing.attributes(
            span,
            {
                "trellis.audience.readers": audience.readers,
                "trellis.audience.outsiders": audience.outsiders,
                "trellis.audience.narrower": audience.narrower_than_asker,
            },
        )
    with tracing.span("trellis.retrieval") as span:
        async with services.database.reading() as session:
            grounds = await read_grounds(services, session, question, person, audience)
        tracing.attributes(
            span,
            {
                "trellis.retrieval.mode": services.retrieval_mode.value,
                "trellis.retrieval.passages": len(grounds.passages),
                "trellis.retrieval.fuller": len(grounds.fuller),
                "trellis.retrieval.history": len(grounds.history),
                "trellis.retrieval.curated": grounds.curated is not None,
                "trellis.route.model": grounds.route.model,
                "trellis.route.over_budget": grounds.route.over_budget,
            },
            private={"trellis.retrieval.doc_ids": [p.doc_id for p in grounds.passages]},
        )
    passages, fuller = grounds.passages, grounds.fuller
    history, route = grounds.history, grounds.route
    timer.lap("retrieval")

    # 3. Business rules, 4. AI output: answer from the allowed passages only, and check it.
    public = await compose(
        services.workspace.config,
        question.text,
        passages,
        history,
        audience.scope,
        route,
        grounds.curated,
        names=services.workspace.directory.people_named,
        here=question.channel.name,
        asker=partial(services.workspace.directory.names_only, person.email),
        # Text is shown as it is written only when no review rule could hold the answer.
        on_text=None
        if on_text is None
        or review.could_hold(services, person=person, channel=question.channel, passages=passages)
        else on_text,
    )
    # The asker's fuller private answer, sent only when it tells them more (`adds_to`).
    private = None
    if adds_sources(fuller, passages):
        private = await compose(
            services.workspace.config,
            question.text,
            fuller,
            grounds.asker_history,
            audience.asker_scope,
            route,
            grounds.asker_curated,
            names=services.workspace.directory.people_named,
            here=question.channel.name,
            asker=partial(services.workspace.directory.names_only, person.email),
        )
        private = adds_to(public, private, beyond_public=grounds.beyond_audience)
    timer.lap("answer")

    # 5. Review: an answer the rules mark as sensitive waits for a reviewer, and rests only
    #    on sources the reviewers may read too (otherwise it is answered from fewer).
    with tracing.span("trellis.review") as span:
        held = _needs_review(services, person, question, public, passages)
        if held:
            reviewers = await review.reviewers_scope(services, person=person)
            readable = [p for p in passages if reviewers.allows(p.access)]
            if len(readable) < len(passages):
                passages = readable
                public = await compose(
                    services.workspace.config,
                    question.text,
                    passages,
                    history,
                    audience.scope,
                    route,
                    grounds.curated,
                    names=services.workspace.directory.people_named,
                    here=question.channel.name,
                    asker=partial(services.workspace.directory.names_only, person.email),
                )
                held = _needs_review(services, person, question, public, passages)
        # The asker's fuller private answer follows the same review rules, on sources its
        # reviewers may read too.
        private_held = False
        if (
            private is not None
            and not held
            and _needs_review(services, person, question, private, fuller)
        ):
            reviewers = await review.reviewers_scope(services, person=person)
            readable = [p for p in fuller if reviewers.allows(p.access)]
            private = None
            if adds_sources(readable, passages):
                private = await compose(
                    services.workspace.config,
                    question.text,
                    readable,
                    history,
                    audience.asker_scope,
                    route,
                    grounds.asker_curated,
                    names=services.workspace.directory.people_named,
                    here=question.channel.name,
                    asker=partial(services.workspace.directory.names_only, person.email),
                )
                private = adds_to(public, private, beyond_public=grounds.beyond_audience)
                private_held = private is not None
        # A person whose answers have gone to the reviewers as often as an hour allows is
        # told so, instead of sending them another card (app/trust/quotas.py).
        if held or private_held:
            over = await services.quotas.held_refusal(
                person=person, slack_user_id=question.slack_user_id
            )
            if over is not None and held:
                public = Reply(AnswerStatus.REFUSED, over.message, scope_label=public.scope_label)
                private, held, private_held = None, False, False
            elif over is not None:
                private, private_held = None, False
        status = public.status if not private else AnswerStatus.ANSWERED
        status = AnswerStatus.NEEDS_APPROVAL if held or private_held else status
        viewing = (
            audience.channel.label if question.conversation_id != question.channel.id else None
        )
        public = for_asker_only(
            public,
            private,
            services.workspace.config,
            viewing=viewing,
            names=services.workspace.directory.people_named,
            outsiders=seen_by_outsiders(audience.scope),
            here=question.channel.name,
        )
        tracing.attributes(
            span, {"trellis.review.held": held, "trellis.review.private_held": private_held}
        )

    # 6. Logs: one audit record for the whole question, written with its answer records
    #    and, when the public answer is shown at once, the Slack message that shows it.
    shown_in = None if held else question.answer_ts
    if shown_in is None and not held and show is not None:
        shown_in = await show(public)
    with tracing.span("trellis.audit"):
        public, private = await answer_log.record_answers(
            services,
            question,
            person,
            audience,
            audit_id,
            dict(timer.stages, total=timer.total()),
            passages,
            fuller,
            public,
            private,
            status,
            message_ts=shown_in,
        )
    if private_held and private is not None:
        notice = await review.hold_answer(
            services,
            person=person,
            slack_user_id=question.slack_user_id,
            channel=question.channel,
            posted_in=question.conversation_id,
            thread_ts=question.thread_ts or question.message_ts,
            private=True,
            question=question.text,
            answer_id=private.answer_id,
            text=private.text,
            citations=private.citations,
            confidence=private.confidence,
            scope_label=private.scope_label,
        )
        private = Reply(AnswerStatus.NEEDS_APPROVAL, notice, scope_label=private.scope_label)
    if held:
        notice = await review.hold_answer(
            services,
            person=person,
            slack_user_id=question.slack_user_id,
            channel=question.channel,
            posted_in=question.conversation_id,
            thread_ts=question.thread_ts or question.message_ts,
            private=question.private,
            question=question.text,
            answer_id=public.answer_id,
            text=public.text,
            citations=public.citations,
            confidence=public.confidence,
            scope_label=public.scope_label,
        )
        return Outcome(
            audit_id, status, Reply(status, notice, scope_label=public.scope_label), None, person
        )
    return Outcome(audit_id, status, public, private, person)


def _needs_review(
    services: Services,
    person: Person,
    question: Question,
    reply: Reply,
    passages: Sequence[Passage],
) -> bool:
    return reply.status == AnswerStatus.ANSWERED and review.needs_review(
        services,
        person=person,
        channel=question.channel,
        text=reply.text,
        confidence=reply.confidence,
        citations=reply.citations,
        passages=passages,
    )
