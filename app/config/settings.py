"""Process settings: where things are and which outside services are switched on.

Everything comes from the environment (prefix `TRELLIS_`), except the names the Slack and
Anthropic tooling already use, which work as they are: `SLACK_BOT_TOKEN`,
`SLACK_APP_TOKEN`, `SLACK_SIGNING_SECRET`, `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`. An empty variable counts as
unset. What the business configures (people, rules, prompts) lives in the workspace, not
here: see `app/config/workspace.py`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def default_workspace_path() -> Path:
    """The demo workspace bundled with the package: the one Trellis runs without another."""
    return Path(__file__).resolve().parent.parent / "demo" / "workspace"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRELLIS_", env_ignore_empty=True, extra="ignore", populate_by_name=True
    )

    workspace: Path | None = None
    """The workspace folder; None means the bundled demo workspace."""

    database_url: str = "sqlite+aiosqlite:///trellis.db"
    slack_api_url: str | None = None
    """A Slack Web API base other than Slack's own, e.g. the local sandbox."""

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8787, ge=0, le=65535)  # 0: any free port
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(default=3000, ge=0, le=65535)  # 0: any free port
    slack_mode: Literal["socket", "http"] = "socket"
    """How Slack reaches Trellis: over Socket Mode, or by HTTP requests to /slack/events on
    the HTTP port (signed with SLACK_SIGNING_SECRET; any number of replicas behind a balancer)."""
    question_concurrency: int = Field(default=4, ge=1)
    """How many questions are answered at once; the others wait their turn."""
    model_concurrency: int = Field(default=64, ge=1)
    """How many questions may wait on the model at once. A question gives up its place while
    it waits on the model (app/answering/queue.py); this bounds the connections a burst opens."""
    questions_per_minute: int = Field(default=10, ge=0)
    """Questions one person may ask in any minute; 0: no limit (app/trust/quotas.py)."""
    workspace_questions_per_minute: int = Field(default=240, ge=0)
    """Questions a whole Slack workspace may ask in any minute; 0: no limit."""
    held_cards_per_hour: int = Field(default=10, ge=0)
    """Answers one person may have held for review in any hour; past it, a question whose
    answer would be held again is declined instead; 0: no limit."""
    question_lease_seconds: float = Field(default=30, gt=0)
    """How long a question whose process stopped (a crash, kill -9) waits before another
    process takes it over; a process renews its questions' leases while it answers them."""
    database_wait_seconds: float = Field(default=30, ge=0)
    """How long a new question waits for an unreachable database before its asker is told to
    ask again (once stored, a question is answered when the database is back)."""
    audit_anchor_hours: float = Field(default=24, gt=0)
    """How often the audit chain's head is posted to the owners channel (app/trust/anchors.py)."""
    owner_notice_delay_seconds: float = Field(default=120, ge=0)
    """How long a question nobody could answer waits before its owners may hear of it, so
    the asker can still press "Don't forward my question" (app/trust/owners.py)."""
    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"
    """auto: readable lines on a terminal, JSON lines otherwise."""
    log_json: bool = False
    """The same as log_format json (kept for existing deployments)."""
    trace_content: bool = False
    """Put question and answer text, names, emails, Slack ids and document ids into trace
    attributes (app/trust/tracing.py); without it traces carry counts and statuses only."""
    stream_answers: Literal["auto", "always", "never"] = "auto"
    """Stream answers (status line, then chat.startStream / appendStream / stopStream) in
    DMs and in the threads of channel mentions, as in the assistant view: `always`; `auto`
    when the answer is written by a model that streams its text (Claude), where streaming
    shows the first words seconds sooner; `never`. Otherwise a thinking indicator is posted
    and replaced by the answer. Follow-ups inside an existing thread always use the
    indicator (handlers/events.py)."""
    stream_model_text: bool = True
    """Where answers stream, stream Claude's text as it is written; it is checked when the
    model finishes, and replaced if it fails. Off: the checked answer is streamed whole, as
    with the offline answerer."""

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_BASE_URL")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("log_format", "slack_mode", mode="before")
    @classmethod
    def _format_name(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("slack_api_url", "anthropic_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str | None) -> str | None:
        # slack_sdk joins method names onto the base URL, so it must end with a slash.
        if value is not None and not value.endswith("/"):
            return value + "/"
        return value

    @property
    def slack_enabled(self) -> bool:
        """On Slack itself: a bot token, and over Socket Mode an app-level token too (over
        HTTP the signing secret is required, and its absence is a set-up error)."""
        if self.slack_mode == "http":
            return _present(self.slack_bot_token)
        return _present(self.slack_bot_token) and _present(self.slack_app_token)

    @property
    def anthropic_enabled(self) -> bool:
        return _present(self.anthropic_api_key)

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    def workspace_path(self) -> Path:
        return self.workspace if self.workspace is not None else default_workspace_path()


def _present(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value().strip())
