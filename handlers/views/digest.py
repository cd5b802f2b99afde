"""The owners' weekly digest (app/trust/digest.py), as posted in the owners channel."""

from __future__ import annotations

from app.trust.home import Dashboard
from handlers.views.blocks import Block, context, duration, escape, header, section


def digest_text(board: Dashboard) -> str:
    return (
        f"Trellis this week: {board.questions} questions, {board.rate('answered'):.0%} answered, "
        f"{board.flags_open} open flags."
    )


def digest_blocks(board: Dashboard) -> list[Block]:
    answered, missing = board.rate("answered"), board.rate("no_answer")
    lines = [
        f"*Questions:* {board.questions} from {board.askers} "
        f"{'person' if board.askers == 1 else 'people'} · answered {answered:.0%} · "
        f"no answer {missing:.0%} · refused {board.statuses.get('refused', 0)}",
        f"*Flags:* {sum(board.flags_this_week.values())} raised this week, {board.flags_open} "
        f"still open · {board.corrections} correction{'s' if board.corrections != 1 else ''} "
        f"accepted",
        f"*Feedback:* {board.helpful} helpful, {board.not_helpful} not helpful",
    ]
    if board.approvals_pending is not None:
        age = (
            f", the oldest waiting {duration(board.oldest_pending)}" if board.oldest_pending else ""
        )
        lines.append(f"*Approvals waiting:* {board.approvals_pending}{age}")
    if board.failures:
        lines.append(
            "*Failures:* "
            + ", ".join(f"{escape(k)} {v}" for k, v in sorted(board.failures.items()))
        )
    blocks = [
        header(f"Trellis this week ({board.since:%b %d} – {board.now:%b %d})"),
        section("\n".join(lines)),
    ]
    if board.top_unanswered:
        blocks.append(
            section(
                "*Questions Trellis could not answer most often:*\n"
                + "\n".join(f"• {escape(q[:200])} ({n}×)" for q, n in board.top_unanswered)
            )
        )
    if board.most_flagged:
        blocks.append(
            section(
                "*Most-flagged documents:*\n"
                + "\n".join(
                    f"• {escape(title)} ({n} flag{'s' if n != 1 else ''})"
                    for title, n in board.most_flagged
                )
            )
        )
    if board.flags_open:
        blocks.append(
            context(
                "Open flags wait for their documents' owners: use the buttons on each "
                "flag notice, or see them on Trellis's Home tab."
            )
        )
    return blocks
