"""What a question's answers may rest on, read in one read-only transaction before any
model is asked (app/pipeline.py): the thread so far, the passages its readers may see, a
curated answer, the model route for the day's spend, and, when the asker may see more than
the conversation, what their fuller private answer may rest on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.answering import budgets
from app.answering.history import thread_history
from app.domain import Passage, Person, Turn
from app.identity import access
from app.knowledge.search import get_documents, search
from app.services import Services
from app.trust.corrections import Curated, curated_answer_for

if TYPE_CHECKING:
    from app.pipeline import Question


@dataclass(frozen=True)
class Grounds:
    """What a question's answers may rest on, read in one transaction."""

    history: list[Turn]
    passages: Sequence[Passage]
    fuller: Sequence[Passage]
    """What the asker alone may see, when the audience may see less."""
    route: budgets.Route
    curated: Curated | None
    asker_history: list[Turn]
    asker_curated: Curated | None
    beyond_audience: frozenset[str] = frozenset()
    """The documents the asker's private answer may rest on (the fuller passages, the
    asker's curated answer) that the conversation's answer may not use: not everyone
    reading it may see them."""


async def read_grounds(
    services: Services,
    session: AsyncSession,
    question: Question,
    person: Person,
    audience: access.Audience,
) -> Grounds:
    history = await thread_history(
        session, question.conversation_id, question.thread_ts, audience.scope
    )
    query = " ".join([*(t.question for t in history[-1:]), question.text])
    # Search also measures how specific each word is, and how well the best passage
    # matches, across everything this audience may see (for confidence).
    passages = await search(
        session,
        query=query,
        scope=audience.scope,
        limit=services.retrieval_limit,
        mode=services.retrieval_mode,
    )
    fuller: Sequence[Passage] = ()
    if audience.narrower_than_asker:
        fuller = await search(
            session,
            query=query,
            scope=audience.asker_scope,
            limit=services.retrieval_limit,
            mode=services.retrieval_mode,
        )
    route = await budgets.route(services, person=person, task="answer", session=session)
    # An owner-approved correction whose every source the audience may see comes first.
    curated = await curated_answer_for(session, question=question.text, scope=audience.scope)
    asker_history, asker_curated = [], None
    beyond = frozenset(p.doc_id for p in fuller if not audience.scope.allows(p.access))
    if adds_sources(fuller, passages):  # the asker may also get a fuller private answer
        asker_history = await thread_history(
            session, question.conversation_id, question.thread_ts, audience.asker_scope
        )
        asker_curated = await curated_answer_for(
            session, question=question.text, scope=audience.asker_scope
        )
        if asker_curated is not None:
            cited = set(asker_curated.doc_ids)
            shared = await get_documents(session, scope=audience.scope, doc_ids=cited)
            beyond |= cited - {d.id for d in shared}
    return Grounds(history, passages, fuller, route, curated, asker_history, asker_curated, beyond)


def adds_sources(fuller: Sequence[Passage], passages: Sequence[Passage]) -> bool:
    """Whether the asker's fuller passages hold a document the conversation's do not: only
    then is a private answer composed at all (`compose.adds_to` decides whether it is sent)."""
    return bool({p.doc_id for p in fuller} - {p.doc_id for p in passages})
