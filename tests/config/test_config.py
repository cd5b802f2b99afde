from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config.settings import Settings
from app.config.workspace import default_workspace_path

UNPREFIXED = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("TRELLIS_") or name in UNPREFIXED:
            monkeypatch.delenv(name)


def test_defaults_run_offline_on_the_demo_workspace():
    settings = Settings()
    assert settings.workspace is None
    assert settings.workspace_path() == default_workspace_path()
    assert settings.workspace_path().parent.name == "demo"
    assert settings.database_url == "sqlite+aiosqlite:///trellis.db"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8787)
    assert (settings.sandbox_host, settings.sandbox_port) == ("127.0.0.1", 3000)
    assert settings.slack_api_url is None
    assert settings.log_level == "INFO"
    assert settings.log_json is False
    assert not settings.slack_enabled
    assert not settings.anthropic_enabled


def test_prefixed_variables_configure_the_process(monkeypatch, tmp_path):
    monkeypatch.setenv("TRELLIS_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("TRELLIS_DATABASE_URL", "postgresql+asyncpg://db/trellis")
    monkeypatch.setenv("TRELLIS_SLACK_API_URL", "http://127.0.0.1:3000/api")
    monkeypatch.setenv("TRELLIS_HTTP_PORT", "9000")
    monkeypatch.setenv("TRELLIS_LOG_LEVEL", "debug")
    monkeypatch.setenv("TRELLIS_LOG_JSON", "true")
    settings = Settings()
    assert settings.workspace_path() == Path(tmp_path)
    assert settings.database_url == "postgresql+asyncpg://db/trellis"
    assert settings.slack_api_url == "http://127.0.0.1:3000/api/"
    assert settings.http_port == 9000
    assert settings.log_level == "DEBUG"
    assert settings.log_json is True


def test_slack_and_anthropic_use_their_usual_variable_names(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9999")
    settings = Settings()
    assert not settings.slack_enabled  # the app token is missing
    assert settings.anthropic_enabled
    assert settings.anthropic_base_url == "http://127.0.0.1:9999"

    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    settings = Settings()
    assert settings.slack_enabled
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1"


def test_secrets_never_show_in_reprs(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret")
    text = repr(Settings()) + str(Settings().model_dump())
    assert "very-secret" not in text


def test_empty_variables_count_as_unset(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("TRELLIS_WORKSPACE", "")
    settings = Settings()
    assert not settings.slack_enabled
    assert settings.workspace is None


def test_settings_can_be_built_in_code():
    settings = Settings(slack_bot_token="xoxb", slack_app_token="xapp", http_port=1234)
    assert settings.slack_enabled
    assert settings.http_port == 1234


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRELLIS_HTTP_PORT", "70000"),
        ("TRELLIS_LOG_LEVEL", "chatty"),
        ("TRELLIS_SLACK_API_URL", "localhost:3000"),
    ],
)
def test_bad_values_are_rejected(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
