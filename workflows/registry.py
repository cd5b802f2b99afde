"""The connectors by slug, filled by explicit imports (no discovery, no entry points).

`CONNECTORS` holds instances that open their own HTTP session per call. The service
container can build its own set with `create_connectors(http=…)` to share one
`aiohttp.ClientSession`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import BaseModel, ValidationError

from app.errors import ConnectorConfigError
from workflows.base import Connector, ConnectorConfig, validation_problem
from workflows.email import EmailConnector
from workflows.sql import SqlConnector
from workflows.ticketing import TicketingConnector
from workflows.webhook import WebhookConnector


def create_connectors(*, http: aiohttp.ClientSession | None = None) -> dict[str, Connector]:
    connectors: list[Connector] = [
        EmailConnector(),
        WebhookConnector(session=http),
        TicketingConnector(session=http),
        SqlConnector(),
    ]
    return {connector.slug: connector for connector in connectors}


CONNECTORS: dict[str, Connector] = create_connectors()


def get_connector(slug: str, connectors: Mapping[str, Connector] = CONNECTORS) -> Connector:
    try:
        return connectors[slug]
    except KeyError:
        known = ", ".join(sorted(connectors))
        raise ConnectorConfigError(
            f"There is no connector called {slug!r}. Known connectors: {known}."
        ) from None


def validate_config(
    slug: str, raw: Mapping[str, Any], env: Mapping[str, str], *, require_secrets: bool = True
) -> BaseModel:
    """rules.yml `connectors.<slug>` as the connector's Config, bound to `env` for its secrets.

    With `require_secrets`, every `*_env` setting must name a variable that is set in `env`,
    so a missing secret is reported when the workspace loads rather than at the first send.
    """
    connector = get_connector(slug)
    try:
        config = connector.Config.model_validate(dict(raw))
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
