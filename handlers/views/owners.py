"""What the document owners are shown: questions nobody could answer, documents that
disagree, dead letters, flags, the weekly digest, version changes and knowledge files
that could not be read.

`notice` lays out a notice in full; `pointer` is the short line a channel gets when its
members may not see the documents the notice is about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.knowledge.report import could_not_read, read_again
from app.notifications import (
    AuditAnchor,
    DeadLetter,
    DocumentsDisagree,
    FlagRaised,
    KnowledgeUnreadable,
    SourceUpdateAsked,
    UnansweredQuestions,
    VersionChanged,
)
from app.text.phrasing import listed
from app.trust.digest import Digest
from app.trust.versions import refusal_text
from handlers.views import cards, digest, flags
from handlers.views.blocks import Block, context, escape, section

if TYPE_CHECKING:
    from app.notifications import OwnersNotice

BATCH_LINES = 10


def notice(shown: OwnersNotice, names: flags.Names = str) -> tuple[str, list[Block]]:
    """(fallback text, blocks) of an owners' notice, in full. `names`: an owner's name for
    their email (the directory's), for the notices that carry owners as principals."""
    match shown:
        case UnansweredQuestions() | DocumentsDisagree():
            return _batch(shown)
        case DeadLetter():
            return _dead_letter(shown)
        case FlagRaised():
            return flags.owner_notice(shown.case, names)
        case SourceUpdateAsked():
            return flags.source_update_notice(shown.case, asked_by=shown.asked_by, names=names)
        case Digest():
            return digest.digest_text(shown.board), digest.digest_blocks(shown.board)
        case VersionChanged():
            text = _version_text(shown)
            return text, [section(escape(text))]
        case KnowledgeUnreadable():
            text = _unreadable_text(shown)
            return text, [section(escape(text))]
        case AuditAnchor():
            return shown.text, [
                section(f"Audit anchor `{shown.seq}:{shown.hash}`"),
                context(
                    "The head of the audit trail. `trellis audit verify` checks the trail "
                    "against the latest of these messages; please leave them in place."
                ),
            ]
    raise TypeError(f"not an owners' notice: {shown!r}")


def pointer(shown: OwnersNotice, names: flags.Names = str) -> str:
    """Plain text, without anything a reader of the documents alone may see."""
    match shown:
        case DocumentsDisagree():
            return (
                f"Two current documents owned by {', '.join(shown.owners)} disagree. Their owners "
                "could not be reached here; please ask them to reconcile the documents."
            )
        case UnansweredQuestions():
            return _unanswered_text(shown.count)
        case DeadLetter():
            return f"An approved action failed: {shown.summary[:200]}"
        case FlagRaised():
            return flags.pointer_notice(shown.case, names)
        case SourceUpdateAsked():
            return flags.source_update_pointer(shown.case, shown.admins, names)
    return notice(shown, names)[0]


def _unanswered_text(count: int) -> str:
    return f"{count} question{'s' if count != 1 else ''} Trellis could not answer."


def _batch(shown: UnansweredQuestions | DocumentsDisagree) -> tuple[str, list[Block]]:
    questions = shown.questions
    lines = [f"• {escape(q[:300])}" for q in questions[:BATCH_LINES]]
    if len(questions) > BATCH_LINES:
        lines.append(f"…and {len(questions) - BATCH_LINES} more.")
    if isinstance(shown, DocumentsDisagree):
        names = " and ".join(
            f"*{escape(title)}* (`{escape(id_)}`)" for id_, title in shown.documents
        )
        head = (
            f":twisted_rightwards_arrows: *Documents disagree.* {names} are both current but "
            + ("give different answers to:" if questions else "give different answers.")
        )
        tail = (
            "Trellis shows both and says they conflict until one is corrected, marked "
            "`status: deprecated`, or `supersedes` the other."
        )
        text = "Two current documents disagree; please reconcile them."
        if not questions:
            return text, [section(head), context(tail)]
    else:
        count = shown.count
        # A channel owner is the workspace's fallback: no document's owner was found.
        people = [o for o in shown.owners if not o.startswith("#")]
        source = (
            f" from the documents owned by {escape(listed(people))}"
            if people
            else ", and no document's owner covers the topic"
        )
        head = (
            f":grey_question: *{count} question{'s' if count != 1 else ''} Trellis could not "
            f"answer*{source}" + (":" if questions else ".")
        )
        tail = (
            "If the answer belongs in your documents, add it; the next question will find it. "
            "These are from the last few minutes; more will come in one message, not one each."
        )
        text = _unanswered_text(count)
        if not questions:
            withheld = (
                "Their words are not shared here (trellis.yml `answers.owner_notice: redacted`). "
                "Check that your documents cover what people ask about this topic."
            )
            return text, [section(head), context(withheld), context(tail)]
    return text, [section(head), section("\n".join(lines) or "•"), context(tail)]


def _dead_letter(shown: DeadLetter) -> tuple[str, list[Block]]:
    lines = [
        ":rotating_light: *An approved action failed and was not carried out.*",
        escape(shown.summary[:1500]),
        f"*Error:* {escape(shown.error[:800])}",
    ]
    if shown.requester:
        lines.append(f"*Requested by:* {escape(shown.requester)}")
    if shown.reference:
        lines.append(f"*Reference:* `{escape(shown.reference[:100])}`")
    blocks = [
        section("\n".join(lines)),
        context(
            "Nothing more will be tried automatically. Fix the cause, then retry, or tell "
            "the requester what happens instead."
        ),
    ]
    if shown.retry_draft:
        blocks.append(
            {
                "type": "actions",
                "block_id": "trellis_dead_letter",
                "elements": [cards.retry_button(shown.retry_draft)],
            }
        )
    return escape(f"An approved action failed: {shown.summary[:200]}"), blocks


def _version_text(shown: VersionChanged) -> str:
    verdict = shown.verdict
    if verdict.outcome == "live":
        return (
            f":white_check_mark: Trellis now answers with version `{verdict.version}` "
            f"({verdict.reason})."
        )
    return refusal_text(verdict, live_version=shown.previous)


def _unreadable_text(shown: KnowledgeUnreadable) -> str:
    parts = []
    if shown.problems:
        problems = "\n".join(f"\u2022 {problem}" for problem in shown.problems)
        parts.append(f":warning: {could_not_read(len(shown.problems))}\n{problems}")
    if shown.fixed:
        files = "\n".join(f"\u2022 {name}" for name in shown.fixed)
        parts.append(f":white_check_mark: {read_again(len(shown.fixed))}\n{files}")
    return "\n\n".join(parts)
