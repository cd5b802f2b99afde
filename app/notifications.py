"""Who is told what, as an interface the Slack layer implements.

The core decides *when* people must hear something and *who* they are: a card to post, a
decision, a result, a reminder, and the owners' notices (questions nobody could answer,
documents that disagree, dead letters, flags, the weekly digest, a version that went live
or was refused, knowledge files that could not be read). `handlers/notifier.py` decides
*how* it looks in Slack, with the layouts in `handlers/views/`. Without Slack (the CLI),
`QuietNotifier` only logs, and drafts wait in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeAlias

import structlog

from app.approvals.drafts import ActionView, DraftView
from app.domain import Person

if TYPE_CHECKING:
    from app.trust.digest import Digest
    from app.trust.feedback import FlagCase
    from app.trust.versions import Verdict

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Once:
    """What makes a message the same message however often it is tried: its `key`, and
    the moment before which no try of it was made (see app/slack_once.py)."""

    key: str
    since: datetime


# --- What the owners are told ------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """Where one owners' notice goes (app/trust/owners.py decides)."""

    channel: str
    """A channel id, or a person's Slack user id for a direct message."""
    mentions: tuple[str, ...] = ()
    full: bool = True
    """False: its readers may not see the documents, so only a pointer is shown."""
    person: str | None = None
    """For a direct message, the email of the person it goes to."""

    @property
    def direct(self) -> bool:
        return self.person is not None


@dataclass(frozen=True)
class UnansweredQuestions:
    questions: tuple[str, ...]
    """Their words; none when trellis.yml `answers.owner_notice` is `redacted`."""
    owners: tuple[str, ...]
    count: int
    """How many questions went unanswered (also when their words are withheld)."""


@dataclass(frozen=True)
class DocumentsDisagree:
    documents: tuple[tuple[str, str], ...]
    """(id, title) of the current documents that give different answers."""
    questions: tuple[str, ...]
    owners: tuple[str, ...]


@dataclass(frozen=True)
class DeadLetter:
    """An approved action that failed for good."""

    summary: str
    error: str
    requester: str | None = None
    """The requester's name, when the directory knows them."""
    reference: str | None = None
    retry_draft: str | None = None
    """The draft whose failed actions the owners may retry."""


@dataclass(frozen=True)
class FlagRaised:
    """A flag on an answer, in its current state."""

    case: FlagCase


@dataclass(frozen=True)
class SourceUpdateAsked:
    """An owner decided a flagged answer's source must change, and asks its owners to."""

    case: FlagCase
    asked_by: str
    admins: tuple[str, ...] = ()
    """The Trellis admins, by name, a reader who may not see the documents is sent to."""


@dataclass(frozen=True)
class VersionChanged:
    """A workspace version went live, or was refused (then `previous` keeps answering)."""

    verdict: Verdict
    previous: str


@dataclass(frozen=True)
class KnowledgeUnreadable:
    """Files of knowledge/ that could not be read (a broken front matter, a misspelt
    `_access.yml` pattern), each told once; the last good version of their documents
    keeps being served (`app/knowledge/ingest.py`)."""

    problems: tuple[str, ...]
    """`file:line: problem`, one a file."""
    fixed: tuple[str, ...] = ()
    """Files told of before that are read again now."""


@dataclass(frozen=True)
class AuditAnchor:
    """The audit chain's head, published so that Slack keeps a copy out of reach of
    whoever can write to the database."""

    seq: int
    hash: str

    @property
    def text(self) -> str:
        return f"Audit anchor {self.seq}:{self.hash}"


if TYPE_CHECKING:
    OwnersNotice: TypeAlias = (
        AuditAnchor
        | UnansweredQuestions
        | DocumentsDisagree
        | DeadLetter
        | FlagRaised
        | SourceUpdateAsked
        | VersionChanged
        | KnowledgeUnreadable
        | Digest
    )


# --- The interface -----------------------------------------------------------------------


