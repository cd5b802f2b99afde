"""The browser view's HTTP side: the page and its files, what a person sees, what a person
does (through the simulation API, so the app gets real envelopes), and the live stream."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import aiohttp

from app.sandbox import SandboxWorkspace
from app.sandbox.snapshot import typed_text
from handlers.views.cards import reject_modal
from tests.sandbox_helpers import (
    ANA,
    BO,
    BOT,
    DEALS,
    GENERAL,
    GUEST,
    SECRET,
    recording_socket_client,
    running_sandbox,
    sample_seed,
)


async def _get(server, path: str) -> tuple[int, dict, str]:
    async with aiohttp.ClientSession() as http, http.get(server.url + path) as response:
        return response.status, dict(response.headers), await response.text()


async def _act(server, action: str, body: dict) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}ui/actions/{action}", json=body) as response,
    ):
        return response.status, await response.json()


async def test_the_page_is_served_with_a_policy_that_runs_only_its_own_scripts():
    async with running_sandbox() as server:
        status, headers, html = await _get(server, "")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert '<script type="module" src="/static/app.js">' in html
        for name, kind in [
            ("app.js", "text/javascript"),
            ("blocks.js", "text/javascript"),
            ("style.css", "text/css"),
        ]:
            status, headers, _ = await _get(server, f"static/{name}")
            assert status == 200 and headers["Content-Type"].startswith(kind)
        for bad in ("static/..%2Fserver.py", "static/server.py", "static/index.html"):
            status, _, _ = await _get(server, bad)
            assert status == 404, bad


async def test_a_person_sees_only_their_conversations_and_their_own_ephemerals():
    async with running_sandbox() as server:
        server.workspace.post_ephemeral(GENERAL, user=ANA, text="for Ana only")
        _, _, body = await _get(server, f"ui/state?as={ANA}")
        ana = json.loads(body)
        assert [e["text"] for e in ana["ephemerals"]] == ["for Ana only"]
        assert SECRET not in [c["id"] for c in ana["conversations"]]
        _, _, body = await _get(server, f"ui/state?as={GUEST}")
        guest = json.loads(body)
        assert [c["id"] for c in guest["conversations"]] == [GENERAL]
        assert guest["ephemerals"] == []
        assert guest["me"]["kind"] == "guest"
        general = guest["conversations"][0]
        assert GUEST in general["outsiders"]
        status, _, _ = await _get(server, "ui/state?as=U0NOBODY")
        assert status == 404


def test_typed_text_is_escaped_and_handles_become_mentions():
    ws = SandboxWorkspace.from_seed(sample_seed())
    assert typed_text(ws, "@trellis is 1 < 2 & <b>?") == f"<@{BOT}> is 1 &lt; 2 &amp; &lt;b&gt;?"
    assert typed_text(ws, "ask @ana. in #general") == f"ask <@{ANA}>. in <#{GENERAL}|general>"
    assert typed_text(ws, "mail ana@acme.example, @nobody, #nowhere") == (
        "mail ana@acme.example, @nobody, #nowhere"
    )


async def test_what_a_person_does_reaches_the_app_as_slack_envelopes():
    async with running_sandbox() as server, recording_socket_client(server) as received:
        status, answer = await _act(
            server, "post", {"as": ANA, "channel": GENERAL, "text": "@trellis hello <there>"}
        )
        assert status == 200 and answer["ok"]
        await received.wait_for(2)
        events = [r.payload["event"] for r in received]
        assert {e["type"] for e in events} == {"message", "app_mention"}
        assert events[0]["text"] == f"<@{BOT}> hello &lt;there&gt;"
        section = events[0]["blocks"][0]["elements"][0]["elements"]
        assert section == [
            {"type": "user", "user_id": BOT},
            {"type": "text", "text": " hello <there>"},
        ]

        status, _ = await _act(
            server, "react", {"as": ANA, "channel": GENERAL, "ts": answer["ts"], "name": ":eyes:"}
        )
        assert status == 200
        await received.wait_for(3)
        assert received[-1].payload["event"]["type"] == "reaction_added"

        status, answer = await _act(
            server, "command", {"as": BO, "channel": DEALS, "command": "/trellis", "text": "help"}
        )
        await received.wait_for(4)
        assert received[-1].type == "slash_commands"
        assert received[-1].payload["user_id"] == BO and received[-1].payload["text"] == "help"


async def test_what_slack_would_not_allow_is_refused_with_a_reason():
    async with running_sandbox(ack_timeout=0.3) as server:
        status, answer = await _act(server, "post", {"as": GUEST, "channel": DEALS, "text": "hi"})
        assert status == 400 and f"{GUEST} is not in {DEALS}" in answer["message"]
        status, answer = await _act(
            server, "react", {"as": ANA, "channel": GENERAL, "ts": "1.000001", "name": "<img>"}
        )
        assert status == 400 and "not an emoji name" in answer["message"]
        status, answer = await _act(
            server,
            "command",
            {"as": ANA, "channel": GENERAL, "command": "/trellis", "text": "help"},
        )
        assert status == 504 and "did not answer in time" in answer["message"]
        status, _ = await _act(server, "teleport", {"as": ANA})
        assert status == 404


async def test_an_action_that_is_not_json_is_refused():
    # A form or text/plain post from another site's page needs no preflight; JSON does.
    async with running_sandbox() as server:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{server.url}ui/actions/post",
                data=json.dumps({"as": ANA, "channel": GENERAL, "text": "from another site"}),
                headers={"Content-Type": "text/plain"},
            ) as response,
        ):
            assert response.status == 415
        assert server.messages(GENERAL) == []


async def test_a_modal_left_incomplete_is_answered_with_errors_not_sent():
    async with running_sandbox() as server, recording_socket_client(server) as received:
        view = server.workspace.open_view(
            BO,
            {
                "type": "modal",
                "title": {"type": "plain_text", "text": "Ask"},
                "submit": {"type": "plain_text", "text": "Ask"},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "q",
                        "label": {"type": "plain_text", "text": "Q"},
                        "element": {"type": "plain_text_input", "action_id": "text"},
                    }
                ],
            },
        )
        status, answer = await _act(server, "submit", {"as": BO, "view_id": view.id, "values": {}})
        assert status == 200
        assert answer["ack"] == {
            "response_action": "errors",
            "errors": {"q": "Please complete this required field."},
        }
        assert len(received) == 0


async def test_the_live_stream_carries_only_what_the_person_can_see():
    async with (
        running_sandbox() as server,
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}ui/events?as={BO}") as stream,
    ):
        assert stream.headers["Content-Type"] == "text/event-stream"
        assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry: 1000\nevent: ready")
        server.workspace.post_ephemeral(GENERAL, user=ANA, text="not for Bo")
        server.workspace.post(SECRET, user=BO, text="Bo's secret")
        async with asyncio.timeout(5):
            chunk = await stream.content.readuntil(b"\n\n")
        assert chunk == b'event: change\ndata: {"kind": "message_posted"}\n\n'
        await server.stop()
        async with asyncio.timeout(5):
            rest = await stream.content.read()
        assert rest == b""


SANDBOX_API = Path(__file__).resolve().parents[2] / "docs" / "sandbox-api.md"


def documented_body(action: str, **names: str) -> dict:
    """The JSON body docs/sandbox-api.md's example sends to `action`, with its shell
    variables ($NAME) replaced by `names`."""
    lines = SANDBOX_API.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if f"/ui/actions/{action}" in line)
    sent = lines[at + 1].strip()
    assert sent.startswith('-d "') and sent.endswith('"'), sent
    body = sent[len('-d "') : -1].replace('\\"', '"')
    for name, value in names.items():
        body = body.replace(f"${name}", value)
    return json.loads(body)


async def test_the_documented_submit_body_fills_the_modal_as_slack_would():
    async with running_sandbox() as server, recording_socket_client(server) as received:
        modal = reject_modal(SimpleNamespace(id="d-1", requester_name="Ana"))
        view = server.workspace.open_view(BO, modal)
        body = documented_body("submit", MANAGER=BO, VIEW=view.id)
        assert body["values"] == {"reason": "Over this quarter's budget"}  # block_id: value

        status, answer = await _act(server, "submit", body)
        assert status == 200 and answer == {"ok": True, "ack": {}}, answer
        await received.wait_for(1)
        assert received[0].type == "interactive"
        submitted = received[0].payload["view"]["state"]["values"]
        assert submitted == {
            "reason": {"text": {"type": "plain_text_input", "value": "Over this quarter's budget"}}
        }


async def test_a_direct_message_to_trellis_is_a_post_to_its_user_id():
    async with running_sandbox() as server, recording_socket_client(server) as received:
        status, answer = await _act(server, "post", {"as": ANA, "channel": BOT, "text": "hi"})
        assert status == 200 and answer["ok"], answer
        await received.wait_for(1)
        event = received[0].payload["event"]
        assert event["channel_type"] == "im" and event["text"] == "hi"

        _, _, body = await _get(server, f"ui/state?as={ANA}")
        state = json.loads(body)
        [bot] = [p for p in state["people"] if p["kind"] == "bot"]
        assert bot["id"] == BOT
        [dm] = [c for c in state["conversations"] if c["kind"] == "im" and BOT in c["members"]]
        assert dm["id"] == event["channel"] and dm["id"].startswith("D")
        assert [m["text"] for m in state["messages"][dm["id"]]] == ["hi"]
        status, _ = await _act(server, "post", {"as": ANA, "channel": dm["id"], "text": "again"})
        assert status == 200
