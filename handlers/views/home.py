"""App Home as Slack shows it: what Trellis can do and see for the person, what waits on
them, and for admins the week's dashboard. The facts come from app/trust/home.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from app.config.workspace import TrellisConfig
from app.db.repositories.dashboard import WaitingDraft
from app.trust.about import About
from app.trust.home import Dashboard, Home, PersonalHome
from handlers.views.about import about_home_blocks
from handlers.views.blocks import (
    Block,
    View,
    clip,
    context,
    duration,
    escape,
    header,
    link,
    section,
)

MAX_ROWS = 8


def home_view(
    home: Home,
    *,
    config: TrellisConfig,
    now: datetime,
    about: About | None = None,
    links: Mapping[str, str] | None = None,
) -> View:
    """`links`: by draft id, Slack's link to the card where the person can decide on it."""
    blocks = _personal(home.personal, config=config, now=now, links=links or {})
    if about is not None:
        blocks += [{"type": "divider"}, *about_home_blocks(about)]
    if home.dashboard is not None:
        blocks += [{"type": "divider"}, *_dashboard(home.dashboard)]
    return {"type": "home", "blocks": blocks[:100]}


def _age(created: datetime, now: datetime) -> str:
    hours = int((now - created).total_seconds() // 3600)
    return f"{hours // 24}d" if hours >= 48 else f"{hours}h"


def _personal(
    mine: PersonalHome, *, config: TrellisConfig, now: datetime, links: Mapping[str, str]
) -> list[Block]:
    uses = [
        "• *Ask a question:* mention me in a channel, send me a direct message, or use "
        "`/trellis ask …`. I answer only from documents everyone in the conversation may "
        "see, and cite every source.",
        "• *Follow up* in the thread of my answer.",
    ]
    if mine.workflows:
        names = ", ".join(f"`/trellis {slug}` ({escape(title)})" for slug, title in mine.workflows)
        uses.append(f"• *Start a request:* {names}.")
    if mine.may_flag:
        emoji = " or ".join(f":{e}:" for e in mine.flag_emoji)
        uses.append(
            f"• *Flag a wrong answer:* react with {emoji}; the document's owners correct it."
        )
    uses.append("• Mark answers *Helpful* or *Not helpful* with the buttons under them.")
    blocks = [
        header(f"Trellis for {config.name or 'your company'}"),
        section(
            f"Hi {escape(mine.person.name)}. Here is what I can do for you:\n" + "\n".join(uses)
        ),
    ]

    sees = [
        f"*What I can see for you:* {mine.documents} document{'s' if mine.documents != 1 else ''}."
    ]
    if mine.by_folder:
        sees.append("By folder: " + ", ".join(f"{escape(f)} {n}" for f, n in mine.by_folder[:12]))
    if mine.by_owner:
        sees.append("By owner: " + ", ".join(f"{escape(o)} {n}" for o, n in mine.by_owner[:12]))
    blocks.append(section("\n".join(sees)))

    waiting: list[str] = []
    if mine.my_requests is not None:
        waiting.append(_drafts("Your requests waiting for a decision", mine.my_requests, now))
        waiting.append(
            _drafts("Waiting for your approval", mine.my_approvals or (), now, links=links)
        )
    if mine.flags_to_decide:
        waiting.append(f"*Flags on your documents waiting for you:* {mine.flags_to_decide}")
    if mine.flags_raised:
        waiting.append(f"*Your open flags:* {mine.flags_raised}")
    blocks.append(section("\n".join(waiting) if waiting else "*Nothing is waiting on you.*"))
    blocks.append(context(f"Help: {escape(config.support or 'ask a Trellis admin')}"))
    return blocks


def _drafts(
    title: str,
    drafts: Sequence[WaitingDraft],
    now: datetime,
    links: Mapping[str, str] | None = None,
) -> str:
    """`links`: where a draft's card is, by draft id; its title links there."""
    if not drafts:
        return f"*{title}:* none"
    links = links or {}
    lines = [
        f"• {link(links.get(d.id), clip(d.title, 120))} ({_age(d.created_at, now)})"
        for d in drafts[:MAX_ROWS]
    ]
    if len(drafts) > MAX_ROWS:
        lines.append(f"…and {len(drafts) - MAX_ROWS} more")
    return f"*{title}:*\n" + "\n".join(lines)


def _dashboard(board: Dashboard) -> list[Block]:
    answered, missing = board.rate("answered"), board.rate("no_answer")
    usage = (
        f"*Questions:* {board.questions} from {board.askers} "
        f"{'person' if board.askers == 1 else 'people'} · *answer rate* {answered:.0%} · "
        f"*no-answer rate* {missing:.0%} · refused {board.statuses.get('refused', 0)}"
        + (
            f" · awaiting review {board.statuses['needs_approval']}"
            if board.statuses.get("needs_approval")
            else ""
        )
    )
    flags = (
        f"*Open flags:* {board.flags_open} · raised this week "
        f"{sum(board.flags_this_week.values())} · corrections accepted {board.corrections} · "
        f"feedback {board.helpful} helpful / {board.not_helpful} not helpful"
    )
    if board.approvals_pending is None:
        approvals = "*Approvals:* not set up in this build"
    else:
        oldest = (
            f", oldest waiting {duration(board.oldest_pending)}" if board.oldest_pending else ""
        )
        approvals = f"*Approvals pending:* {board.approvals_pending}{oldest}"
    budget = (
        f" of ${board.budget_usd:,.2f} ({escape(board.budget_note)})"
        if board.budget_usd is not None
        else f" ({escape(board.budget_note)})"
    )
    cost = f"*Model cost this week:* ${board.cost_usd:,.2f}{budget}"
    failures = (
        "*Failures:* " + ", ".join(f"{escape(k)} {v}" for k, v in sorted(board.failures.items()))
        if board.failures
        else "*Failures:* none"
    )
    blocks = [
        header("Dashboard (admins) · last 7 days"),
        section("\n".join([usage, flags, approvals, cost, failures])),
    ]
    if board.top_unanswered:
        blocks.append(
            section(
                "*Top unanswered questions:*\n"
                + "\n".join(f"• {escape(clip(q, 200))} ({n}×)" for q, n in board.top_unanswered)
            )
        )
    if board.most_flagged:
        blocks.append(
            section(
                "*Most-flagged documents:*\n"
                + "\n".join(f"• {escape(t)} ({n})" for t, n in board.most_flagged)
            )
        )
    blocks.append(context(f"Updated {board.now:%Y-%m-%d %H:%M} UTC. Reopen this tab to refresh."))
    return blocks
