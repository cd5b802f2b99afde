"""Block Kit for flags: the flagger's prompt, the owners' notice, and the two modals."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from app.domain import FlagStatus
from app.text.phrasing import listed
from app.trust.feedback import MISSING_SOURCE, FlagCase
from handlers.views.blocks import Block, View, button, clip, context, escape, link, plain, section

EXPLAIN = "trellis_flag_explain"
ACCEPT, DISMISS, UPDATE_SOURCE = (
    "trellis_flag_accept",
    "trellis_flag_dismiss",
    "trellis_flag_update_source",
)
EXPLAIN_LABEL = "Say what's wrong"
NOTE_VIEW, CORRECTION_VIEW = "trellis_flag_note", "trellis_correction"

Names = Callable[[str], str]
"""An owner as a reader should see them: a person's name for their email (the directory's
`name_of`); a group or a channel as written."""


def owners_named(case: FlagCase, names: Names = str, *, nobody: str = "the owners") -> str:
    """The flagged documents' owners, by name: "Omar Haddad and support-leads"."""
    return listed([names(o) for o in case.owners]) or nobody


def flagger_prompt(case: FlagCase, names: Names = str) -> tuple[str, list[Block]]:
    """`names`: an owner's name for their email (the directory's)."""
    people = [names(o) for o in case.owners if not o.startswith("#")]
    channels = [o for o in case.owners if o.startswith("#")]
    if people:
        told = f"{listed(people)} {'has' if len(people) == 1 else 'have'} been told"
    elif channels:
        told = f"the owners have been told in {listed(channels)}"
    else:
        told = "the Trellis owners have been told"
    text = (
        f"Thanks, your flag is recorded and {told}. To tell them what is wrong, click "
        f"“{EXPLAIN_LABEL}” below: what you write is shown to them with your flag."
    )
    return text, [
        section(f":triangular_flag_on_post: {escape(text)}"),
        {
            "type": "actions",
            "block_id": "trellis_flag",
            "elements": [button(EXPLAIN_LABEL, EXPLAIN, case.id, "primary")],
        },
    ]


def _sources(case: FlagCase) -> str:
    if not case.citations:
        return "_none_"
    return "\n".join(
        f"[{i}] {link(c.get('url'), c.get('title') or c['doc_id'])} (`{escape(c['doc_id'])}`)"
        for i, c in enumerate(case.citations, start=1)
    )


def _outcome(case: FlagCase, names: Names) -> str:
    who = escape(case.decided_by or "an owner")
    if case.status == FlagStatus.ACCEPTED:
        return f":white_check_mark: *Correction accepted by {who}.* Trellis now gives the corrected answer to this question."
    if case.status == FlagStatus.DISMISSED:
        return f":heavy_minus_sign: *Dismissed by {who}.* The answer stands."
    if case.status == FlagStatus.SOURCE_UPDATE and not case.owners:
        return (
            f":memo: *{who} asked for the source to be updated.* {escape(no_owner(case))} yet; "
            "the answer will change once the document does."
        )
    if case.status == FlagStatus.SOURCE_UPDATE:
        return (
            f":memo: *{who} asked {escape(owners_named(case, names))} to update "
            "the source.* The answer will change once the document does."
        )
    if case.status == FlagStatus.WITHDRAWN:
        return f":leftwards_arrow_with_hook: *{escape(case.flagger_name)} withdrew this flag.*"
    return ""


def owner_notice(case: FlagCase, names: Names = str) -> tuple[str, list[Block]]:
    """The flag in full, as its owners see it; once decided, the outcome instead of the
    buttons. `names`: an owner's name for their email."""
    where = f"<#{case.channel_id}>" if case.channel_id[:1] in "CG" else "a direct message"
    text = escape(f"{case.flagger_name} flagged a Trellis answer: {clip(case.question, 150)}")
    blocks = [
        section(
            f":triangular_flag_on_post: *{escape(case.flagger_name)} flagged an answer* in {where}"
        ),
        section(f"*Question:* {escape(clip(case.question, 600))}"),
        section(f"*Answer:* {escape(clip(case.answer, 1500))}"),
        section(f"*Sources:*\n{_sources(case)}"),
    ]
    if case.correction:
        note = f"*What's wrong, says {escape(case.flagger_name)}:* {escape(clip(case.correction, 1500))}"
        if case.wrong_source:
            note += (
                f"\n*Source wrong or missing:* {escape(case.source_title(case.wrong_source) or '')}"
            )
        blocks.append(section(note))
    elif case.status == FlagStatus.OPEN:
        blocks.append(
            context(
                f"{escape(case.flagger_name)} hasn't said what is wrong yet; "
                "this message will show it when they do."
            )
        )
    if case.status == FlagStatus.OPEN:
        blocks.append(
            {
                "type": "actions",
                "block_id": "trellis_flag_decision",
                "elements": [
                    button("Accept correction", ACCEPT, case.id, "primary"),
                    button("Update source", UPDATE_SOURCE, case.id),
                    button("Dismiss", DISMISS, case.id, "danger"),
                ],
            }
        )
    else:
        blocks.append(section(_outcome(case, names)))
    return text, blocks


