"""Who may flag answers, told to someone who may not.

A flag emoji on a Trellis answer from someone outside `flags.flaggers` (trellis.yml) is not
a flag (app/trust/feedback.py). So that it is not silently ignored, they are told once per
answer who can flag answers, and what to do instead.
"""

from __future__ import annotations

from app.db.repositories.records import AnswerRepository
from app.services import Services
from app.text.phrasing import who_may
from app.trust.feedback import is_flag_reaction, may_flag


async def not_a_flag(
    services: Services, *, channel_id: str, message_ts: str, reactor_slack_id: str, reaction: str
) -> str | None:
    """What to tell the person whose flag emoji on a Trellis answer is not a flag because
    they may not flag answers; None when there is nothing to tell (they may flag, the
    message is not a Trellis answer, or they were told about this answer already)."""
    if not is_flag_reaction(services, reaction):
        return None
    person = (await services.identity.identify(reactor_slack_id)).person
    if person is None or may_flag(services, person):
        return None
    async with services.database.session() as session:
        shown = await AnswerRepository(session).by_message(channel_id, message_ts)
    if shown is None:
        return None
    told = f"not-a-flag:{channel_id}:{message_ts}:{reactor_slack_id}"
    if not await services.claims.claim([told]):
        return None
    config = services.workspace.config
    flaggers = who_may(config.flags.flaggers, services.workspace.directory.name_of)
    return (
        f"Your :{reaction.split('::', 1)[0]}: does not flag this answer: only {flaggers} "
        "can flag Trellis answers. If it is wrong, tell one of them, and they can flag it."
    )
