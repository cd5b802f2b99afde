"""The contract every downstream connector keeps.

A connector receives an `ApprovedAction`, delivers it to one downstream system and returns an
`ActionResult`. It must be safe to call again with the same idempotency key: the outbox
retries after timeouts and crashes, and the downstream system must still see one delivery.

Failures are `DownstreamError`s (app/errors.py) whose `retryable` says whether trying again
can help: `ConnectorConfigError` never, `DownstreamUnavailable` always, with `retry_after`
carrying the seconds the system asked us to wait, if any.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from app.delivery.retry import parse_retry_after
from app.errors import ConnectorConfigError, DownstreamError, DownstreamUnavailable

P = TypeVar("P", bound=BaseModel)
C = TypeVar("C", bound="ConnectorConfig")


@dataclass(frozen=True)
class ApprovedAction:
    """One approved action, ready to be carried into a downstream system.

    Only `app/approvals/execution.py` creates one, and only once the draft's approval is
    final, so a connector never sees a draft that is still pending, rejected or changed since
    approval.
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
class Connector(Protocol):
    """A downstream system. Configuration is passed per call; a connector keeps no secrets."""

    slug: str

    # Read-only, so that a connector's own `Config = EmailConfig` (a subclass) fits.
    @property
    def Config(self) -> type[BaseModel]: ...
    @property
    def Params(self) -> type[BaseModel]: ...

    async def execute(
        self, approved: ApprovedAction, *, config: BaseModel, idempotency_key: str
    ) -> ActionResult: ...