def source_update_notice(
    case: FlagCase, *, asked_by: str, names: Names = str
) -> tuple[str, list[Block]]:
    """The owner notice, headed by who asks the source's owners to update it; a document
    nobody owns is named, with how to give it an owner."""
    text, blocks = owner_notice(case, names)
    fix = (
        "please correct the document in knowledge/. A running Trellis re-indexes it by "
        "itself within seconds of the save (or when `trellis ingest` runs), then answers "
        "from the new text."
    )
    if case.owners:
        head = f":memo: *{escape(asked_by)} asks you to update the source* of this answer: {fix}"
    else:
        head = (
            f":memo: *{escape(asked_by)} asks for the source of this answer to be updated.* "
            f"{escape(no_owner(case))}, so this comes here: {fix} Add `owner:` (a group or an "
            "email) to its front matter too, so that the next flag reaches its owner."
        )
    return f"Please update the source: {text}", [section(head), *blocks[1:]]


def flagged_titles(case: FlagCase) -> str:
    """The flagged documents by title: "Refund policy and Price list"."""
    return listed([case.source_title(d) or d for d in case.doc_ids]) or "The cited document"


def no_owner(case: FlagCase) -> str:
    """ "Refund policy has no owner", for a flag whose documents nobody owns."""
    return f"{flagged_titles(case)} {'has' if len(case.doc_ids) <= 1 else 'have'} no owner"


def source_update_pointer(case: FlagCase, admins: tuple[str, ...], names: Names = str) -> str:
    """The source update as a channel that may not see the documents is told of it: only
    when none of their owners and no admin who may read them could be told
    (app/trust/owners.py), so no title, and what would let someone act on it."""
    whose = "you own" if case.owners else "with no owner"
    who = listed([names(a) for a in admins], "or")
    admin = f"a Trellis admin ({who})" if who else "a Trellis admin"
    return (
        f"A document {whose} needs an update after a flag, and nobody who may read it could "
        f"be told: give it an owner on Slack, or let {admin} read it."
    )


def source_update_asked(
    case: FlagCase,
    *,
    asked_by: str,
    names: Names = str,
    admins_told: tuple[str, ...] = (),
    channel_told: bool = False,
) -> str:
    """What the flagger is told when an owner asks for the source to be updated. When the
    documents have no owner: whoever decided (an admin) is asked to name one, and the
    flagger hears who else was told: the owners channel, the admins by name, or nobody."""
    if case.owners:
        return (
            f"{asked_by} asked the document's owners ({owners_named(case, names)}) "
            "to update the source."
        )
    admins = [names(a) for a in admins_told]
    if channel_told:
        told = "the owners channel was told"
    elif admins:
        told = f"{listed(admins)} ({'a Trellis admin' if len(admins) == 1 else 'the Trellis admins'}) {'was' if len(admins) == 1 else 'were'} told"
    else:
        told = "nobody else has been told yet"
    return (
        f"{asked_by} asked for the source to be updated. The document has no owner yet, "
        f"so {asked_by} was asked to name one, and {told}."
    )


def no_owner_for_decider(case: FlagCase) -> str:
    """What the person who asked for an update hears when nobody owns the documents."""
    return (
        f"{no_owner(case)}, so no owner was asked to update it. Add `owner:` (a group or an "
        "email) to its front matter in knowledge/, so that flags on it reach its owner; "
        "until then, update it yourself or ask its author."
    )


