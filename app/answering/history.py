"""The conversation so far: earlier answers in a Slack thread a follow-up may build on."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories.records import AnswerRepository
from app.domain import AccessScope, Turn
from app.knowledge.search import get_documents


async def thread_history(
    session: AsyncSession, channel_id: str, thread_ts: str | None, scope: AccessScope
) -> list[Turn]:
    """Earlier answers in the thread that were posted for all to read (not private, not
    held for review) and rest only on documents `scope` may see."""
    if not thread_ts:
        return []
    earlier = [
        a
        for a in await AnswerRepository(session).in_thread(channel_id, thread_ts)
        if not a.private and a.message_ts
    ]
    cited = {c["doc_id"] for a in earlier for c in a.citations or ()}
    visible = {d.id for d in await get_documents(session, scope=scope, doc_ids=cited)}
    return [
        Turn(a.question, a.answer)
        for a in earlier
        if {c["doc_id"] for c in a.citations or ()} <= visible
    ][-5:]
