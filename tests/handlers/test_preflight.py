"""What `trellis run` checks before it starts stays in step with what Slack is told."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from app.errors import SetupError
from handlers.preflight import BOT_SCOPES, check_slack_app

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def test_the_scopes_checked_at_start_are_the_scopes_of_the_manifest():
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


async def test_a_slack_that_cannot_be_reached_is_one_line_naming_the_address():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    client = AsyncWebClient(token="xoxb-1-test", base_url=f"http://127.0.0.1:{closed}/api/")
    with pytest.raises(SetupError) as refused:
        await check_slack_app(client)
    message = str(refused.value)
    assert message.startswith("TRELLIS_SLACK_API_URL: Slack could not be reached at")
    assert f"127.0.0.1:{closed}" in message and "\n" not in message
