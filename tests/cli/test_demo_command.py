"""`trellis demo` plays the whole story in the terminal through the real app and the sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from app.demo.render import blocks_to_lines, mrkdwn_to_text

NAMES = {"U1": "Ana Souza"}.get


def test_demo_plays_every_step_of_the_story(tmp_path):
    env = {
        **os.environ,
        "COLUMNS": "160",
        "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
    }
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "ANTHROPIC_API_KEY",
        "TRELLIS_WORKSPACE",
        "CRM_DATABASE_URL",
        "TRELLIS_WEBHOOK_SECRET",
        "TRELLIS_TICKETING_TOKEN",
    ):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "app", "demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=110,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Trail Day: Friday, October 9, 2026. Every office closes" in output
    assert "Only you can see this fuller answer" in output and "25 days" in output
    assert "can't verify who you are" in output
    assert "Sofia Marino clicks Approve." in output
    assert "The CRM received: a discounts row (customer=Alpine Co., percent=18)" in output
    assert re.search(
        r"The webhook receiver verified the signature of dlv_1 \(Idempotency-Key trellis:[0-9a-f-]+:1\)",
        output,
    )
    assert "Approved by Sofia Marino" in output and "Done." in output
    assert "Added row 1 to discounts" in output and "Sent to 127.0.0.1" in output
    assert "flagged an answer" in output
    assert "failed" not in output.split("The Trellis story")[-1]
    # The story used a database of its own, not the operator's.
    assert not (tmp_path / "unused.db").exists()


def test_slack_text_becomes_plain_terminal_text():
    text = mrkdwn_to_text(
        "*Hi* <@U1>, see <https://wiki.example/a|the policy> &lt;b&gt; :white_check_mark:",
        names=lambda u: NAMES(u) or u,
        channels=lambda c: c,
    )
    assert text == "Hi @Ana Souza, see the policy (https://wiki.example/a) <b> ✅"
    lines = blocks_to_lines(
        [
            {"type": "header", "text": {"type": "plain_text", "text": "Card"}},
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Approve"}}],
            },
            {"type": "video", "title": {"type": "plain_text", "text": "x"}},
        ],
        names=lambda u: u,
        channels=lambda c: c,
    )
    assert lines == [("bold", "Card"), ("button", "[ Approve ]"), ("dim", "[video block]")]
