"""What `trellis run` checks before it starts stays in step with what Slack is told."""

from __future__ import annotations

from pathlib import Path

import yaml

from handlers.preflight import BOT_SCOPES

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def test_the_scopes_checked_at_start_are_the_scopes_of_the_manifest():
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
