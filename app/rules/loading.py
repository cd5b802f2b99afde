"""Reading rules.yml: the schema's checks, then those that span several keys.

Every expression is compiled when the workspace loads, and tried once on sample values so
that an unknown variable or field, a comparison between mismatched types, or a value that
is not true or false (`input.reason`), is a load error at its line rather than a surprise
later. Every mistake is found in one pass. The last approval tier has no `when`, so
every request is covered by some tier.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.config.yamlfile import Loc, YamlDocument, load_yaml, validate
from app.domain import Person
from app.errors import ConditionError, InvalidValue, WorkspaceError
from app.rules.conditions import NOT_BOOLEAN, Condition
from app.rules.facts import channel_facts, requester_facts
from app.rules.inputs import coerce
from app.rules.schema import InputField, RulesConfig, Workflow

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
        # The workflows that are right on their own are checked further all the same.
        problems = [exc, *exc.also]
        workflows = doc.data.get("workflows")
        for slug in workflows if isinstance(workflows, dict) else ():
            try:
                wf = validate(doc, Workflow, loc=("workflows", slug))
            except WorkspaceError:
                continue
            problems += _workflow_problems(doc, str(slug), wf)
        return None, sorted(problems, key=lambda e: e.line or 0)
    return rules, _problems(doc, rules)


def _together(problems: list[WorkspaceError]) -> WorkspaceError:
    first, *rest = problems
    return WorkspaceError(first.file, first.problem, line=first.line, also=tuple(rest))


def _problems(doc: YamlDocument, rules: RulesConfig) -> list[WorkspaceError]:
    found = [p for slug, wf in rules.workflows.items() for p in _workflow_problems(doc, slug, wf)]
    review = rules.answers
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
    found: list[WorkspaceError] = []
    if not SLUG_RE.match(slug):
        found.append(
            doc.error(
                at,
                f"workflow name {slug!r} must be lower-case letters, digits, "
                "'-' and '_', starting with a letter (it is typed in /trellis)",
            )
        )
    for name, spec in wf.inputs.items():
        found += _field_problems(doc, (*at, "inputs", name), name, spec)
    if wf.approval and wf.approval[-1].when is not None:
        found.append(
            doc.error(
                (*at, "approval", len(wf.approval) - 1, "when"),
                f"workflows.{slug}.approval: the last tier must have no `when`, so "
                "every request is covered; add `- approvers: []` to approve the "
                "rest automatically",
            )
        )
    for t, tier in enumerate(wf.approval):
        if tier.when is not None:
            found += _try(
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
                found.append(
                    doc.error(
                        (*at, key),
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