class Notifier(Protocol):
    async def post_card(self, draft: DraftView) -> tuple[str, str] | None:
        """Post the approval card; (channel id, ts), or None when there is nowhere to post."""

    async def refresh_card(self, draft: DraftView) -> None:
        """Show the draft's current state on its card, in place."""

    async def check_card(self, draft: DraftView) -> None:
        """Forget the card of a waiting draft that is no longer where it was posted (see
        `ApprovalService.card_gone`), so that it is posted again."""

    async def decided(self, draft: DraftView) -> None:
        """Tell the requester the decision (an approved answer itself comes by the outbox)."""

    async def post_answer(self, draft: DraftView) -> str | None:
        """Post an approved held answer in the asker's thread; its ts, when it has one."""

    async def action_finished(self, draft: DraftView, action: ActionView) -> None:
        """An action is done (the result) or dead-lettered: the requester is told either way."""

    # While a draft waits: each is one message of the outbox (app/approvals/notices.py),
    # which raises when it was not delivered, so that the outbox tries it again; `once`
    # makes a message the outbox tries again show once.

    async def remind(
        self,
        draft: DraftView,
        people: Sequence[Person],
        *,
        nobody_new: bool = False,
        once: Once | None = None,
    ) -> None:
        """Remind `people`, who may still decide, that the draft waits for them.
        `nobody_new`: it was due to escalate, but everyone it escalates to may already
        approve it, so they are reminded instead."""

    async def escalation_said(
        self,
        draft: DraftView,
        people: Sequence[Person],
        *,
        withheld: Sequence[Person] = (),
        once: Once | None = None,
    ) -> None:
        """Say, where the card is, that `people` may now decide, or that those it was due
        to (`withheld`) may not read its sources and are only told where it waits."""

    async def asked_instead(
        self, draft: DraftView, unlisted: Sequence[str], *, once: Once | None = None
    ) -> None:
        """Ask the approvals channel to decide, since the managers it escalates to
        (`unlisted`) are not in the directory."""

    async def not_in_channel(self, channel: str, people: Sequence[Person]) -> list[Person]:
        """Those of `people` who are not members of `channel`."""

    async def asked_to_decide(
        self, draft: DraftView, person: Person, *, card: bool, once: Once | None = None
    ) -> tuple[str, str] | None:
        """A direct message to `person`, who may decide but is not in the card's channel:
        the card, or (`card` False: they may not read its sources) why it came to them and
        where it waits. Nothing when they are in the channel by now. Where the message is."""

    async def escalated_to(
        self, draft: DraftView, person: Person, *, card: bool, once: Once | None = None
    ) -> tuple[str, str] | None:
        """A direct message to `person`: the card to decide on, or (`card` False: they may
        not read its sources) only what kind of request waits, and where."""

    async def not_told(self, draft: DraftView, person: Person) -> None:
        """Say, where the card is, that `person` could not be sent their direct message."""

    async def tell_owners(self, delivery: Delivery, notice: OwnersNotice) -> tuple[str, str] | None:
        """Post `notice` where `delivery` says, in full or only as a pointer; (channel id,
        ts), or None when nothing was posted."""


class QuietNotifier:
    async def post_card(self, draft: DraftView) -> tuple[str, str] | None:
        log.info("draft_waiting", draft=draft.id, workflow=draft.workflow)
        return None

    async def refresh_card(self, draft: DraftView) -> None:
        return None

    async def check_card(self, draft: DraftView) -> None:
        return None

    async def decided(self, draft: DraftView) -> None:
        log.info("draft_decided", draft=draft.id, state=draft.state.value)

    async def post_answer(self, draft: DraftView) -> str | None:
        log.info("answer_not_posted", draft=draft.id)
        return None

    async def action_finished(self, draft: DraftView, action: ActionView) -> None:
        log.info("action_finished", draft=draft.id, action=action.id, state=action.state)

    async def remind(
        self,
        draft: DraftView,
        people: Sequence[Person],
        *,
        nobody_new: bool = False,
        once: Once | None = None,
    ) -> None:
        return None

    async def escalation_said(
        self,
        draft: DraftView,
        people: Sequence[Person],
        *,
        withheld: Sequence[Person] = (),
        once: Once | None = None,
    ) -> None:
        return None

    async def asked_instead(
        self, draft: DraftView, unlisted: Sequence[str], *, once: Once | None = None
    ) -> None:
        return None

    async def not_in_channel(self, channel: str, people: Sequence[Person]) -> list[Person]:
        return []

    async def asked_to_decide(
        self, draft: DraftView, person: Person, *, card: bool, once: Once | None = None
    ) -> tuple[str, str] | None:
        return None

    async def escalated_to(
        self, draft: DraftView, person: Person, *, card: bool, once: Once | None = None
    ) -> tuple[str, str] | None:
        return None

    async def not_told(self, draft: DraftView, person: Person) -> None:
        return None

    async def tell_owners(self, delivery: Delivery, notice: OwnersNotice) -> tuple[str, str] | None:
        log.info("owners_not_told", notice=type(notice).__name__)
        return None
