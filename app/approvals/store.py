"""Where drafts change: compare-and-set on the draft row, with its audit record.

`DraftStore` holds the mechanics every transition shares (app/approvals/service.py,
deadlines.py and execution.py): the allowed transitions, the compare-and-set itself
(`UPDATE … WHERE id, state, version`, checked by its row count), the audit record written
in the same transaction, and the retry of a whole transaction when another writer got
there first (`LostUpdate`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals.drafts import DraftState, DraftView, to_view
from app.db.models.approvals import Draft
from app.db.repositories.approvals import DraftRepository, OutboxRepository
from app.db.session import Database
from app.domain import Person
from app.errors import ApprovalConflict, LostUpdate
from app.trust.audit import AuditLog
from app.trust.metrics import Metrics

S = DraftState
TRANSITIONS: dict[DraftState, frozenset[DraftState]] = {
    S.DRAFTED: frozenset({S.PENDING, S.APPROVED, S.REJECTED, S.EXPIRED}),
    S.PENDING: frozenset({S.PENDING, S.APPROVED, S.REJECTED, S.EXPIRED}),
    S.APPROVED: frozenset({S.EXECUTING, S.DONE, S.FAILED}),
    S.EXECUTING: frozenset({S.DONE, S.FAILED}),
    S.FAILED: frozenset({S.EXECUTING}),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.DONE: frozenset(),
}
CAS_ATTEMPTS = 8
T = TypeVar("T")


class DraftStore:
    def __init__(
        self,
        database: Database,
        audit: AuditLog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: Metrics | None = None,
        names: Callable[[str], str] = str,
    ) -> None:
        """`names`: a person's name for their email (the live directory's `name_of`)."""
        self.database = database
        self.names = names
        self.audit = audit
        self.clock = clock
        self.metrics = metrics
        self.on_approved: list[Callable[[], None]] = []

    async def view(self, draft_id: str) -> DraftView:
        async with self.database.session() as session:
            return await self._view(session, await self._get(session, draft_id))

    async def _move(
        self,
        session: AsyncSession,
        draft: Draft,
        to: DraftState,
        kind: str,
        actor: Person | None,
        *,
        extra: dict[str, Any] | None = None,
        **values: Any,
    ) -> None:
        if not await self._cas(session, draft, to, kind, actor, extra=extra, **values):
            raise LostUpdate()

    async def _cas(
        self,
        session: AsyncSession,
        draft: Draft,
        to: DraftState,
        kind: str,
        actor: Person | None,
        *,
        extra: dict[str, Any] | None = None,
        **values: Any,
    ) -> bool:
        current = S(draft.state)
        if to not in TRANSITIONS[current]:
            raise ApprovalConflict(f"A {current} request cannot become {to}.")
        changed = await DraftRepository(session).compare_and_set(
            draft, now=self.clock(), state=to.value, **values
        )
        if changed:
            after = {**{c: getattr(draft, c) for c in ("text_hash", "card_channel")}, **values}
            await self._record(
                session,
                draft,
                kind,
                actor,
                to=to,
                extra=extra,
                draft_hash=after["text_hash"],
                channel=after["card_channel"],
            )
        return changed

    async def _record(
        self,
        session: AsyncSession,
        draft: Draft,
        kind: str,
        actor: Person | None,
        *,
        to: DraftState,
        extra: dict[str, Any] | None = None,
        draft_hash: str | None = None,
        channel: str | None = None,
    ) -> None:
        payload = {
            "draft_id": draft.id,
            "workflow": draft.workflow,
            "kind": draft.kind,
            "from": draft.state if kind != "draft.created" else None,
            "to": to.value,
            "draft_hash": draft_hash or draft.text_hash,
            "rule": draft.requirement.get("rule"),
            "tier": draft.requirement.get("tier"),
            "rule_version": draft.rule_version,
            "requester": draft.requester_email,
            **(extra or {}),
        }
        await self.audit.append(
            session,
            kind=kind,
            payload=payload,
            subject_id=draft.id,
            actor_slack_id=actor.slack_id if actor else None,
            actor_email=actor.email.lower() if actor else None,
            channel_id=channel or draft.card_channel or draft.channel_id,
        )

    async def _get(self, session: AsyncSession, draft_id: str) -> Draft:
        draft = await DraftRepository(session).get(draft_id)
        if draft is None:
            raise ApprovalConflict(
                "Trellis has no record of this request any more.", detail=f"no draft {draft_id}"
            )
        return draft

    async def _view(self, session: AsyncSession, draft: Draft) -> DraftView:
        items = await OutboxRepository(session).for_draft(draft.id)
        return to_view(draft, items)

    async def _retrying(self, operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
        for _ in range(CAS_ATTEMPTS):
            try:
                async with self.database.session() as session:
                    return await operation(session)
            except LostUpdate:
                continue
        raise ApprovalConflict("Many people changed this request at once. Please try again.")

    def _observe(self, draft: DraftView, verdict: str) -> None:
        """How long the decision took, once it is committed."""
        if self.metrics is not None and draft.created_at is not None:
            seconds = ((draft.decided_at or self.clock()) - draft.created_at).total_seconds()
            self.metrics.observe_approval(workflow=draft.workflow, verdict=verdict, seconds=seconds)

    def _wake(self) -> None:
        for callback in self.on_approved:
            callback()
