"""Business rules from rules.yml: who may start a workflow, what needs approval, by whom.

Conditions are CEL expressions over four variables:

    requester  email, name, groups (list), department, region, title, manager ("" if none)
    channel    id, name, is_shared, is_private, is_dm
    input      the workflow's fields: `number` as a CEL double (so `input.percent <= 10.0`
               holds for 5 and 5.0 alike), `integer` as an int, `boolean` as a bool, the
               rest as strings; an optional field left empty is absent (test it with `has`)
    draft      text, confidence (double), citations (list of {doc_id, title, tags}),
               tags (every tag of every cited document)

Every expression is compiled when the workspace loads, and tried once on sample values so
that an unknown variable or field, or a comparison between mismatched types, is a load
error at its line rather than a surprise later. The last approval tier has no `when`, so
every request is covered by some tier.

When a condition cannot be evaluated at run time, Trellis decides on the safe side:

- an approval tier whose `when` fails might have applied, so its approvers are required
  together with those of every later tier that might have applied (up to the first that
  certainly does), all of them (`require: all`). An error never approves anything
  automatically.
- an `answers.review_when` that fails sends the answer to review.

The requester is never one of their own approvers. When excluding them leaves a tier
unsatisfiable (`any`: nobody left at all; `all`: a listed principal with nobody left, as
when the only vp-sales asks for a discount that vp-sales must approve), the requester's
manager stands in (`escalated`). With no manager in the directory, nobody can approve the
request, and that is a RuleViolation. `manager` as an approver is the requester's manager.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import celpy
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

from app.config.directory import EMAIL_RE, GROUP_RE, Directory, invalid
from app.config.yamlfile import Loc, YamlDocument, load_yaml, validate
from app.domain import EVERYONE, PUBLIC, Passage, Person
from app.errors import RuleViolation

MANAGER = "manager"
"""In `approvers` and `escalate_to`: the requester's manager from the directory."""

SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
DURATION_RE = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
VARIABLES = ("requester", "channel", "input", "draft")
MAX_INTEGER = 2**63 - 1  # CEL ints are 64-bit


# --- CEL conditions -------------------------------------------------------------------


class ConditionError(Exception):
    """A condition could not be evaluated (missing field, wrong type, not a boolean)."""


@lru_cache(maxsize=1)
def _cel() -> celpy.Environment:
    return celpy.Environment()


@dataclass(frozen=True, eq=False)
class Condition:
    """A compiled CEL expression that yields true or false."""

    source: str
    program: celpy.Runner = field(repr=False)

    @classmethod
    def compile(cls, source: str) -> Condition:
        """Compile `source`; a syntax error is a ValueError naming the column."""
        env = _cel()
        try:
            ast = env.compile(source)
        except celpy.CELParseError as exc:
            where = f"column {exc.column}" if getattr(exc, "column", None) else "somewhere"
            if getattr(exc, "line", None) and "\n" in source.strip():
                where = f"line {exc.line} {where} of the expression"
            raise ValueError(f"invalid CEL expression: syntax error at {where}") from exc
        return cls(source=source, program=env.program(ast))

    def holds(self, activation: Mapping[str, Any]) -> bool:
        try:
            result = self.program.evaluate({k: celpy.json_to_cel(v) for k, v in activation.items()})
        except celpy.CELEvalError as exc:
            raise ConditionError(_eval_message(exc)) from exc
        except Exception as exc:  # anything else cel-python raises still decides safely
            raise ConditionError(f"could not be evaluated ({exc})") from exc
        if not isinstance(result, celpy.celtypes.BoolType):
            raise ConditionError(f"gave {result!r} instead of true or false")
        return bool(result)


def _eval_message(exc: celpy.CELEvalError) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    if text.startswith("undeclared reference to"):
        name = exc.args[2][0] if len(exc.args) > 2 and exc.args[2] else "?"
        return f"unknown name {name!r}: conditions can use {', '.join(VARIABLES)}"
    if text.startswith("no such member"):
        return f"unknown field {text.rpartition(': ')[2]}"
    if text.startswith("found no matching overload"):
        return (
            "compares or combines values of different types (write 10.0, not 10, "
            "to compare with a number)"
        )
    return text


