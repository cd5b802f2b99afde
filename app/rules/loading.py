"""Reading rules.yml: the schema's checks, then those that span several keys.

Every expression is compiled when the workspace loads, and tried once on sample values so
that an unknown variable or field, a comparison between mismatched types, or a value that
is not true or false (`input.reason`), is a load error at its line rather than a surprise
later. Every mistake is found in one pass: a workflow, an approval tier, an input or a
condition that is wrong hides nothing in the others. The last approval tier has no `when`,
so every request is covered by some tier.

The principals and prompts rules.yml names are read from the file itself
(`named_principals`, `named_prompts`), each on its own, so that they are checked against
the directory and prompts/ even when something else in the file is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from app.config.yamlfile import Loc, YamlDocument, load_yaml, validate
from app.domain import Person
from app.errors import ConditionError, InvalidValue, WorkspaceError
from app.rules.conditions import NOT_BOOLEAN, Condition
from app.rules.facts import channel_facts, requester_facts
from app.rules.inputs import coerce
from app.rules.schema import (
    MANAGER,
    AnswerReview,
    ApprovalTier,
    InputField,
    RulesConfig,
    Workflow,
    parse_duration,
    parse_principal,
)

M = TypeVar("M", bound=BaseModel)

SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


def load_rules(path: Path, *, display_name: str = "rules.yml") -> RulesConfig:
    """Parse and check rules.yml; every mistake is a WorkspaceError at its line."""
    return parse_rules(load_yaml(path, display_name=display_name))


def parse_rules(doc: YamlDocument) -> RulesConfig:
    """rules.yml checked; every mistake found in one pass, as one WorkspaceError (the
    first, the others in its `also`)."""
    rules, problems = read_rules(doc)
    if problems:
        raise _together(problems)
    assert rules is not None  # no problems: the file fits the schema
    return rules


def read_rules(doc: YamlDocument) -> tuple[RulesConfig | None, list[WorkspaceError]]:
    """The rules when they fit the schema (even with mistakes that span keys, so that what
    they name can still be checked), and every mistake."""
    if doc.data is None or doc.data == {}:
        return RulesConfig(), []
    if not isinstance(doc.data, dict):
        return None, [doc.error((), "expected keys workflows, answers and connectors")]
    try:
        rules = validate(doc, RulesConfig)
    except WorkspaceError as exc:
        # Each workflow, each of its tiers and inputs, and the answer review are checked
        # further on their own: one that is wrong hides nothing in the others.
        problems = [exc, *exc.also]
        workflows = doc.data.get("workflows")
        for slug in workflows if isinstance(workflows, dict) else ():
            problems += _workflow_parts_problems(doc, str(slug))
        if (review := _valid(doc, AnswerReview, ("answers",))) is not None:
            problems += _review_problems(doc, review)
        return None, sorted(problems, key=lambda e: e.line or 0)
    return rules, _problems(doc, rules)


def readable_rules(doc: YamlDocument) -> RulesConfig | None:
    """What of rules.yml fits the schema when the whole does not: the workflows that do
    and the answer review if it does, for the checks of `trellis check` that look at each
    workflow alone. None when the connectors do not fit (the workflows' actions could not
    be checked against them) or the file is no mapping."""
    if not isinstance(doc.data, dict):
        return None
    try:
        connectors = RulesConfig.model_validate({"connectors": doc.data.get("connectors") or {}})
    except ValidationError:
        return None
    workflows = doc.data.get("workflows")
    readable = {
        str(slug): wf
        for slug in (workflows if isinstance(workflows, dict) else ())
        if (wf := _valid(doc, Workflow, ("workflows", slug))) is not None
    }
    answers = _valid(doc, AnswerReview, ("answers",)) if "answers" in doc.data else None
    return RulesConfig(
        workflows=readable, answers=answers or AnswerReview(), connectors=connectors.connectors
    )


def named_principals(doc: YamlDocument) -> Iterator[tuple[Loc, str]]:
    """Every principal written in rules.yml that is a valid group name or email (those
    that are not are schema mistakes), with where it is; `manager` left out."""
    data = doc.data if isinstance(doc.data, dict) else {}
    places: list[tuple[Loc, Any]] = []
    workflows = data.get("workflows")
    for slug, wf in workflows.items() if isinstance(workflows, dict) else ():
        if not isinstance(wf, dict):
            continue
        at: Loc = ("workflows", slug)
        places.append(((*at, "started_by"), wf.get("started_by")))
        tiers = wf.get("approval")
        for t, tier in enumerate(tiers if isinstance(tiers, list) else ()):
            if isinstance(tier, dict):
                places.append(((*at, "approval", t, "approvers"), tier.get("approvers")))
        places.append(((*at, "escalate_to"), wf.get("escalate_to")))
    answers = data.get("answers")
    if isinstance(answers, dict):
        places.append((("answers", "reviewers"), answers.get("reviewers")))
    for loc, value in places:
        named = enumerate(value) if isinstance(value, list) else [(None, value)]
        for i, item in named:
            try:
                principal = parse_principal(item)
            except (ValueError, PydanticCustomError):
                continue
            if principal != MANAGER:
                yield ((*loc, i) if i is not None else loc), principal


def named_prompts(doc: YamlDocument) -> Iterator[tuple[Loc, str]]:
    """Every prompt a workflow's `draft` names, with where it is."""
    workflows = doc.data.get("workflows") if isinstance(doc.data, dict) else None
    for slug, wf in workflows.items() if isinstance(workflows, dict) else ():
        draft = wf.get("draft") if isinstance(wf, dict) else None
        prompt = draft.get("prompt") if isinstance(draft, dict) else None
        if isinstance(prompt, str):
            yield ("workflows", slug, "draft", "prompt"), prompt


