"""What a workflow will do once approved: its actions with their settings filled in.

An action's `with:` settings in rules.yml may hold placeholders, `{{ input.customer }}`,
`{{ draft.text }}`, `{{ requester.email }}`, `{{ workflow.title }}`. They are filled by
looking the dotted name up, nothing is evaluated. A setting that is exactly one
placeholder keeps the value's type (a number stays a number).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from app.delivery.settings import setting_problems
from app.errors import RuleViolation, WorkspaceError
from app.rules.schema import RulesConfig, Workflow
from workflows.base import validation_problem
from workflows.registry import CONNECTORS, validate_config

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
ROOTS = {"input", "draft", "requester", "workflow"}
OUTSIDE = ("email", "ticketing", "webhook")
"""Connectors whose actions reach someone outside Trellis: an inbox, a ticket, a system."""


@dataclass(frozen=True)
class PlannedAction:
    """One action: its settings as rules.yml has them, filled in, and in words.

    The draft keeps `settings`; they are filled again with the final text when the
    draft is approved, because an approver may edit the text first."""

    connector: str
    settings: dict[str, Any]
    params: dict[str, Any]
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "settings": self.settings,
            "description": self.description,
        }


def context_for(
    *, inputs: Mapping[str, Any], text: str, requester_email: str, requester_name: str, title: str
) -> dict[str, Any]:
    return {
        "input": dict(inputs),
        "draft": {"text": text},
        "requester": {"email": requester_email, "name": requester_name},
        "workflow": {"title": title},
    }


def plan(
    workflow: Workflow,
    *,
    inputs: Mapping[str, Any],
    text: str,
    requester_email: str,
    requester_name: str,
) -> list[PlannedAction]:
    """Every action of `workflow`, filled in for this request and checked against the
    connector's settings, so a mistake shows before anyone approves."""
    context = context_for(
        inputs=inputs,
        text=text,
        requester_email=requester_email,
        requester_name=requester_name,
        title=workflow.title,
    )
    planned = []
    for spec in workflow.actions:
        params = fill(spec.with_, context)
        connector = CONNECTORS.get(spec.connector)
        if connector is not None:
            try:
                connector.Params.model_validate(params)
            except ValidationError as exc:
                raise RuleViolation(
                    f"{workflow.title} cannot {describe(spec.connector, params)} with these "
                    f"values ({validation_problem(exc)}). Check the fields and try again."
                ) from exc
        planned.append(
            PlannedAction(
                spec.connector, dict(spec.with_), params, describe(spec.connector, params)
            )
        )
    return planned


def fill(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: fill(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, context) for v in value]
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value.strip())
    if whole:
        return _lookup(context, whole.group(1))
    return PLACEHOLDER.sub(lambda m: _text(_lookup(context, m.group(1))), value)


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    node: Any = context
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            return ""
    return node


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def describe(connector: str, params: Mapping[str, Any]) -> str:
    """What the action will do, for the approval card ("send email to …")."""
    if connector == "email":
        to = params.get("to")
        to = ", ".join(to) if isinstance(to, list) else str(to or "the customer")
        return f"send email to {to}"
    if connector == "ticketing":
        if params.get("comment_on"):
            return f"comment on ticket {params['comment_on']}"
        return "open a ticket"
    if connector == "sql":
        return f"add a row to {params.get('table', 'the database')}"
    if connector == "webhook":
        host = urlparse(str(params.get("url") or "")).netloc
        return f"notify {host}" if host else "call the webhook"
    return f"run {connector}"


def sends_draft_out(workflow: Workflow) -> list[str]:
    """The connectors of `workflow`'s actions that carry the draft's text (`{{ draft.text }}`)
    to someone outside Trellis, each once, in the order rules.yml lists them."""
    if workflow.mode == "draft_only":
        return []
    found = [
        spec.connector
        for spec in workflow.actions
        if spec.connector in OUTSIDE
        and any(p.split(".")[0] == "draft" for p in _placeholders(spec.with_))
    ]
    return list(dict.fromkeys(found))


def check_rules(
    rules: RulesConfig,
    env: Mapping[str, str],
    *,
    sandboxed: Collection[str] = (),
    settings: bool = True,
) -> list[str]:
    """Connector settings and action placeholders, checked when Trellis starts.

    A connector whose settings are wrong, an unknown connector or a placeholder naming
    something that does not exist stops the start (WorkspaceError). A secret that is not
    set is only a warning: those actions dead-letter with a clear message until it is.
    `sandboxed`: the variables the sandbox's stand-in systems generate (sandbox.yml
    `systems: true`), needed only outside it. A setting a connector does not have, or a
    secret written in the file, stops it too (app/delivery/settings.py), all of them at once;
    `settings=False` leaves those to the caller (`trellis check` lists them with the rest).
    """
    wrong = [WorkspaceError("rules.yml", p) for p in setting_problems(rules) if settings]
    if wrong:
        raise WorkspaceError("rules.yml", wrong[0].problem, also=tuple(wrong[1:]))
    warnings: list[str] = []
    for slug, raw in rules.connectors.items():
        if slug not in CONNECTORS:
            raise WorkspaceError(
                "rules.yml",
                f"connectors.{slug}: there is no such connector "
                f"(known: {', '.join(sorted(CONNECTORS))})",
            )
        try:
            config = validate_config(slug, raw, env, require_secrets=False)
        except Exception as exc:
            raise WorkspaceError("rules.yml", f"connectors.{slug}: {_message(exc)}") from exc
        for setting, variable in getattr(config, "secret_names", dict)().items():
            if not env.get(variable) and variable in sandboxed:
                warnings.append(
                    f"connectors.{slug}.{setting}: the environment variable {variable} is "
                    "not set; the sandbox generates it for its stand-in systems, but outside "
                    f"the sandbox {slug} actions will fail until it is"
                )
            elif not env.get(variable):
                warnings.append(
                    f"connectors.{slug}.{setting}: the environment variable "
                    f"{variable} is not set; {slug} actions will fail until it is"
                )
    for slug, workflow in rules.workflows.items():
        for i, spec in enumerate(workflow.actions):
            where = f"workflows.{slug}.actions.{i}"
            if spec.connector not in CONNECTORS:
                raise WorkspaceError(
                    "rules.yml",
                    f"{where}.connector: there is no connector "
                    f"{spec.connector!r} (known: {', '.join(sorted(CONNECTORS))})",
                )
            if spec.connector not in rules.connectors:
                warnings.append(
                    f"{where}: connectors.{spec.connector} is not configured; "
                    "these actions will fail until it is"
                )
            for path in _placeholders(spec.with_):
                root, _, rest = path.partition(".")
                field_name = rest.partition(".")[0]
                if root not in ROOTS or (root == "input" and field_name not in workflow.inputs):
                    raise WorkspaceError(
                        "rules.yml",
                        f"{where}.with: {{{{ {path} }}}} names "
                        "nothing a request has (input.<field>, draft.text, "
                        "requester.email, requester.name, workflow.title)",
                    )
    return warnings


def _placeholders(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _placeholders(v)
    elif isinstance(value, list):
        for v in value:
            yield from _placeholders(v)
    elif isinstance(value, str):
        yield from (m.group(1) for m in PLACEHOLDER.finditer(value))


def _message(exc: Exception) -> str:
    return getattr(exc, "user_message", None) or str(exc)
