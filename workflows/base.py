"""The contract every workflow handler (downstream connector) keeps.

A handler receives an `ApprovedAction`, delivers it to one downstream system and returns an
`ActionResult`. It must be safe to call again with the same idempotency key: the outbox
retries after timeouts and crashes, and the downstream system must still see one delivery.

Failures are `DownstreamError`s whose `retryable` says whether trying again can help:

    DownstreamError
     ├── ConnectorConfigError   the connector or the action is set up wrongly (never retryable)
     └── DownstreamUnavailable  the system is down, slow or throttling us (always retryable;
                                `retry_after` carries the seconds it asked us to wait, if any)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from app.errors import DownstreamError

P = TypeVar("P", bound=BaseModel)
C = TypeVar("C", bound="ConnectorConfig")


@dataclass(frozen=True)
class ApprovedAction:
    """One approved action, ready to be carried into a downstream system.

    Only `app/approvals/service.py` creates one, and only once the draft's approval is final, so a
    handler never sees a draft that is still pending, rejected or changed since approval.
    """

    action_id: str
    draft_id: str
    workflow: str
    connector: str
    params: Mapping[str, Any]
    text: str
    title: str
    requester_email: str
    approved_by: tuple[str, ...]
    draft_hash: str
    thread: str | None = None


@dataclass(frozen=True)
class ActionResult:
    """What a delivery produced, as the requester will see it."""

    reference: str
    summary: str
    url: str | None = None


class ConnectorConfigError(DownstreamError):
    """The connector or the action's `with:` settings are wrong; retrying cannot help."""

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(user_message, retryable=False, detail=detail)


class DownstreamUnavailable(DownstreamError):
    """The downstream system failed in a way that may pass: try again later."""

    def __init__(
        self, user_message: str, *, retry_after: float | None = None, detail: str | None = None
    ) -> None:
        super().__init__(user_message, retryable=True, detail=detail)
        self.retry_after = retry_after


class ConnectorConfig(BaseModel):
    """Connection settings from rules.yml `connectors:`.

    Secrets are never fields: a field ending in `_env` names an environment variable, and
    `secret()` reads it from the mapping bound by `registry.validate_config`. The mapping is
    a private attribute, so dumping or logging a config never shows a secret.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    connector: ClassVar[str] = "connector"
    _env: Mapping[str, str] = PrivateAttr(default_factory=dict)

    def with_env(self, env: Mapping[str, str]) -> ConnectorConfig:
        bound = self.model_copy()
        bound._env = env
        return bound

    def secret_names(self) -> dict[str, str]:
        """The `*_env` settings that are set: setting name -> environment variable name."""
        return {
            name: value
            for name, value in self
            if name.endswith("_env") and isinstance(value, str) and value
        }

    def secret(self, setting: str) -> str:
        variable = getattr(self, setting)
        value = self._env.get(variable) if variable else None
        if not value:
            raise ConnectorConfigError(
                f"The {self.connector} connector is not configured: the environment "
                f"variable {variable or setting} is not set. Ask an admin to set it."
            )
        return value


def validation_problem(error: ValidationError) -> str:
    """Pydantic's errors as one short line a person can act on."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "value"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_params(model: type[P], approved: ApprovedAction) -> P:
    try:
        return model.model_validate(dict(approved.params))
    except ValidationError as exc:
        raise ConnectorConfigError(
            f"The {approved.connector} action of workflow {approved.workflow} has invalid "
            f"settings ({validation_problem(exc)}).",
            detail=str(exc),
        ) from exc


def require_config(model: type[C], config: BaseModel) -> C:
    if not isinstance(config, model):
        raise ConnectorConfigError(
            f"The {model.connector} connector was given the wrong kind of settings.",
            detail=f"expected {model.__name__}, got {type(config).__name__}",
        )
    return config


def short_hash(idempotency_key: str, length: int = 16) -> str:
    """A stable, compact token derived from an idempotency key."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:length]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for_status(
    system: str, status: int, *, retry_after: str | None = None, problem: str = ""
) -> DownstreamError:
    """The DownstreamError for an HTTP failure status from `system`."""
    problem = problem.strip().rstrip(".")
    detail = f"{system} answered {status}" + (f": {problem}" if problem else "")
    if status == 429:
        return DownstreamUnavailable(
            f"{system} is throttling requests (HTTP 429); Trellis will try again.",
            retry_after=parse_retry_after(retry_after),
            detail=detail,
        )
    if status >= 500 or status == 408:
        return DownstreamUnavailable(
            f"{system} is having trouble (HTTP {status}); Trellis will try again.",
            retry_after=parse_retry_after(retry_after),
            detail=detail,
        )
    said = f": {problem}" if problem else ""
    if status in (401, 403):
        return DownstreamError(
            f"{system} refused Trellis's credentials (HTTP {status}{said}). "
            "Ask an admin to check the connector's settings.",
            retryable=False,
            detail=detail,
        )
    return DownstreamError(
        f"{system} rejected the request (HTTP {status}){said}.", retryable=False, detail=detail
    )


@runtime_checkable
class WorkflowHandler(Protocol):
    """A downstream system. Configuration is passed per call; a handler keeps no secrets."""

    slug: str
    Config: type[BaseModel]
    Params: type[BaseModel]

    async def execute(
        self, approved: ApprovedAction, *, config: BaseModel, idempotency_key: str
    ) -> ActionResult: ...
