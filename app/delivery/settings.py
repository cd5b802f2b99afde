"""Whether rules.yml's settings are ones a connector has: each action's `with:` against its
connector's settings, and no secret written in the file.

An action's `with:` may only hold the settings its connector reads (a webhook passes any
other field on as data); a misspelt one (`bcc:` for an email) would otherwise be dropped or
refused only when a request is made. A secret is never written in rules.yml, which everyone
who reads the workspace reads: a connector's `*_env` setting names the environment variable
that holds it, and an action's settings carry none.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from app.rules.schema import RulesConfig
from workflows.registry import CONNECTORS

SECRET_WORDS = frozenset(
    {"secret", "password", "passwd", "token", "apikey", "credential", "credentials"}
)
_WORDS = re.compile(r"[^a-z0-9]+")


def looks_secret(name: str) -> bool:
    """A setting named like a secret: `secret`, `api_key`, `auth-token`, not `token_env`."""
    words = [w for w in _WORDS.split(name.lower()) if w]
    if not words or words[-1] == "env":
        return False
    return bool(SECRET_WORDS & set(words)) or "apikey" in "".join(words)


def setting_problems(rules: RulesConfig) -> Iterator[str]:
    """Each problem as `dotted.key: what is wrong` (app/cli/review.py finds its line)."""
    for slug, raw in rules.connectors.items():
        connector = CONNECTORS.get(slug)
        if connector is not None:
            yield from _written_secrets(f"connectors.{slug}", raw, _secret_settings(slug))
    for name, workflow in rules.workflows.items():
        for i, spec in enumerate(workflow.actions):
            connector = CONNECTORS.get(spec.connector)
            if connector is None:
                continue  # an unknown connector is reported by check_rules
            where = f"workflows.{name}.actions.{i}.with"
            env = _secret_settings(spec.connector)
            yield from _written_secrets(where, spec.with_, env, action_of=spec.connector)
            yield from _unknown_settings(where, spec.connector, connector.Params, spec.with_)


def accepted(model: type[BaseModel]) -> list[str]:
    """The settings a connector's model reads, as rules.yml spells them."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _unknown_settings(
    where: str, slug: str, params: type[BaseModel], settings: Mapping[str, Any]
) -> Iterator[str]:
    if params.model_config.get("extra") == "allow":
        return  # every other field is passed on (a webhook's data)
    known = accepted(params)
    for key in settings:
        if key in known or looks_secret(str(key)):
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield (
            f"{where}.{key}: the {slug} connector has no setting {key!r}{hint}; "
            f"an action's settings are {', '.join(known)}"
        )


def _written_secrets(
    where: str, settings: Mapping[str, Any], env: list[str], *, action_of: str | None = None
) -> Iterator[str]:
    for key, value in settings.items():
        if not looks_secret(str(key)) or not isinstance(value, str) or not value.strip():
            continue
        if "{{" in value:
            continue  # filled from the request, not written here
        slug = action_of or where.rpartition(".")[2]
        if env:
            settings_env = " or ".join(f"connectors.{slug}.{e}" for e in env)
            fix = f"put it in an environment variable and name that variable in {settings_env}"
        else:
            fix = f"the {slug} connector takes no secret; remove it"
        yield (
            f"{where}.{key}: a secret written in rules.yml is readable by everyone who reads "
            f"the workspace; {fix}"
        )


def _secret_settings(slug: str) -> list[str]:
    """The connector's `*_env` settings: where the names of its secrets' variables go."""
    return [name for name in CONNECTORS[slug].Config.model_fields if name.endswith("_env")]