def _condition(value: Any) -> Condition:
    if isinstance(value, Condition):
        return value
    if not isinstance(value, str) or not value.strip():
        raise invalid("expected a CEL expression in quotes")
    try:
        return Condition.compile(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


CelCondition = Annotated[
    Condition, PlainValidator(_condition), PlainSerializer(lambda c: c.source, return_type=str)
]


# --- Small value types ----------------------------------------------------------------


def parse_duration(value: Any) -> timedelta:
    """`30m`, `2h`, `2d` (also `s` and `w`) -> timedelta."""
    if isinstance(value, timedelta):
        return value
    match = DURATION_RE.match(str(value).strip()) if isinstance(value, str) else None
    if not match or int(match.group(1)) == 0:
        raise invalid("expected a duration like 30m, 2h or 2d")
    return timedelta(**{DURATION_UNITS[match.group(2)]: int(match.group(1))})


def _principal(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("expected a group name or an email")
    text = value.strip()
    if "@" in text:
        if not EMAIL_RE.match(text.lower()):
            raise invalid(f"{text!r} is not a valid email")
        return text.lower()
    if text in (EVERYONE, PUBLIC) or GROUP_RE.match(text):
        return text
    raise invalid(
        f"{text!r} is not a group name (lower-case letters, digits, '-', '_') or an email"
    )


def _approver(value: Any) -> str:
    principal = _principal(value)
    if principal == PUBLIC:
        raise invalid("'public' cannot approve: name people or groups")
    return principal


def _escalate_to(value: Any) -> str | list[str]:
    if value == MANAGER:
        return MANAGER
    if isinstance(value, str):
        return [_principal(value)]
    if isinstance(value, list) and value:
        return [_principal(v) for v in value]
    raise invalid("expected `manager` or a list of groups and emails")


Duration = Annotated[timedelta, PlainValidator(parse_duration)]
Principal = Annotated[str, PlainValidator(_principal)]
Approver = Annotated[str, PlainValidator(_approver)]
EscalateTo = Annotated[str | list[str], PlainValidator(_escalate_to)]


# --- rules.yml ------------------------------------------------------------------------

InputType = Literal["string", "text", "number", "integer", "boolean", "email", "choice"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputField(Strict):
    type: InputType = "string"
    label: str | None = None
    required: bool = True
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None
    default: Any = None

    def title(self, name: str) -> str:
        return self.label or name.replace("_", " ").capitalize()


class DraftSpec(Strict):
    prompt: str


class ApprovalTier(Strict):
    when: CelCondition | None = None
    approvers: list[Approver]
    require: Literal["any", "all"] = "any"


class ActionSpec(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    connector: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


class Workflow(Strict):
    title: str
    description: str | None = None
    started_by: list[Principal]
    mode: Literal["draft_only", "act_after_approval", "act"] = "draft_only"
    inputs: dict[str, InputField] = {}
    draft: DraftSpec | None = None
    approval: list[ApprovalTier] = []
    channel: str | None = None
    remind_after: Duration | None = None
    escalate_after: Duration | None = None
    escalate_to: EscalateTo | None = None
    expire_after: Duration | None = None
    actions: list[ActionSpec] = []


class AnswerReview(Strict):
    review_when: CelCondition | None = None
    reviewers: list[Approver] = []
    channel: str | None = None


class RulesConfig(Strict):
    workflows: dict[str, Workflow] = {}
    answers: AnswerReview = AnswerReview()
    connectors: dict[str, dict[str, Any]] = {}

    def principal_refs(self) -> Iterator[tuple[Loc, str]]:
        """Every principal named in rules.yml with where it is (`manager` left out)."""
        for slug, wf in self.workflows.items():
            for i, p in enumerate(wf.started_by):
                yield ("workflows", slug, "started_by", i), p
            for t, tier in enumerate(wf.approval):
                for i, p in enumerate(tier.approvers):
                    if p != MANAGER:
                        yield ("workflows", slug, "approval", t, "approvers", i), p
            if isinstance(wf.escalate_to, list):
                for i, p in enumerate(wf.escalate_to):
                    yield ("workflows", slug, "escalate_to", i), p
        for i, p in enumerate(self.answers.reviewers):
            yield ("answers", "reviewers", i), p

    def prompt_refs(self) -> Iterator[tuple[Loc, str]]:
        for slug, wf in self.workflows.items():
            if wf.draft is not None:
                yield ("workflows", slug, "draft", "prompt"), wf.draft.prompt


def load_rules(path: Path, *, display_name: str = "rules.yml") -> RulesConfig:
    """Parse and check rules.yml; every mistake is a WorkspaceError at its line."""
    return parse_rules(load_yaml(path, display_name=display_name))


def parse_rules(doc: YamlDocument) -> RulesConfig:
    if doc.data is None or doc.data == {}:
        return RulesConfig()
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected keys workflows, answers and connectors")
    rules = validate(doc, RulesConfig)
    _check_rules(doc, rules)
    return rules


def _check_rules(doc: YamlDocument, rules: RulesConfig) -> None:
    for slug, wf in rules.workflows.items():
        at: Loc = ("workflows", slug)
        if not SLUG_RE.match(slug):
            raise doc.error(
                at,
                f"workflow name {slug!r} must be lower-case letters, digits, "
                "'-' and '_', starting with a letter (it is typed in /trellis)",
            )
        for name, spec in wf.inputs.items():
            _check_field(doc, (*at, "inputs", name), name, spec)
        if wf.approval and wf.approval[-1].when is not None:
            raise doc.error(
                (*at, "approval", len(wf.approval) - 1, "when"),
                f"workflows.{slug}.approval: the last tier must have no `when`, so "
                "every request is covered; add `- approvers: []` to approve the "
                "rest automatically",
            )
        for t, tier in enumerate(wf.approval):
            if tier.when is not None:
                _try(
                    doc,
                    (*at, "approval", t, "when"),
                    f"workflows.{slug}.approval.{t}.when",
                    tier.when,
                    _sample(wf),
                )
        if wf.expire_after is not None:
            for key in ("remind_after", "escalate_after"):
                value = getattr(wf, key)
                if value is not None and value >= wf.expire_after:
                    raise doc.error(
                        (*at, key),
                        f"workflows.{slug}.{key}: must be shorter than "
                        "expire_after, or it never happens",
                    )
    review = rules.answers
    if review.review_when is not None:
        _try(
            doc,
            ("answers", "review_when"),
            "answers.review_when",
            review.review_when,
            _sample(None),
        )
        if not review.reviewers:
            raise doc.error(
                ("answers", "review_when"),
                "answers.reviewers: name who reviews the answers that need review",
            )


def _check_field(doc: YamlDocument, at: Loc, name: str, spec: InputField) -> None:
    where = ".".join(str(p) for p in at)
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise doc.error(
            at,
            f"{where}: field names are letters, digits and '_' so that "
            "conditions can say input.<name>",
        )
    if spec.type == "choice" and not spec.choices:
        raise doc.error(at, f"{where}: a choice field needs `choices`")
    if spec.type != "choice" and spec.choices:
        raise doc.error((*at, "choices"), f"{where}.choices: only a choice field has choices")
    if spec.type in ("boolean", "email", "choice"):
        for key in ("min", "max"):
            if getattr(spec, key) is not None:
                raise doc.error((*at, key), f"{where}.{key}: a {spec.type} field has no {key}")
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        raise doc.error((*at, "min"), f"{where}.min: is larger than max")
    if spec.default is not None:
        try:
            _coerce(spec, spec.default)
        except _Invalid as exc:
            raise doc.error((*at, "default"), f"{where}.default: {exc}") from None


def _try(
    doc: YamlDocument, at: Loc, where: str, condition: Condition, sample: dict[str, Any]
) -> None:
    try:
        condition.holds(sample)
    except ConditionError as exc:
        text = str(exc)
        if text.startswith(("unknown", "compares")):
            raise doc.error(at, f"{where}: {text}") from None


def _sample(wf: Workflow | None) -> dict[str, Any]:
    """Well-typed values for every variable, to catch typos when the workspace loads."""
    samples: dict[str, Any] = {
        "string": "x",
        "text": "x",
        "email": "a@b.example",
        "number": 1.0,
        "integer": 1,
        "boolean": True,
    }
    inputs = {}
    for name, spec in wf.inputs.items() if wf else ():
        inputs[name] = (spec.choices or ["x"])[0] if spec.type == "choice" else samples[spec.type]
    citation = {"doc_id": "x", "title": "x", "tags": ["x"]}
    return {
        "requester": requester_facts(
            Person(email="a@b.example", name="x", manager="m@b.example", groups=frozenset({"x"}))
        ),
        "channel": channel_facts(None),
        "input": inputs,
        "draft": {"text": "x", "confidence": 0.5, "citations": [citation], "tags": ["x"]},
    }


# --- What conditions see --------------------------------------------------------------


@dataclass(frozen=True)
class CitedDoc:
    doc_id: str
    title: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftFacts:
    """What conditions may know about an AI draft or answer."""

    text: str = ""
    confidence: float = 0.0
    citations: tuple[CitedDoc, ...] = ()

    @classmethod
    def from_passages(
        cls, *, text: str, confidence: float, cited: Iterable[str], passages: Iterable[Passage]
    ) -> DraftFacts:
        """Facts for an answer citing the documents `cited`, with tags from `passages`."""
        by_doc: dict[str, Passage] = {}
        for passage in passages:
            by_doc.setdefault(passage.doc_id, passage)
        docs = []
        for doc_id in dict.fromkeys(cited):
            passage = by_doc.get(doc_id)
            docs.append(
                CitedDoc(
                    doc_id, passage.title if passage else "", tuple(passage.tags) if passage else ()
                )
            )
        return cls(text=text, confidence=confidence, citations=tuple(docs))


def requester_facts(person: Person) -> dict[str, Any]:
    return {
        "email": person.email.lower(),
        "name": person.name,
        "groups": sorted(person.groups),
        "department": person.department or "",
        "region": person.region or "",
        "title": person.title or "",
        "manager": (person.manager or "").lower(),
    }


def channel_facts(channel: Any) -> dict[str, Any]:
    """Accepts a mapping or any object with id/name/is_shared/is_private/is_dm (or is_im)."""

    def get(key: str, default: Any) -> Any:
        if channel is None:
            return default
        if isinstance(channel, Mapping):
            return channel.get(key, default)
        return getattr(channel, key, default)

    return {
        "id": str(get("id", "") or ""),
        "name": str(get("name", "") or "").lstrip("#"),
        "is_shared": bool(get("is_shared", False)),
        "is_private": bool(get("is_private", False)),
        "is_dm": bool(get("is_dm", get("is_im", False))),
    }


def draft_facts(draft: Any) -> dict[str, Any]:
    """Accepts DraftFacts, a mapping of the same shape, or None (no draft yet)."""
    if draft is None:
        return {"text": "", "confidence": 0.0, "citations": [], "tags": []}
    get = draft.get if isinstance(draft, Mapping) else lambda k, d=None: getattr(draft, k, d)
    citations = []
    for c in get("citations", ()) or ():
        cget = c.get if isinstance(c, Mapping) else lambda k, d=None, c=c: getattr(c, k, d)
        citations.append(
            {
                "doc_id": str(cget("doc_id", "") or ""),
                "title": str(cget("title", "") or ""),
                "tags": [str(t) for t in cget("tags", ()) or ()],
            }
        )
    tags = sorted({t for c in citations for t in c["tags"]})
    return {
        "text": str(get("text", "") or ""),
        "confidence": float(get("confidence", 0.0) or 0.0),
        "citations": citations,
        "tags": tags,
    }


def input_facts(workflow: Workflow, values: Mapping[str, Any]) -> dict[str, Any]:
    """Input values as CEL sees them: a `number` is always a double.

    A value that does not fit its field (wrong type, out of bounds) is left out, so a
    condition on it fails and the decision falls on the safe side.
    """
    facts: dict[str, Any] = {}
    for name, value in values.items():
        spec = workflow.inputs.get(name)
        if _blank(value):
            continue
        if spec is None:
            facts[name] = value
            continue
        try:
            facts[name] = _coerce(spec, value)
        except _Invalid:
            continue
    return facts


# --- Decisions ------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRequirement:
    """Who must approve a request. No approvers means it is approved automatically.

    `approvers` are principals (group names, emails) in the order rules.yml lists them,
    with `manager` already resolved. `eligible[i]` holds the emails that may approve for
    `approvers[i]`, the requester left out. With `require="all"` one *distinct* person
    per principal must approve: someone in two listed principals counts once.
    """

    workflow: str
    approvers: tuple[str, ...] = ()
    require: Literal["any", "all"] = "any"
    eligible: tuple[frozenset[str], ...] = ()
    tier: int | None = None
    channel: str | None = None
    escalated: bool = False
    failed_safe: bool = False
    reason: str = ""

    @property
    def auto(self) -> bool:
        return not self.approvers

    def may_approve(self, email: str) -> bool:
        email = email.lower()
        return any(email in group for group in self.eligible)

    def is_satisfied(self, approvals: Iterable[str]) -> bool:
        """True when the people who approved (emails) are enough."""
        if self.auto:
            return True
        given = {e.lower() for e in approvals}
        if self.require == "any":
            return any(given & group for group in self.eligible)
        return _distinct_match([group & given for group in self.eligible])


def _distinct_match(groups: list[frozenset[str]]) -> bool:
    """Can each group be given its own person? (Bipartite matching, small inputs.)"""
    owner: dict[str, int] = {}

    def place(i: int, seen: set[str]) -> bool:
        for email in sorted(groups[i]):
            if email in seen:
                continue
            seen.add(email)
            if email not in owner or place(owner[email], seen):
                owner[email] = i
                return True
        return False

    return all(place(i, set()) for i in range(len(groups)))


class InvalidInput(RuleViolation):
    """Input a person gave does not fit the workflow; `problems` maps field -> message."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems.values()))


class _Invalid(ValueError):
    pass


class RuleBook:
    """The rules of one workspace, evaluated against its directory."""

    def __init__(self, rules: RulesConfig, directory: Directory) -> None:
        self.rules = rules
        self.directory = directory

    @property
    def workflows(self) -> Mapping[str, Workflow]:
        return self.rules.workflows

    def workflow(self, slug: str) -> Workflow:
        found = self.rules.workflows.get(slug)
        if found is None:
            known = ", ".join(sorted(self.rules.workflows)) or "none are set up"
            raise RuleViolation(f"There is no workflow called “{slug}”. Workflows: {known}.")
        return found

    def may_start(self, slug: str, person: Person) -> bool:
        wf = self.rules.workflows.get(slug)
        return wf is not None and bool(set(wf.started_by) & person.principals)

    def startable_by(self, person: Person) -> list[str]:
        return [slug for slug in self.rules.workflows if self.may_start(slug, person)]

    # Approval -------------------------------------------------------------------------

    def approval_for(
        self,
        slug: str,
        *,
        requester: Person,
        channel: Any = None,
        input: Mapping[str, Any] | None = None,
        draft: Any = None,
    ) -> ApprovalRequirement:
        wf = self.workflow(slug)
        activation = {
            "requester": requester_facts(requester),
            "channel": channel_facts(channel),
            "input": input_facts(wf, input or {}),
            "draft": draft_facts(draft),
        }
        candidates: list[int] = []
        failures: list[str] = []
        for i, tier in enumerate(wf.approval):
            if tier.when is None:
                candidates.append(i)
                break
            try:
                holds = tier.when.holds(activation)
            except ConditionError as exc:
                failures.append(f"tier {i + 1}: {exc}")
                candidates.append(i)
                continue
            if holds:
                candidates.append(i)
                break
        tiers = [i for i in candidates if wf.approval[i].approvers]
        if not tiers:
            return ApprovalRequirement(
                slug,
                tier=candidates[-1] if candidates else None,
                channel=wf.channel,
                failed_safe=bool(failures),
                reason="approved automatically",
            )
        if len(tiers) == 1:
            chosen = wf.approval[tiers[0]]
            principals, require, tier_index = chosen.approvers, chosen.require, tiers[0]
        else:
            principals = [p for i in tiers for p in wf.approval[i].approvers]
            require, tier_index = "all", None
        reason = ""
        if failures:
            reason = (
                f"a rule could not be checked ({'; '.join(failures)}), so every approval "
                "that might apply is required"
            )
        return self._resolve(
            slug,
            wf,
            requester,
            principals,
            require,
            tier_index,
            failed_safe=bool(failures),
            reason=reason,
        )

    def _resolve(
        self,
        slug: str,
        wf: Workflow | AnswerReview,
        requester: Person,
        principals: list[str],
        require: Literal["any", "all"],
        tier: int | None,
        *,
        failed_safe: bool,
        reason: str,
    ) -> ApprovalRequirement:
        me = requester.email.lower()
        boss = self.directory.manager_of(requester)
        resolved: list[str] = []
        eligible: list[frozenset[str]] = []
        for p in principals:
            if p == MANAGER and boss is not None:
                p = boss.email.lower()
            if p in resolved:
                continue
            people = self.directory.expand([p]) if p != MANAGER else set()
            resolved.append(p)
            eligible.append(frozenset(x.email.lower() for x in people) - {me})
        # A principal nobody else can act for: `any` does without it while someone is
        # left; `all` cannot, and neither can `any` with nobody left.
        escalated = (not all(eligible)) if require == "all" else (not any(eligible))
        kept = [(p, e) for p, e in zip(resolved, eligible, strict=True) if e]
        resolved, eligible = [p for p, _ in kept], [e for _, e in kept]
        if escalated:
            if boss is None:
                raise RuleViolation(
                    "Nobody but you could approve this request, and the directory names no "
                    "manager for you to approve it instead. Ask a Trellis admin to add an "
                    "approver.",
                    detail=f"{slug}: no approver other than {me}",
                )
            if boss.email.lower() not in resolved:
                resolved.append(boss.email.lower())
                eligible.append(frozenset({boss.email.lower()}))
            reason = (reason + "; " if reason else "") + (
                "nobody but the requester could approve, so their manager does"
            )
        if require == "all" and not _distinct_match(eligible):
            raise RuleViolation(
                "This request needs more distinct approvers than the directory has besides "
                "you. Ask a Trellis admin to add approvers.",
                detail=f"{slug}: cannot find distinct approvers for {resolved}",
            )
        return ApprovalRequirement(
            slug,
            approvers=tuple(resolved),
            require=require,
            eligible=tuple(eligible),
            tier=tier,
            channel=wf.channel,
            escalated=escalated,
            failed_safe=failed_safe,
            reason=reason,
        )

    # Answers --------------------------------------------------------------------------

    def review_requirement(self, *, requester: Person) -> ApprovalRequirement:
        """Who reviews an answer that `answer_needs_review` holds back (answers.reviewers)."""
        review = self.rules.answers
        return self._resolve("answers", review, requester, list(review.reviewers), "any", None,
                             failed_safe=False, reason="")

    def answer_needs_review(
        self, *, requester: Person, channel: Any = None, draft: Any = None
    ) -> bool:
        condition = self.rules.answers.review_when
        if condition is None:
            return False
        activation = {
            "requester": requester_facts(requester),
            "channel": channel_facts(channel),
            "input": {},
            "draft": draft_facts(draft),
        }
        try:
            return condition.holds(activation)
        except ConditionError:
            return True

    # Input ----------------------------------------------------------------------------

    def validate_input(self, slug: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values for every field, or InvalidInput with one message per field."""
        wf = self.workflow(slug)
        problems: dict[str, str] = {}
        for name in raw:
            if name not in wf.inputs:
                known = ", ".join(wf.inputs) or "none"
                problems[name] = f"{wf.title} has no field “{name}”. Its fields are: {known}."
        values: dict[str, Any] = {}
        for name, spec in wf.inputs.items():
            value = raw.get(name)
            if _blank(value):
                if spec.default is not None:
                    values[name] = _coerce(spec, spec.default)
                elif spec.required:
                    problems[name] = f"{spec.title(name)} is required."
                continue
            try:
                values[name] = _coerce(spec, value)
            except _Invalid as exc:
                problems[name] = f"{spec.title(name)} {exc}."
        if problems:
            raise InvalidInput(problems)
        return values


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}


def _coerce(spec: InputField, value: Any) -> Any:
    """One value converted to the field's type, or _Invalid('must be ...')."""
    kind = spec.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise _Invalid("must be yes or no")
    if kind in ("number", "integer"):
        number = _number(value, kind)
        _bounds(spec, number)
        return number
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid("must be text")
    text = str(value).strip()
    if kind == "email":
        if not EMAIL_RE.match(text.lower()):
            raise _Invalid("must be an email address like name@example.com")
        return text.lower()
    if kind == "choice":
        for choice in spec.choices or ():
            if text.lower() == choice.lower():
                return choice
        raise _Invalid("must be one of: " + ", ".join(spec.choices or ()))
    _bounds(spec, len(text), unit=" characters")
    return text


_THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")


def _number(value: Any, kind: str) -> float | int:
    if isinstance(value, bool):
        raise _Invalid("must be a number")
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        if "," in text:
            # "1,500" is a thousand and a half; "1,5" or "7,5" may be a decimal comma:
            # guessing would turn 7.5 % into 75 %.
            if not _THOUSANDS.fullmatch(text):
                raise _Invalid("must be written with a decimal point, like 7.5")
            text = text.replace(",", "")
        try:
            value = float(text)
        except ValueError:
            raise _Invalid(
                "must be a whole number" if kind == "integer" else "must be a number"
            ) from None
    if (
        not isinstance(value, int | float)
        or value != value
        or value in (float("inf"), float("-inf"))
    ):
        raise _Invalid("must be a number")
    if kind == "integer":
        if float(value) != int(value):
            raise _Invalid("must be a whole number")
        if abs(int(value)) > MAX_INTEGER:
            raise _Invalid("is too large")
        return int(value) + 0  # no negative zero
    return float(value) + 0.0


def _bounds(spec: InputField, amount: float, unit: str = "") -> None:
    if spec.min is not None and amount < spec.min:
        raise _Invalid(f"must be at least {spec.min:g}{unit}")
    if spec.max is not None and amount > spec.max:
        raise _Invalid(f"must be at most {spec.max:g}{unit}")
