"""How much one person, and one Slack workspace, may ask of Trellis.

Trellis answers a few questions at once (`TRELLIS_QUESTION_CONCURRENCY`), in turns across
the people asking. Without limits, one person sending hundreds of questions a minute would
still be answered every one, filling the reviewers' channel with cards, and one enormous
question would hold a worker for as long as it takes to read it. So a question is declined,
politely, with what limit it met and when to try again, when:

- it is longer than Slack lets a message be (`SLACK_MESSAGE_LIMIT` characters, the length
  past which Slack truncates a posted message): no such question comes from a person
  typing in Slack, and the check is only its length, before any work on its text;
- its asker has asked `TRELLIS_QUESTIONS_PER_MINUTE` questions in the last minute;
- their Slack workspace has asked `TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE` in the last
  minute;
- its answer would be held for review and its asker has had `TRELLIS_HELD_CARDS_PER_HOUR`
  answers held in the last hour. Their other questions are still answered at once; only
  one that would send another card to the reviewers is declined, and the reviewers still
  have the earlier ones. A fuller private answer that would be held is left out instead,
  and the public answer is shown.

Only questions that are answered count towards the per-minute limits, so a person who
keeps asking is answered again as soon as their oldest counted question is a minute old.
The per-minute counts are kept in this process (with several replicas, each counts its
own share); the held answers are counted in the database, so that limit holds across
restarts and replicas. 0 turns a limit off.

Each declined question is counted (`trellis_questions_declined{limit}`) and logged
without its text.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import structlog

from app.db.base import aware
from app.db.repositories.approvals import DraftRepository
from app.db.session import Database
from app.domain import Person
from app.trust.metrics import Metrics

log = structlog.get_logger(__name__)

SLACK_MESSAGE_LIMIT = 40_000
"""Slack truncates a message longer than this many characters (chat.postMessage)."""
MINUTE = 60.0
HOUR = timedelta(hours=1)


class Limit(StrEnum):
    LENGTH = "length"
    PERSON = "person_per_minute"
    WORKSPACE = "workspace_per_minute"
    HELD = "held_per_hour"


@dataclass(frozen=True)
class Refusal:
    """A question declined: which limit it met, and what its asker is told."""

    limit: Limit
    message: str
    retry_after_s: float | None = None


class Quotas:
    def __init__(
        self,
        *,
        questions_per_minute: int,
        workspace_questions_per_minute: int,
        held_cards_per_hour: int,
        database: Database,
        metrics: Metrics,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.questions_per_minute = questions_per_minute
        self.workspace_questions_per_minute = workspace_questions_per_minute
        self.held_cards_per_hour = held_cards_per_hour
        self.database = database
        self.metrics = metrics
        self.clock = clock
        self.monotonic = monotonic
        self._people: dict[str, deque[float]] = {}
        self._workspaces: dict[str, deque[float]] = {}
        self._swept = 0.0

    def refusal(self, *, team_id: str, slack_user_id: str, text: str) -> Refusal | None:
        """Why this question is declined, or None, when it is then counted as asked.
        Looks only at the text's length, never at its content."""
        if len(text) > SLACK_MESSAGE_LIMIT:
            return self._declined(
                Limit.LENGTH,
                f"Your question is {len(text):,} characters long, more than Slack lets a "
                f"message be ({SLACK_MESSAGE_LIMIT:,}), so I haven't read it. Could you ask "
                "it in a shorter message?",
                team_id=team_id,
                slack_user_id=slack_user_id,
                length=len(text),
            )
        now = self.monotonic()
        if now - self._swept >= MINUTE:  # forget people with nothing in the last minute
            self._swept = now
            for windows in (self._people, self._workspaces):
                for key in [k for k, t in windows.items() if not t or t[-1] <= now - MINUTE]:
                    del windows[key]
        person = _recent(self._people, f"{team_id}:{slack_user_id}", now)
        if 0 < self.questions_per_minute <= len(person):
            wait = person[0] + MINUTE - now
            return self._declined(
                Limit.PERSON,
                f"You've asked me {len(person)} questions in the last minute, as many as I "
                f"answer for one person, so I haven't looked into this one. Please ask it "
                f"again {_in(wait)}.",
                team_id=team_id,
                slack_user_id=slack_user_id,
                length=len(text),
                retry_after_s=wait,
            )
        workspace = _recent(self._workspaces, team_id, now)
        if 0 < self.workspace_questions_per_minute <= len(workspace):
            wait = workspace[0] + MINUTE - now
            return self._declined(
                Limit.WORKSPACE,
                "Everyone here has asked me as many questions in the last minute as I answer "
                f"for the whole workspace, so I haven't looked into this one. Please ask it "
                f"again {_in(wait)}.",
                team_id=team_id,
                slack_user_id=slack_user_id,
                length=len(text),
                retry_after_s=wait,
            )
        person.append(now)
        workspace.append(now)
        return None

    async def held_refusal(self, *, person: Person, slack_user_id: str | None) -> Refusal | None:
        """Why another answer for `person` may not be held for review now, or None."""
        if self.held_cards_per_hour <= 0:
            return None
        now = self.clock()
        async with self.database.reading() as session:
            held, earliest = await DraftRepository(session).answers_held_since(
                person.email, since=now - HOUR
            )
        if held < self.held_cards_per_hour:
            return None
        wait = (aware(earliest) + HOUR - now).total_seconds() if earliest else HOUR.total_seconds()
        return self._declined(
            Limit.HELD,
            f"This answer would need a reviewer's check, and {held} of your answers have "
            "gone to the reviewers in the last hour, as many as I send for one person, so "
            "I haven't sent this one. They still have the earlier ones; please ask this "
            f"again {_in(wait)}.",
            team_id="",
            slack_user_id=slack_user_id or "",
            length=None,
            retry_after_s=wait,
        )

    def _declined(
        self,
        limit: Limit,
        message: str,
        *,
        team_id: str,
        slack_user_id: str,
        length: int | None,
        retry_after_s: float | None = None,
    ) -> Refusal:
        self.metrics.observe_declined(limit=limit.value)
        log.info(
            "question_declined",
            limit=limit.value,
            team=team_id or None,
            user=slack_user_id or None,
            length=length,
            retry_after_s=round(retry_after_s, 1) if retry_after_s is not None else None,
        )
        return Refusal(limit, message, retry_after_s)


def _recent(windows: dict[str, deque[float]], key: str, now: float) -> deque[float]:
    """The times of `key`'s questions in the minute before `now`, older ones dropped."""
    times = windows.setdefault(key, deque())
    while times and times[0] <= now - MINUTE:
        times.popleft()
    return times


def _in(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 90:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"in {minutes} minutes"