def _together(problems: list[WorkspaceError]) -> WorkspaceError:
    first, *rest = problems
    return WorkspaceError(first.file, first.problem, line=first.line, also=tuple(rest))


def _valid(doc: YamlDocument, model: type[M], at: Loc) -> M | None:
    """The part of `doc` at `at` as `model`, or None when it is missing or wrong (its
    mistakes are among those of the whole file)."""
    try:
        doc.part(at)
        return validate(doc, model, loc=at)
    except (KeyError, IndexError, TypeError, WorkspaceError):
        return None


def _problems(doc: YamlDocument, rules: RulesConfig) -> list[WorkspaceError]:
    found = [p for slug, wf in rules.workflows.items() for p in _workflow_problems(doc, slug, wf)]
    return found + _review_problems(doc, rules.answers)


def _review_problems(doc: YamlDocument, review: AnswerReview) -> list[WorkspaceError]:
    found: list[WorkspaceError] = []
    if review.review_when is not None:
        found += _try(
            doc,
            ("answers", "review_when"),
            "answers.review_when",
            review.review_when,
            _sample(None),
        )
        if not review.reviewers:
            found.append(
                doc.error(
                    ("answers", "review_when"),
                    "answers.reviewers: name who reviews the answers that need review",
                )
            )
    return found


def _workflow_problems(doc: YamlDocument, slug: str, wf: Workflow) -> list[WorkspaceError]:
    at: Loc = ("workflows", slug)
    found = _slug_problems(doc, slug)
    for name, spec in wf.inputs.items():
        found += _field_problems(doc, (*at, "inputs", name), name, spec)
    if wf.approval and wf.approval[-1].when is not None:
        found.append(_last_tier_problem(doc, slug, len(wf.approval) - 1))
    sample = _sample(wf.inputs)
    for t, tier in enumerate(wf.approval):
        found += _tier_problems(doc, slug, t, tier, sample)
    timing = {key: getattr(wf, key) for key in ("remind_after", "escalate_after", "expire_after")}
    return found + _timing_problems(doc, slug, timing)


def _workflow_parts_problems(doc: YamlDocument, slug: str) -> list[WorkspaceError]:
    """What `_workflow_problems` finds in a workflow that does not fit the schema, in the
    parts that do: each input, each approval tier and its condition, the durations."""
    at: Loc = ("workflows", slug)
    if (wf := _valid(doc, Workflow, at)) is not None:
        return _workflow_problems(doc, slug, wf)
    raw = doc.part(at)
    if not isinstance(raw, dict):
        return []
    found = _slug_problems(doc, slug)
    raw_inputs = raw.get("inputs") or {}
    inputs: dict[str, InputField] = {}
    for name in raw_inputs if isinstance(raw_inputs, dict) else ():
        spec = _valid(doc, InputField, (*at, "inputs", name))
        if spec is not None:
            inputs[str(name)] = spec
            found += _field_problems(doc, (*at, "inputs", name), str(name), spec)
    # A condition is tried only on inputs that are all known: one naming a broken input
    # would be said to name an unknown field.
    tried = isinstance(raw_inputs, dict) and len(inputs) == len(raw_inputs)
    tiers = raw.get("approval")
    if isinstance(tiers, list) and tiers:
        if isinstance(tiers[-1], dict) and tiers[-1].get("when") is not None:
            found.append(_last_tier_problem(doc, slug, len(tiers) - 1))
        for t in range(len(tiers)):
            tier = _valid(doc, ApprovalTier, (*at, "approval", t))
            if tier is not None and tried:
                found += _tier_problems(doc, slug, t, tier, _sample(inputs))
    timing: dict[str, timedelta | None] = {}
    for key in ("remind_after", "escalate_after", "expire_after"):
        try:
            timing[key] = parse_duration(raw[key]) if raw.get(key) is not None else None
        except (ValueError, PydanticCustomError):
            timing[key] = None
    return found + _timing_problems(doc, slug, timing)


