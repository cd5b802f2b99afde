"""`/trellis about`: the eight operating questions, answered for this workspace and this
reader from live state.

    Who can access this?              the directory, the identity check, recent refusals
    What data can it see?             the documents this reader may see, the audience rule
    Can it take action or only draft? each workflow's mode and the systems it writes to
    What needs approval?              each workflow's tiers in words, answer review
    What gets logged?                 the audit record, the chain's head, its last check
    What happens when it is wrong?    the no-answer threshold, flags, time to correction
    Who supports it?                  admins, document owners by topic, the channels
    How do we know it is improving?   eval pass rate per version, weekly answer and flag rates

Every answer is built from the facts of `app/trust/about_facts.py` and names the files and
settings it came from (`sources`), so an operator knows what to change. The text is plain;
`handlers/views/about.py` lays it out for Slack, `app/trust/about_report.py` as HTML and
JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain import Person
from app.services import Services
from app.trust import WEEKS
from app.trust.about_facts import Facts, gather
from app.trust.about_weeks import Week

QUESTIONS = (
    ("access", "Who can access this?"),
    ("data", "What data can it see?"),
    ("actions", "Can it take action or only draft?"),
    ("approval", "What needs approval?"),
    ("logging", "What gets logged?"),
    ("mistakes", "What happens when it is wrong?"),
    ("support", "Who supports it?"),
    ("improving", "How do we know whether it is improving?"),
)
RECENT_WEEKS = 4
RECENT_VERSIONS = 5
AUDIT_FIELDS = (
    "who asked (Slack id, email, name, groups)",
    "where (channel, how many read it, how many were outside the directory)",
    "when",
    "the question",
    "the access scope the answer was limited to",
    "the documents retrieved and cited",
    "status and confidence",
    "backend and model",
    "tokens",
    "latency per stage",
    "the configuration version",
)


@dataclass(frozen=True)
class Answer:
    key: str
    question: str
    summary: str
    points: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class About:
    facts: Facts
    answers: tuple[Answer, ...]

    def answer(self, key: str) -> Answer:
        return next(a for a in self.answers if a.key == key)


async def about_for(
    services: Services, person: Person | None, *, now: datetime | None = None, weeks: int = WEEKS
) -> About:
    """The eight answers for `person` (None: the operator, who sees every document)."""
    facts = await gather(services, person, now=now, weeks=weeks)
    return About(facts, answers(facts))


async def verify_and_record(services: Services) -> None:
    """Check the whole audit chain and record the result in it (`audit.verified`)."""
    report = await services.audit.verify()
    await services.audit.record(
        kind="audit.verified",
        payload={
            "ok": report.ok,
            "records": report.records,
            "head_seq": report.head_seq,
            "head_hash": report.head_hash,
            "problems": report.problems[:20],
        },
    )


def answers(facts: Facts) -> tuple[Answer, ...]:
    words = {
        "access": access,
        "data": data,
        "actions": actions,
        "approval": approval,
        "logging": logged,
        "mistakes": mistakes,
        "support": support,
        "improving": improving,
    }
    return tuple(Answer(key, question, *words[key](facts)) for key, question in QUESTIONS)


Words = tuple[str, tuple[str, ...], tuple[str, ...]]


def _plural(count: int, word: str) -> str:
    if word == "person":
        return f"{count} {'person' if count == 1 else 'people'}"
    return f"{count} {word}{'' if count == 1 else 's'}"


def _percent(share: float | None) -> str:
    return "no questions" if share is None else f"{share:.0%}"


def _principals(pairs: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    return ", ".join(f"{p} ({', '.join(names) or 'nobody yet'})" for p, names in pairs) or "none"


def access(f: Facts) -> Words:
    m = f.measures
    refusals = ", ".join(f"{why}: {n}" for why, n in m.refusals_by_reason.items())
    points = [
        f"A Slack user is matched to a person in {f.directory_file} by their Slack profile "
        "email (a `slack_id` there takes precedence).",
        "Refused: guest accounts, external (Slack Connect) users, deactivated accounts, bots "
        f"and anyone not in {f.directory_file}. They are told to ask "
        f"{f.support or 'the Trellis admins'}, and the refusal is audited.",
        f"Refusals in the last 7 days: {m.refusals}" + (f" ({refusals})." if refusals else "."),
    ]
    if not f.reader.operator:
        groups = ", ".join(f.reader.groups) or "no group"
        points.append(f"You are {f.reader.name} ({f.reader.email}), in {groups}.")
    summary = (
        f"The {_plural(f.people, 'person')} in the directory of {f.workspace} "
        f"({_plural(f.groups, 'group')}), each recognised by their Slack account; nobody else."
    )
    return summary, tuple(points), (f.directory_file, "trellis.yml support")


def data(f: Facts) -> Words:
    d = f.documents
    you = "the whole workspace holds" if f.reader.operator else "you may see"
    summary = (
        f"Only documents whose access rules admit every reader of the answer: "
        f"{you} {_plural(d.documents, 'document')}."
    )
    points = []
    if d.by_folder:
        points.append("By folder: " + ", ".join(f"{k} {n}" for k, n in d.by_folder) + ".")
    if d.by_owner:
        points.append("By owner: " + ", ".join(f"{k} {n}" for k, n in d.by_owner) + ".")
    whose = "" if f.reader.operator else " of yours"
    points += [
        "In a channel I answer only from what every member may see. "
        f"{d.restricted}{whose} {'is' if d.restricted == 1 else 'are'} limited to particular "
        "groups or people, so they are left out where anyone outside them reads; the asker "
        "then gets the fuller answer privately.",
        "Guests and external members limit a channel to documents marked `public` "
        f"({d.public}{whose}). Search applies these rules before anything reaches the model.",
        f"Older versions: {d.replaced}{whose} replaced by a newer document (`supersedes`) "
        f"{'is' if d.replaced == 1 else 'are'} not cited; {d.deprecated} marked deprecated. "
        "Drafts (`status: draft`) are never used.",
    ]
    if d.visible_to_nobody is not None:
        points.append(
            f"Visible to nobody (no access rule anywhere, or one naming nobody in the directory): "
            f"{d.visible_to_nobody}. A document without a rule is hidden by default."
        )
    sources = ("front matter access, owner, status, supersedes", *d.rule_files)
    return summary, tuple(points), sources


def actions(f: Facts) -> Words:
    if not f.workflows:
        return (
            "Only answers: no workflows are set up, so Trellis writes nowhere but Slack.",
            (),
            ("rules.yml workflows",),
        )
    acting = [w for w in f.workflows if w.mode != "draft_only"]
    summary = (
        f"{_plural(len(f.workflows), 'workflow')}: {len(acting)} can act on other systems "
        f"({sum(1 for w in acting if w.mode == 'act')} without approval), "
        f"{len(f.workflows) - len(acting)} only draft. Answers are only posted in Slack."
    )
    points = []
    for w in f.workflows:
        you = "" if w.may_start is None else (" You may start it." if w.may_start else "")
        writes = (
            ("Writes to: " + "; ".join(w.systems) + ".")
            if w.systems and w.mode != "draft_only"
            else "Writes to no other system."
        )
        points.append(
            f"{w.title} (`/trellis {w.slug}`, started by {', '.join(w.started_by)}): "
            f"{w.mode_words}. {writes}{you}"
        )
    return summary, tuple(points), ("rules.yml workflows (mode, actions)", "rules.yml connectors")


def approval(f: Facts) -> Words:
    points = []
    for w in f.workflows:
        tiers = "; ".join(f"{t.when}: {t.approvers}" for t in w.tiers)
        later = f" Then {w.deadlines}." if w.deadlines else ""
        points.append(f"{w.title}: {tiers}.{later}")
    if f.review_when:
        points.append(
            f"Answers are held for review by {f.reviewers or 'nobody named'} when {f.review_when}."
        )
    else:
        points.append("Answers are never held for review (no answers.review_when).")
    points.append(
        "Nobody approves their own request; when only the requester could, their manager "
        "does. An approval holds for the exact text approved: an edit needs approving again."
    )
    held = "some answers" if f.review_when else "no answers"
    summary = (
        f"Workflow requests, as each workflow's approval tiers in rules.yml say, and {held}; "
        "an action only runs once its approval is given."
    )
    return summary, tuple(points), ("rules.yml workflows.*.approval", "rules.yml answers")


def logged(f: Facts) -> Words:
    c = f.chain
    head = (
        f"Chain head: record {c.head_seq}, hash {c.head_hash[:12]}…{c.head_hash[-4:]}"
        + (f", written {c.head_at:%Y-%m-%d %H:%M} UTC." if c.head_at else ".")
        if c.head_seq
        else "The chain is empty: nothing has happened yet."
    )
    if c.verified_at is None:
        verified = (
            "Not verified yet: `trellis about` and the weekly digest check the chain and record it."
        )
    else:
        outcome = "intact" if c.verified_ok else "BROKEN (see `trellis audit verify`)"
        verified = (
            f"Last verified {c.verified_at:%Y-%m-%d %H:%M} UTC: {outcome} over "
            f"{_plural(c.verified_records or 0, 'record')}."
        )
    points = (
        "Each question's record: " + "; ".join(AUDIT_FIELDS) + ".",
        "Refusals, approvals, edits, decisions, downstream actions, flags, corrections, "
        "reloads and rollbacks are recorded the same way.",
        head,
        verified,
        "Retention: Trellis never edits or deletes a record; they are kept as long as the "
        "database is kept (there is no retention setting).",
        "Redaction: application logs drop tokens, keys and passwords and replace email "
        "addresses with a hash; the audit trail keeps who asked in full, as the record of "
        "who did what.",
    )
    summary = (
        f"Everything Trellis does, in a hash-chained audit trail ({_plural(c.records, 'record')}): "
        "editing, removing or reordering a record breaks the chain."
    )
    return summary, points, ("audit_events table (TRELLIS_DATABASE_URL)", "trellis audit verify")


def mistakes(f: Facts) -> Words:
    m = f.measures
    this_week = m.weeks[-1] if m.weeks else None
    emoji = " or ".join(f":{r}:" for r in f.flag_reactions) or "no reaction (none set)"
    you = (
        ""
        if f.may_flag is None
        else (" You may flag." if f.may_flag else " You may not flag; tell someone who may.")
    )
    median = (
        f"{m.median_correction_hours:g} hours"
        if m.median_correction_hours is not None
        else "none corrected yet"
    )
    points = (
        f"The threshold is answers.min_confidence = {f.min_confidence:g}: below it, or without "
        "a source that supports it, the answer is “I don't know”.",
        "Questions nobody could answer go to the owners of the nearest documents, or to "
        f"{f.owners_channel or f.support or 'the admins'}.",
        f"To flag a wrong answer, react with {emoji}; {', '.join(f.flaggers) or 'nobody'} may "
        f"flag.{you}",
        "The owners of the cited documents accept a correction, dismiss the flag or update "
        "the source; an accepted correction answers that question from then on and joins "
        "the eval set.",
        f"Open flags: {m.open_flags}. Median time from flag to correction over the last "
        f"{len(m.weeks)} weeks: {median} ({m.corrected} corrected).",
        "No-answer rate this week: "
        + _percent(this_week.no_answer_rate if this_week else None)
        + ".",
    )
    summary = (
        f"No answer beats a wrong one: below a confidence of {f.min_confidence:g} Trellis says "
        "it does not know and tells the owners; anyone allowed can flag an answer."
    )
    return (
        summary,
        points,
        ("trellis.yml answers.min_confidence", "trellis.yml flags", "trellis.yml owners_channel"),
    )


def support(f: Facts) -> Words:
    owners = "; ".join(f"{topic}: {', '.join(o)}" for topic, o in f.documents.topic_owners)
    points = [
        f"Admins: {_principals(f.admins)}. They see the dashboard on Trellis's Home tab, "
        "decide flags, and reload or roll back the configuration.",
        f"Help: {f.support or 'no support channel set'}. Owners' channel: "
        f"{f.owners_channel or 'not set'} (flags, unanswered questions, failed actions, "
        "the weekly digest).",
    ]
    if owners:
        points.append(f"Document owners by topic: {owners}.")
    summary = (
        f"Ask in {f.support or 'the admins'}; the admins run Trellis and each document's owner "
        "keeps it right."
    )
    return (
        summary,
        tuple(points),
        ("trellis.yml admins, support, owners_channel", "front matter owner"),
    )


def improving(f: Facts) -> Words:
    m = f.measures
    scored = [v for v in m.versions if v.pass_rate is not None]
    live = next((v for v in reversed(m.versions) if v.status == "live"), None)
    points = []
    if scored:
        points.append(
            "Eval pass rate by configuration version: "
            + "; ".join(
                f"{v.version} ({v.status}) {v.pass_rate:.0%} of {v.cases}"
                for v in scored[-RECENT_VERSIONS:]
                if v.pass_rate is not None
            )
            + "."
        )
    else:
        points.append("No eval run recorded yet: `trellis eval` runs the golden set.")
    status_min, recall_min = f.eval_minimums
    points.append(
        f"A new version goes live only when its eval set reaches status accuracy {status_min:.0%} "
        f"and source recall {recall_min:.0%}, leaks nothing, and scores no worse than the live one."
    )
    points += [_week_line(w) for w in m.weeks[-RECENT_WEEKS:]]
    this_week = m.weeks[-1] if m.weeks else None
    live_rate = (
        f"the live version {live.version} passes {live.pass_rate:.0%} of its eval cases"
        if live and live.pass_rate is not None
        else "the live version has no eval run recorded"
    )
    rate = this_week.answer_rate if this_week else None
    answered = (
        "no questions were asked this week"
        if rate is None
        else f"{rate:.0%} of this week's questions were answered"
    )
    summary = f"Measured, not assumed: {live_rate}; {answered}."
    return (
        summary,
        tuple(points),
        ("evals/*.yml", "trellis.yml evals", "config_versions table", "audit trail"),
    )


def _week_line(w: Week) -> str:
    if not w.questions:
        return f"{w.label}: no questions."
    flags = _plural(w.flags, "flag")
    if w.flags and w.flag_rate is not None:
        flags += f" ({w.flag_rate:.0%} of answers)"
    return (
        f"{w.label}: {_plural(w.questions, 'question')}, {_percent(w.answer_rate)} answered, "
        f"{_percent(w.no_answer_rate)} no answer, {flags}, "
        f"{w.helpful} helpful / {w.not_helpful} not helpful."
    )
