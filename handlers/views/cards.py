"""Block Kit for drafts: the approval card, its modals, and the messages around it.

The card shows who asks, what is asked, the draft, its sources, the rule that required
approval, what approving will do, and the buttons; once decided it shows the outcome, who
decided and each action's result, updated in place. Every piece of text from people,
documents or the model goes through `escape`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.answering.citations import marks_sources, told_apart
from app.approvals.drafts import ActionView, DraftState, DraftView
from app.domain import ActionState
from handlers.views.answers import edited_out
from handlers.views.blocks import (
    MESSAGE_TEXT,
    TEXT_INPUT_LIMIT,
    Block,
    View,
    button,
    clip,
    clip_mrkdwn,
    context,
    escape,
    header,
    link,
    pieces,
    section,
    text_in,
)

APPROVE, EDIT, REJECT, RETRY = "trellis_approve", "trellis_edit", "trellis_reject", "trellis_retry"
EDIT_VIEW, REJECT_VIEW = "trellis_edit_draft", "trellis_reject_draft"
DECISION_BLOCK = "trellis_decision"
TEXT_BLOCK, TEXT_INPUT = "draft_text", "text"
REASON_BLOCK = "reason"
EDIT_AND_APPROVE = "Edit and approve"
EDIT_FIRST_HINT = (
    " No document supports this draft: write the text to send, save it, then approve it on "
    "the card."
)
MARKER_HINT = " A source stays listed only while the text keeps its [n] marker."

STATE_LINES = {
    DraftState.APPROVED: ":white_check_mark: *Approved* by {who}{when}. Carrying it out…",
    DraftState.EXECUTING: ":white_check_mark: *Approved* by {who}{when}. Carrying it out…",
    DraftState.DONE: ":white_check_mark: *Approved* by {who}{when}. Done.",
    DraftState.FAILED: ":rotating_light: *Approved* by {who}{when}, but an action failed. "
    "The Trellis owners were told and can retry it.",
    DraftState.REJECTED: ":no_entry: *Rejected* by {who}{when}.",
    DraftState.EXPIRED: ":hourglass: *Expired*: nobody decided in time. Nothing was done.",
}


def when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    fallback = f"{moment:%Y-%m-%d %H:%M} UTC"
    return f" on <!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def person_ref(slack_id: str | None, name: str) -> str:
    return f"<@{slack_id}>" if slack_id else escape(name)


GOES_ON = "_…the text goes on; it is too long for one card. Reject it and ask for a shorter draft._"


def text_sections(
    heading: str, text: str, *, most: int | None = 10, chars: int | None = None
) -> list[Block]:
    """The text as quoted sections (one section holds at most 3000 characters), so
    approvers read every word of what they approve; where it takes more than `most`
    sections or `chars` characters (what one Slack message leaves it), the last says it
    goes on. None: the whole text, however long."""
    shown = pieces(f"{heading}\n{quoted(text)}" if heading else quoted(text), carry=">")
    fits = (most is None or len(shown) <= most) and (chars is None or sum(map(len, shown)) <= chars)
    if not fits:
        left = (chars if chars is not None else sum(map(len, shown))) - len(GOES_ON)
        kept: list[str] = []
        for piece in shown[: (most or len(shown)) - 1]:
            if len(piece) > left:
                break
            kept.append(piece)
            left -= len(piece)
        shown = [*kept, GOES_ON]
    return [section(s) for s in shown]


def quoted(text: str) -> str:
    return "\n".join(f">{line}" if line else ">" for line in escape(text).split("\n"))


def mode_line(draft: DraftView) -> str:
    if draft.kind == "answer":
        where = draft.inputs.get("channel") or "the conversation"
        return (
            f"When approved, the answer is posted in {escape(str(where))}, in the asker's thread."
        )
    if draft.mode == "draft_only":
        return "When approved, the text goes back to the requester, who sends it themselves."
    doing = [escape(a.get("description", a.get("connector", ""))) for a in draft.actions]
    if not doing:
        return "When approved, nothing else happens: the requester is told."
    verb = "Trellis will" if draft.mode == "act_after_approval" else "Trellis"
    return f"When approved, {verb} " + "; then ".join(doing) + "."


def approvals_line(draft: DraftView) -> str | None:
    needs = draft.needs()
    given = draft.current_approvals()
    if needs.auto:
        return None
    names = ", ".join(f"{escape(a.name)} :heavy_check_mark:" for a in given) or "nobody yet"
    missing = draft.missing_principals()
    waiting = f" · waiting for {escape(', '.join(missing))}" if missing and draft.waiting else ""
    return f"*Approvals:* {names}{waiting}"


def action_line(action: ActionView) -> str:
    what = escape(action.description)
    if action.state == ActionState.DONE:
        result = escape(action.summary or action.reference or "done")
        return f":heavy_check_mark: {what}: {link(action.url, result) if action.url else result}"
    if action.state == ActionState.DEAD:
        return f":x: {what}: failed after {action.attempts} attempt(s). {escape(action.last_error or '')}"
    if action.attempts:
        note = (
            f" (attempt {action.attempts} of {action.max_attempts}: {escape(action.last_error)})"
            if action.last_error
            else ""
        )
        return f":hourglass_flowing_sand: {what}{note}"
    return f":hourglass_flowing_sand: {what}"


def card_blocks(draft: DraftView) -> list[Block]:
    requester = person_ref(draft.requester_slack_id, draft.requester_name)
    asked = "an answer to be posted" if draft.kind == "answer" else f"*{escape(draft.title)}*"
    blocks: list[Block] = [
        header(f"{draft.title}: {draft.requester_name}"),
        section(f"{requester} asks for {asked}."),
    ]
    fields = [
        {"type": "mrkdwn", "text": clip_mrkdwn(f"*{escape(_label(k))}*\n{escape(_value(v))}", 2000)}
        for k, v in draft.inputs.items()
        if k not in ("scope", "channel")
    ][:10]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    edited = (
        f" _(edited by {escape(draft.edited_by)}; the audit keeps the original)_"
        if draft.edited and draft.edited_by
        else ""
    )
    heading = "*Answer*" if draft.kind == "answer" else "*Draft*"
    tail = _under_text(draft)
    room = MESSAGE_TEXT - text_in([*blocks, *tail])
    return [*blocks, *text_sections(f"{heading}{edited}", draft.text, chars=room), *tail]


def _under_text(draft: DraftView) -> list[Block]:
    """What the card shows under the draft: sources, rule, approvals, buttons or outcome,
    and each action's progress."""
    blocks: list[Block] = []
    if draft.citations:
        names = told_apart(
            [
                (c.get("doc_id") or "", c.get("title") or c.get("doc_id") or "source")
                for c in draft.citations
            ]
        )
        lines = [
            f"[{i}] {link(c.get('url'), name)}"
            for i, (c, name) in enumerate(zip(draft.citations, names, strict=True), start=1)
        ]
        blocks.append(context("*Sources:* " + "  ".join(lines)))
    elif draft.sources_edited_out:
        blocks.append(context(f"*Sources:* none. {escape(edited_out(draft.edited_by))}"))
    elif draft.kind == "workflow":
        blocks.append(
            context(
                "*Sources:* none: no document that everyone reading this card may "
                "see supports this draft. Check it before approving."
            )
        )
    rule = f"*Rule:* {escape(draft.rule)} · rules version `{escape(draft.rule_version)}`"
    blocks.append(context(f"{rule}\n*Mode:* {mode_line(draft)}"))
    if line := approvals_line(draft):
        blocks.append(context(line))
    if draft.waiting:  # a new card is posted just before its draft becomes pending
        value = f"{draft.id}:{draft.short_hash}"
        decide = [button("Approve", APPROVE, value, "primary"), button("Edit", EDIT, value)]
        if draft.edit_first:  # its text would go out as it stands: edited first, then approved
            blocks.append(context(f":pencil2: {escape(draft.edit_first)}"))
            decide = [button(EDIT_AND_APPROVE, EDIT, value, "primary")]
        blocks.append(
            {
                "type": "actions",
                "block_id": DECISION_BLOCK,
                "elements": [*decide, button("Reject", REJECT, value, "danger")],
            }
        )
    elif draft.state in STATE_LINES:
        who = escape(draft.decided_by_name or "someone")
        blocks.append(
            section(STATE_LINES[draft.state].format(who=who, when=when(draft.decided_at)))
        )
        if draft.state == DraftState.REJECTED and draft.reason:
            blocks.append(section(f"*Reason:* {escape(draft.reason)}"))
    for action in draft.outbox:
        blocks.append(context(action_line(action)))
    return blocks


