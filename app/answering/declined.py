"""What a reply says when the documents its readers may see do not answer the question:
who owns the topic, where else to ask, and what becomes of the question."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from app.answering.base import describe_source
from app.domain import ModelAnswer, Passage

if TYPE_CHECKING:
    from app.config.workspace import TrellisConfig

DONT_FORWARD_LABEL = "Don't forward my question"

Names = Callable[[str], str]
"""A principal as a reader should see it: a person's name for their email."""


NEAREST_PROBABILITY = 0.1
"""A reply that does not answer names the page the reading would have quoted (`nearest_page`)
when the gate gave that reading at least this probability. On the bench's 513 cases
(bench/RESULTS.md, "The closest page"), 94 of the 113 answerable questions the gate
declines get a page named, 69 of them the page that holds the answer; on the demo, the
questions merely near its documents (parking, a dog, a salary band) score at most 0.04
and get none."""


def nearest_page(reading: ModelAnswer | None, passages: Sequence[Passage]) -> str | None:
    """The page (title and section) the gate's reading would have quoted first, to name
    in a reply that does not answer: only from `passages`, which its readers may see."""
    if reading is None or not reading.citations:
        return None
    cited = reading.citations[0]
    passage = next((p for p in passages if p.chunk_id == cited.chunk_id), None)
    return describe_source(passage) if passage is not None else None


def closest_page(page: str) -> str:
    """What a reply that does not answer says of the page that came closest (`Reply.nearest`):
    where to look, and that it is no answer. Shown under the reply to its readers only, never
    part of its text, which other surfaces (a flag's notice, the owners' notice) show to
    people who may not read that page."""
    return f"The closest page I found is “{page}”, but I couldn't confirm that it answers your question."


def asker_only_viewing(channel: str) -> str:
    return (
        f"The answer to this rests on documents not everyone in {channel} may read, so it "
        f"is for you alone: keep it out of {channel}."
    )


class PassedOn(StrEnum):
    """What a no-answer reply says of passing the question on to the topic's owners."""

    TO_OWNERS = "to-owners"
    """In a few minutes, unless the asker presses the button (app/trust/owners.py)."""
    NOT_FROM_THE_COMMAND_LINE = "not-from-the-command-line"
    """`trellis ask`: nothing is passed on; the reply says to ask in Slack for that."""
    NOTHING_UNANSWERED = "nothing-unanswered"
    """The asker was answered privately (`for_asker_only`): nothing went unanswered."""
    ASKER_OWNS = "asker-owns"
    """The asker is the topic's only owner: there is nobody else to pass it on to."""


def no_answer_text(
    owners: tuple[str, ...],
    config: TrellisConfig,
    *,
    names: Names = str,
    outsiders: bool = False,
    passed_on: PassedOn = PassedOn.TO_OWNERS,
    here: str = "",
) -> str:
    """The reply to a question nobody could answer: who owns the topic, and what becomes
    of the question (`passed_on`). An owner that is a channel ("#help", the support
    contact) is where to ask, not someone it is passed to. `names` turns an owner's email
    into their name. `outsiders`: people outside the company (guests, external members)
    read the reply, so no internal channel is named. `here`: the channel asked in, not
    suggested as a place to ask."""
    named = owners or (config.admins_hint,)
    people = [names(o) for o in named if not o.startswith("#")]
    channels = [
        o for o in named if o.startswith("#") and not outsiders and o[1:] != here.lstrip("#")
    ]
    who = " ".join(
        ([f"The people who own this topic are: {', '.join(people)}."] if people else [])
        + ([f"You can also ask in {', '.join(channels)}."] if channels else [])
    )
    # Nobody named: the notice goes to the owners channel, else to the admins (owners.plan).
    them = (
        "them"
        if people
        else "the document owners"
        if outsiders
        else f"the document owners in {config.owners_channel}"
        if config.owners_channel
        else "the Trellis admins"
    )
    opening = (
        "I couldn't find a well-supported answer in the documents available here, "
        "and I'd rather say so than guess."
    )
    if passed_on == PassedOn.NOTHING_UNANSWERED:
        return f"{opening} {who}"
    if passed_on == PassedOn.ASKER_OWNS:
        return (
            f"{opening} You own this topic's documents, so the question is not passed on: "
            "adding its answer to them would let me answer it next time."
        )
    if passed_on == PassedOn.NOT_FROM_THE_COMMAND_LINE:
        return (
            f"{opening} {who} A question asked from the command line is not passed on; "
            "ask it in Slack for that."
        )
    if config.answers.owner_notice == "redacted":
        promise = (
            f"In a few minutes I'll let {them} know that a question on their topic went "
            "unanswered, without your words, so they can add the missing document."
        )
    else:
        promise = (
            f"In a few minutes I'll pass your question on to {them} as you wrote it, so they "
            "can help or add the missing document."
        )
    return f"{opening} {who} {promise} If you'd rather I didn't, press “{DONT_FORWARD_LABEL}”."
