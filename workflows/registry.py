"""The handlers by slug, filled by explicit imports (no discovery, no entry points).

`HANDLERS` holds instances that open their own HTTP session per call. The service container
can build its own set with `create_handlers(http=…)` to share one `aiohttp.ClientSession`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import BaseModel, ValidationError

from workflows.base import (
    ConnectorConfig,
    ConnectorConfigError,
    WorkflowHandler,
    validation_problem,
)
from workflows.email import EmailHandler
from workflows.sql import SqlHandler
from workflows.ticketing import TicketingHandler
from workflows.webhook import WebhookHandler


def create_handlers(*, http: aiohttp.ClientSession | None = None) -> dict[str, WorkflowHandler]:
    handlers: list[WorkflowHandler] = [
        EmailHandler(),
        WebhookHandler(session=http),
        TicketingHandler(session=http),
        SqlHandler(),
    ]
    return {handler.slug: handler for handler in handlers}


HANDLERS: dict[str, WorkflowHandler] = create_handlers()


def get_handler(slug: str, handlers: Mapping[str, WorkflowHandler] = HANDLERS) -> WorkflowHandler:
    try:
        return handlers[slug]
    except KeyError:
        known = ", ".join(sorted(handlers))
        raise ConnectorConfigError(
            f"There is no connector called {slug!r}. Known connectors: {known}."
        ) from None


def validate_config(
    slug: str, raw: Mapping[str, Any], env: Mapping[str, str], *, require_secrets: bool = True
) -> BaseModel:
    """rules.yml `connectors.<slug>` as the handler's Config, bound to `env` for its secrets.

    With `require_secrets`, every `*_env` setting must name a variable that is set in `env`,
    so a missing secret is reported when the workspace loads rather than at the first send.
    """
    handler = get_handler(slug)
    try:
        config = handler.Config.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConnectorConfigError(
            f"The {slug} connector in rules.yml is not valid ({validation_problem(exc)}).",
            detail=str(exc),
        ) from exc
    if not isinstance(config, ConnectorConfig):
        return config
    bound = config.with_env(env)
    if require_secrets:
        for setting in bound.secret_names():
            bound.secret(setting)
    return bound