def pointer_notice(case: FlagCase, names: Names = str) -> str:
    """The flag as a channel that may not see its documents is told of it: only when none
    of their owners and no Trellis admin who may read them could be told (app/trust/owners.py),
    so it says so, and what would let someone review it."""
    state = "is open" if case.status == FlagStatus.OPEN else f"is {case.status.replace('_', ' ')}"
    return (
        "A flag on a Trellis answer citing documents owned by "
        f"{owners_named(case, names, nobody='nobody')} {state}. Nobody who may read those "
        "documents could be told, and not everyone here may: give them an owner on Slack, or "
        "let a Trellis admin read them, so that someone can review the flag."
    )


def _text_input(action_id: str, initial: str | None) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": True,
        "max_length": 2800,
    }
    if initial:
        element["initial_value"] = clip(initial, 2800)
    return element


OPTION_VALUE = 150
"""Slack's limit for a menu option's value, in characters."""
LONG_ID = "sha256:"
"""The start of an option value standing for a document id too long for Slack's limit."""


def source_value(doc_id: str) -> str:
    """A cited document's id as a menu option's value: the id itself, or, for an id longer
    than Slack takes (a deep path), a value standing for it that `source_id` reads back."""
    if len(doc_id) <= OPTION_VALUE and not doc_id.startswith(LONG_ID):
        return doc_id
    return LONG_ID + hashlib.sha256(doc_id.encode()).hexdigest()


def source_id(value: str, case: FlagCase) -> str:
    """The document id an option's `value` stands for, among the documents `case` cites."""
    for citation in case.citations:
        if source_value(citation["doc_id"]) == value:
            return str(citation["doc_id"])
    return value


def _options(case: FlagCase) -> list[Block]:
    """One option per cited document (an answer may quote one document several times)."""
    titles: dict[str, str] = {}
    for citation in case.citations:
        titles.setdefault(citation["doc_id"], citation.get("title") or citation["doc_id"])
    return [{"text": plain(title), "value": source_value(doc)} for doc, title in titles.items()]


def note_modal(case: FlagCase) -> View:
    options = [*_options(case), {"text": plain("A source is missing"), "value": MISSING_SOURCE}]
    return {
        "type": "modal",
        "callback_id": NOTE_VIEW,
        "private_metadata": case.id,
        "title": plain("What's wrong?", 24),
        "submit": plain("Send to owners", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(
                f"*Question:* {escape(clip(case.question, 500))}\n"
                f"*Answer:* {escape(clip(case.answer, 800))}"
            ),
            {
                "type": "input",
                "block_id": "correction",
                "label": plain("The correct answer", 2000),
                "element": _text_input("text", case.correction),
            },
            {
                "type": "input",
                "block_id": "source",
                "optional": True,
                "label": plain("Which source is wrong or missing?", 2000),
                "element": {
                    "type": "static_select",
                    "action_id": "doc",
                    "options": options,
                    "placeholder": plain("Choose a source"),
                },
            },
        ],
    }


def correction_modal(case: FlagCase) -> View:
    blocks = [
        section(
            f"*Question:* {escape(clip(case.question, 500))}\n"
            f"*Trellis answered:* {escape(clip(case.answer, 800))}"
        )
    ]
    if case.correction:
        blocks.append(
            context(f"{escape(case.flagger_name)} says: {escape(clip(case.correction, 1500))}")
        )
    blocks.append(
        {
            "type": "input",
            "block_id": "answer",
            "label": plain("The corrected answer Trellis will give", 2000),
            "element": _text_input("text", case.correction or case.answer),
        }
    )
    options = _options(case)
    if options:
        wrong = source_value(case.wrong_source) if case.wrong_source else None
        keep = [o for o in options if o["value"] != wrong]
        element = {
            "type": "multi_static_select",
            "action_id": "docs",
            "options": options,
            "placeholder": plain("Choose sources"),
        }
        if keep:
            element["initial_options"] = keep
        blocks.append(
            {
                "type": "input",
                "block_id": "sources",
                "optional": True,
                "label": plain("Sources the corrected answer rests on", 2000),
                "element": element,
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": "extra",
            "optional": True,
            "label": plain("Other source document ids (comma-separated)", 2000),
            "element": {
                "type": "plain_text_input",
                "action_id": "ids",
                "placeholder": plain("e.g. support-return-policy", 150),
            },
        }
    )
    blocks.append(
        context(
            "Trellis will give this answer to the same or a closely matching "
            "question, only to people who may see every source chosen here, and "
            "adds it to the workspace's eval set."
        )
    )
    return {
        "type": "modal",
        "callback_id": CORRECTION_VIEW,
        "private_metadata": case.id,
        "title": plain("Accept correction", 24),
        "submit": plain("Accept", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }
