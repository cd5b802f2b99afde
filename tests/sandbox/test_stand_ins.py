"""The demo's downstream systems standing in on loopback: the real connectors, pointed at them
by `adapt`, deliver there exactly once; the webhook receiver checks signatures; the Systems
view links each delivery to its draft; and only the demo or a sandbox.yml that asks starts
them."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys

import pytest

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.config.workspace import default_workspace_path, load_workspace
from app.db.session import Database
from app.errors import DownstreamError
from app.sandbox import SandboxServer, SandboxWorkspace
from app.sandbox.company import seed_for
from app.sandbox.systems.standins import running_stand_ins, wanted
from app.sandbox.systems.view import systems_json
from app.services import build_services
from tests.peers import approved_action
from workflows.registry import create_connectors, validate_config

DRAFT = "7d1c0c3e-5b7e-4a4e-9d7c-1f0e2a3b4c5d"
DEMO = default_workspace_path()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _action(connector: str, params: dict, position: int):
    return approved_action(
        connector, params, draft_id=DRAFT, action_id=f"act-{position}", workflow="customer_reply"
    )


async def _deliver(stand_ins, workspace, connector: str, params: dict, position: int):
    config = validate_config(connector, workspace.rules.connectors[connector], stand_ins.environ)
    return await create_connectors()[connector].execute(
        _action(connector, params, position),
        config=config,
        idempotency_key=f"trellis:{DRAFT}:{position}",
    )


async def test_the_real_connectors_deliver_to_the_stand_ins_once_each():
    demo = load_workspace(DEMO)
    async with running_stand_ins(demo) as stand_ins:
        workspace = stand_ins.adapt(demo)
        hook = workspace.rules.workflows["discount_request"].actions[1].with_["url"]
        assert hook == f"{stand_ins.webhook.url}/hooks/discounts"
        deliveries = [
            ("email", {"to": "purchasing@alpine-co.example", "subject": "Re: SUP-4188"}, 0),
            ("ticketing", {"comment_on": "SUP-4188"}, 1),
            (
                "sql",
                {"table": "discounts", "values": {"customer": "Alpine Co.", "percent": "18"}},
                2,
            ),
            ("webhook", {"url": hook}, 3),
        ]
        for _ in range(2):  # the second round is the outbox retrying after a lost reply
            for connector, params, position in deliveries:
                await _deliver(stand_ins, workspace, connector, params, position)

        received = stand_ins.received()
        assert {slug: len(records) for slug, records in received.items()} == {
            "sql": 1,
            "webhook": 1,
            "email": 2,  # SMTP has no idempotency: the same Message-ID arrives twice
            "ticketing": 1,
        }
        (mail, again) = received["email"]
        assert dict(mail.fields)["Message-ID"] == dict(again.fields)["Message-ID"]
        assert dict(mail.fields)["X-Trellis-Idempotency-Key"] == f"trellis:{DRAFT}:0"
        assert dict(mail.fields)["To"] == "purchasing@alpine-co.example"
        assert "Initech 15% off" in mail.body
        (comment,) = received["ticketing"]
        assert comment.title == "Comment on SUP-4188" and "Initech 15% off" in comment.body
        (row,) = received["sql"]
        assert ("customer", "Alpine Co.") in row.fields and ("percent", "18") in row.fields
        (delivery,) = received["webhook"]
        assert delivery.verified and delivery.key == f"trellis:{DRAFT}:3"
        assert any(name == "Repeated" for name, _ in delivery.fields)

        people = SandboxWorkspace.from_seed(seed_for(demo))
        shown = {s["slug"]: s for s in systems_json(stand_ins, people, [])}
        assert [r["draft"] for s in shown.values() for r in s["records"]] == [DRAFT] * 5
        assert shown["ticketing"]["records"][0]["approval"] is None


async def test_the_start_line_gives_the_crm_database_where_it_really_is():
    async with running_stand_ins(load_workspace(DEMO)) as stand_ins:
        path = stand_ins.crm.path.resolve()
        assert path.is_file()
        assert f"CRM database SQLite {path} (temporary)" in stand_ins.summary()


async def test_the_webhook_receiver_refuses_a_signature_it_cannot_verify():
    demo = load_workspace(DEMO)
    async with running_stand_ins(demo) as stand_ins:
        workspace = stand_ins.adapt(demo)
        raw = workspace.rules.connectors["webhook"]
        wrong = {**stand_ins.environ, raw["secret_env"]: "not-the-generated-secret"}
        config = validate_config("webhook", raw, wrong)
        with pytest.raises(DownstreamError, match="401: the signature does not verify"):
            await create_connectors()["webhook"].execute(
                _action("webhook", {}, 3), config=config, idempotency_key=f"trellis:{DRAFT}:3"
            )
        (refused,) = stand_ins.received()["webhook"]
        assert refused.verified is False
        assert ("Signature", "the signature does not verify") in refused.fields


async def test_a_reloaded_version_still_delivers_to_the_stand_ins(tmp_path):
    demo = load_workspace(DEMO)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    try:
        async with running_stand_ins(demo) as stand_ins:
            services = build_services(
                Settings(database_url=database.url, workspace=demo.root),
                demo,
                database,
                answerer=ExtractiveAnswerer(),
                environ=stand_ins.environ,
                adapt_workspace=stand_ins.adapt,
            )
            assert services.workspace.rules.connectors["email"]["port"] == stand_ins.mail.port
            services.live.switch(
                workspace=load_workspace(DEMO),
                identity=services.identity,
                answerer=services.answerer,
            )
            connectors = services.workspace.rules.connectors
            assert connectors["email"]["port"] == stand_ins.mail.port
            assert connectors["ticketing"]["base_url"] == stand_ins.tickets.url
            secret = services.environ[connectors["webhook"]["secret_env"]]
            assert secret == stand_ins.webhook.secret
            assert services.environ["CRM_DATABASE_URL"] == stand_ins.crm.url
    finally:
        await database.dispose()


def test_only_the_demo_or_a_sandbox_yml_that_asks_gets_stand_ins(tmp_path):
    assert wanted(load_workspace(DEMO))
    copy = tmp_path / "workspace"
    shutil.copytree(DEMO, copy)
    sandbox_yml = copy / "sandbox.yml"
    assert "systems: true" in sandbox_yml.read_text()
    assert wanted(load_workspace(copy))
    sandbox_yml.write_text(sandbox_yml.read_text().replace("systems: true", "systems: false"))
    assert not wanted(load_workspace(copy))


async def test_with_slack_tokens_no_stand_in_starts(tmp_path):
    """`trellis run` against a Slack (the sandbox, reached as Slack is, by tokens and URL)."""
    demo = load_workspace(DEMO)
    async with SandboxServer(SandboxWorkspace.from_seed(seed_for(demo))) as slack:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_APP_TOKEN": slack.app_token,
            "TRELLIS_SLACK_API_URL": slack.api_url,
            "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
            "TRELLIS_HTTP_PORT": str(_free_port()),
            "COLUMNS": "300",
        }
        for name in ("ANTHROPIC_API_KEY", "TRELLIS_WORKSPACE", "TRELLIS_WEBHOOK_SECRET"):
            env.pop(name, None)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        printed = []
        try:
            async with asyncio.timeout(90):
                while line := (await process.stdout.readline()).decode():
                    printed.append(line)
                    if "Ctrl-C stops" in line:
                        break
        finally:
            process.terminate()
            rest = (await process.communicate())[0].decode()
        output = "".join(printed) + rest
        assert "Trellis is running on Slack" in output, output
        assert "Downstream stand-ins" not in output
        assert "TRELLIS_WEBHOOK_SECRET is not set" in output  # nothing stands in for it
