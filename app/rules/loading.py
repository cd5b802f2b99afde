"""Reading rules.yml: the schema's checks, then those that span several keys.

Every expression is compiled when the workspace loads, and tried once on sample values so
that an unknown variable or field, or a comparison between mismatched types, is a load
error at its line rather than a surprise later. The last approval tier has no `when`, so
every request is covered by some tier.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.config.yamlfile import Loc, YamlDocument, load_yaml, validate
from app.domain import Person
from app.errors import ConditionError, InvalidValue
from app.rules.conditions import Condition
from app.rules.facts import channel_facts, requester_facts
from app.rules.inputs import coerce
from app.rules.schema import InputField, RulesConfig, Workflow

SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


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
            coerce(spec, spec.default)
        except InvalidValue as exc:
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