def _slug_problems(doc: YamlDocument, slug: str) -> list[WorkspaceError]:
    if SLUG_RE.match(slug):
        return []
    return [
        doc.error(
            ("workflows", slug),
            f"workflow name {slug!r} must be lower-case letters, digits, "
            "'-' and '_', starting with a letter (it is typed in /trellis)",
        )
    ]


def _last_tier_problem(doc: YamlDocument, slug: str, last: int) -> WorkspaceError:
    return doc.error(
        ("workflows", slug, "approval", last, "when"),
        f"workflows.{slug}.approval: the last tier must have no `when`, so "
        "every request is covered; add `- approvers: []` to approve the "
        "rest automatically",
    )


def _tier_problems(
    doc: YamlDocument, slug: str, t: int, tier: ApprovalTier, sample: dict[str, Any]
) -> list[WorkspaceError]:
    if tier.when is None:
        return []
    return _try(
        doc,
        ("workflows", slug, "approval", t, "when"),
        f"workflows.{slug}.approval.{t}.when",
        tier.when,
        sample,
    )


def _timing_problems(
    doc: YamlDocument, slug: str, timing: dict[str, timedelta | None]
) -> list[WorkspaceError]:
    expire_after = timing.get("expire_after")
    if expire_after is None:
        return []
    found: list[WorkspaceError] = []
    for key in ("remind_after", "escalate_after"):
        value = timing.get(key)
        if value is not None and value >= expire_after:
            found.append(
                doc.error(
                    ("workflows", slug, key),
                    f"workflows.{slug}.{key}: must be shorter than "
                    "expire_after, or it never happens",
                )
            )
    return found


MOST_CHOICES = 100
"""The most choices a field may have: the workflow form shows them in one Slack menu, which
holds at most 100 options."""
CHOICE_CHARACTERS = 150
"""The most characters of a choice: Slack's limit for a menu option's value (its label is
cut to Slack's 75 characters, with an ellipsis)."""


def _choice_problems(
    doc: YamlDocument, at: Loc, where: str, choices: list[str]
) -> list[WorkspaceError]:
    found: list[WorkspaceError] = []
    if len(choices) > MOST_CHOICES:
        found.append(
            doc.error(
                (*at, "choices"),
                f"{where}.choices: {len(choices)} choices, but the workflow form's menu holds "
                f"at most {MOST_CHOICES}",
            )
        )
    for index, choice in enumerate(choices):
        if not choice.strip():
            found.append(doc.error((*at, "choices", index), f"{where}.choices.{index}: is empty"))
        elif len(choice) > CHOICE_CHARACTERS:
            found.append(
                doc.error(
                    (*at, "choices", index),
                    f"{where}.choices.{index}: {len(choice)} characters, but a choice in the "
                    f"workflow form's menu takes at most {CHOICE_CHARACTERS}",
                )
            )
    return found


def _field_problems(
    doc: YamlDocument, at: Loc, name: str, spec: InputField
) -> list[WorkspaceError]:
    where = ".".join(str(p) for p in at)
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        return [
            doc.error(
                at,
                f"{where}: field names are letters, digits and '_' so that "
                "conditions can say input.<name>",
            )
        ]
    found: list[WorkspaceError] = []
    if spec.type == "choice" and not spec.choices:
        found.append(doc.error(at, f"{where}: a choice field needs `choices`"))
    found += _choice_problems(doc, at, where, spec.choices or [])
    if spec.type != "choice" and spec.choices:
        found.append(
            doc.error((*at, "choices"), f"{where}.choices: only a choice field has choices")
        )
    if spec.type in ("boolean", "email", "choice"):
        for key in ("min", "max"):
            if getattr(spec, key) is not None:
                found.append(
                    doc.error((*at, key), f"{where}.{key}: a {spec.type} field has no {key}")
                )
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        found.append(doc.error((*at, "min"), f"{where}.min: is larger than max"))
    if spec.default is not None:
        try:
            coerce(spec, spec.default)
        except InvalidValue as exc:
            found.append(doc.error((*at, "default"), f"{where}.default: {exc}"))
    return found


def _try(
    doc: YamlDocument, at: Loc, where: str, condition: Condition, sample: dict[str, Any]
) -> list[WorkspaceError]:
    """The condition tried on well-typed sample values: a name or field that does not
    exist, values of different types compared, or a result that is not true or false."""
    try:
        condition.holds(sample)
    except ConditionError as exc:
        text = str(exc)
        if text.startswith(("unknown", "compares", NOT_BOOLEAN)):
            return [doc.error(at, f"{where}: {text}")]
    return []


def _sample(fields: Mapping[str, InputField] | None) -> dict[str, Any]:
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
    for name, spec in (fields or {}).items():
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
