"""The prompts offered to someone who opens Trellis's assistant view: questions about the
documents they may read (and, while they view a channel, everyone there may read), those
shared with their own groups (their role) first. Computed
from the index and the person's access, never written per person."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain import EVERYONE, PUBLIC, AccessScope, DocumentStatus, Person
from app.knowledge.search import get_documents
from app.services import Services

MAX_PROMPTS = 4
"""Slack shows at most four suggested prompts."""
MAX_TITLE = 75


@dataclass(frozen=True)
class SuggestedPrompt:
    title: str
    """What the button says."""
    message: str
    """What is asked when it is clicked."""


async def suggested_prompts(
    services: Services, person: Person, scope: AccessScope | None = None
) -> list[SuggestedPrompt]:
    """Up to four questions about documents this person may read: those shared with one
    of their groups ahead of those shared with everyone, newest first. `scope`: who the
    answers are for, when not the person alone (the members of a channel they are
    viewing): only documents all of them may read are suggested."""
    prompts: list[SuggestedPrompt] = []
    seen = await get_documents(services.database, scope=scope or AccessScope.for_person(person))
    usable = [d for d in seen if d.status == DocumentStatus.CURRENT.value]
    own = person.principals - {EVERYONE, PUBLIC}
    usable.sort(
        key=lambda d: (
            not (own & set(d.access)),
            -(d.updated.toordinal() if d.updated else 0),
            d.title,
        )
    )
    for document in usable:
        if len(prompts) >= MAX_PROMPTS:
            break
        prompts.append(
            SuggestedPrompt(
                title=_clip(f"Summarise {document.title}"),
                message=f"What are the main points of {document.title}?",
            )
        )
    return prompts


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"
