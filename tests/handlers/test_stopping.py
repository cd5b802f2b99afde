"""Trellis stopping finishes what Slack was already told is in hand."""

from __future__ import annotations

import asyncio
import json

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest

from handlers.runtime import finish_acknowledged


async def _authorize(**_: object) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-1", bot_user_id="U0")


async def test_a_listener_still_working_after_its_ack_finishes_before_trellis_stops():
    app = AsyncApp(authorize=_authorize, request_verification_enabled=False)
    saved = asyncio.Event()

    @app.action("save")
    async def save(ack):  # acks first, as Trellis's listeners do, then does the work
        await ack()
        await asyncio.sleep(0.3)
        saved.set()

    click = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "api_app_id": "A1",
        "actions": [{"action_id": "save", "block_id": "b", "type": "button", "value": "1"}],
    }
    body = "payload=" + json.dumps(click)
    response = await app.async_dispatch(
        AsyncBoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})
    )
    assert response.status == 200
    assert not saved.is_set()  # Bolt answered Slack before the listener's work was done

    await finish_acknowledged()

    assert saved.is_set()
