"""Sharing a file the way Slack does (files_upload_v2: get an upload URL, upload, complete),
with slack_sdk's real AsyncWebClient against the sandbox over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.sandbox import SandboxServer
from tests.sandbox_helpers import GENERAL, running_sandbox, sandbox_client

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with running_sandbox() as server:
        yield server


@pytest.fixture
def client(server: SandboxServer) -> AsyncWebClient:
    return sandbox_client(server)


async def test_files_upload_v2_shares_the_file_in_a_thread_with_its_bytes(server, client):
    parent = await client.chat_postMessage(channel=GENERAL, text="Weekly digest")
    shared = await client.files_upload_v2(
        channel=GENERAL,
        thread_ts=parent["ts"],
        content=PNG,
        filename="charts.png",
        title="This week's charts",
        alt_txt="Answer rate by week",
    )
    assert shared["file"]["title"] == "This week's charts"
    methods = [c.method for c in server.workspace.calls]
    assert methods[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]

    reply = server.workspace.messages[GENERAL][-1]
    assert reply.thread_ts == parent["ts"]
    (file,) = reply.files or []
    assert file["mimetype"] == "image/png" and file["alt_txt"] == "Answer rate by week"
    async with aiohttp.ClientSession() as session, session.get(file["url_private"]) as got:
        assert got.status == 200 and await got.read() == PNG

    replies = await client.conversations_replies(channel=GENERAL, ts=parent["ts"])
    assert replies["messages"][-1]["files"][0]["id"] == shared["file"]["id"]


async def test_completing_an_upload_that_never_arrived_is_refused(client):
    reserved = await client.files_getUploadURLExternal(filename="a.png", length=10)
    with pytest.raises(SlackApiError) as refused:
        await client.files_completeUploadExternal(
            files=[{"id": reserved["file_id"], "title": "a"}], channel_id=GENERAL
        )
    assert refused.value.response["error"] == "file_not_found"


async def test_an_upload_of_another_length_than_announced_is_refused(client):
    reserved = await client.files_getUploadURLExternal(filename="a.png", length=10)
    async with (
        aiohttp.ClientSession() as session,
        session.post(reserved["upload_url"], data=b"short") as sent,
    ):
        assert sent.status == 400
    with pytest.raises(SlackApiError) as refused:
        await client.files_getUploadURLExternal(filename="", length=10)
    assert refused.value.response["error"] == "invalid_arguments"