def card_text(draft: DraftView) -> str:
    return clip(f"{draft.title} from {draft.requester_name}: {draft.state.value}", 300)


def retry_button(draft_id: str) -> Block:
    return button("Retry", RETRY, draft_id, "primary")


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _value(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- Modals ----------------------------------------------------------------------------


def edit_modal(draft: DraftView) -> View:
    meta = json.dumps({"draft_id": draft.id, "hash": draft.short_hash})
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": "Edit draft"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            context(
                f"{escape(draft.title)} from {escape(draft.requester_name)}. What you save "
                "here is what will be sent; approvals given so far must be given again."
                + (MARKER_HINT if draft.citations and marks_sources(draft.text) else "")
                + (EDIT_FIRST_HINT if draft.edit_first else "")
            ),
            {
                "type": "input",
                "block_id": TEXT_BLOCK,
                "label": {"type": "plain_text", "text": "Text"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": TEXT_INPUT,
                    "multiline": True,
                    "max_length": TEXT_INPUT_LIMIT,
                    "initial_value": draft.text[:TEXT_INPUT_LIMIT],
                },
            },
        ],
    }


def reject_modal(draft: DraftView) -> View:
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": json.dumps({"draft_id": draft.id}),
        "title": {"type": "plain_text", "text": "Reject"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            context(f"{escape(draft.requester_name)} will read your reason."),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why do you reject it?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": TEXT_INPUT,
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
    }


def input_value(state: dict[str, Any], block_id: str, action_id: str = TEXT_INPUT) -> str:
    entry = (state.get("values") or {}).get(block_id, {}).get(action_id, {})
    option = entry.get("selected_option")
    return str((option or {}).get("value") if option else entry.get("value") or "")
