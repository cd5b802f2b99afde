"""files.getUploadURLExternal, the upload URL, and files.completeUploadExternal: how Slack
shares a file (what slack_sdk's `files_upload_v2` does), with the bytes kept so the
browser view can show them.

1. `files.getUploadURLExternal` (filename, length) reserves a file id and answers an
   `upload_url` on this server;
2. the client POSTs the file's bytes there (the length must match what it announced);
3. `files.completeUploadExternal` (files=[{id, title}], channel_id, thread_ts,
   initial_comment) shares the uploaded files as one message in the channel or thread.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from app.sandbox.lookups import Method
from app.sandbox.state import SandboxWorkspace, SlackError

MAX_BYTES = 1024 * 1024 * 1024
"""Slack's limit for one file (1 GB)."""


@dataclass
class SandboxFile:
    id: str
    name: str
    length: int
    user: str
    alt_txt: str | None = None
    title: str | None = None
    data: bytes | None = None

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


class Files:
    """The files of one sandbox workspace, by id."""

    def __init__(self, ws: SandboxWorkspace, base_url: Callable[[], str]) -> None:
        self.ws = ws
        self.base_url = base_url
        self.files: dict[str, SandboxFile] = {}

    @property
    def methods(self) -> dict[str, Method]:
        return {
            "files.getUploadURLExternal": self.get_upload_url,
            "files.completeUploadExternal": self.complete,
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/upload/v1/{file_id}", self.receive)
        app.router.add_get("/files/{file_id}", self.download)

    async def get_upload_url(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("filename") or "").strip()
        try:
            length = int(params.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not name or not 0 < length <= MAX_BYTES:
            raise SlackError("invalid_arguments")
        file = SandboxFile(
            id=ws.new_id("F"),
            name=name,
            length=length,
            user=ws.bot.user_id,
            alt_txt=params.get("alt_txt") or None,
        )
        self.files[file.id] = file
        return {"upload_url": f"{self.base_url()}upload/v1/{file.id}", "file_id": file.id}

    async def receive(self, request: web.Request) -> web.Response:
        """The upload URL: the bytes of a reserved file, exactly as long as announced."""
        file = self.files.get(request.match_info["file_id"])
        if file is None or file.data is not None:
            return web.Response(status=404, text="upload_not_found")
        data = await request.read()
        if len(data) != file.length:
            return web.Response(status=400, text="length_mismatch")
        file.data = data
        return web.Response(text=f"OK - {len(data)}")

    async def download(self, request: web.Request) -> web.Response:
        file = self.files.get(request.match_info["file_id"])
        if file is None or file.data is None:
            raise web.HTTPNotFound()
        return web.Response(body=file.data, content_type=file.mimetype)

    async def complete(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        listed = params.get("files")
        if isinstance(listed, str):  # form-encoded requests carry it as JSON text
            try:
                listed = json.loads(listed)
            except ValueError:
                listed = None
        if not isinstance(listed, list) or not listed:
            raise SlackError("invalid_arguments")
        chosen = []
        for entry in listed:
            file = self.files.get(str((entry or {}).get("id") or ""))
            if file is None or file.data is None:
                raise SlackError("file_not_found")
            file.title = (entry or {}).get("title") or file.name
            chosen.append(file)
        channel = params.get("channel_id")
        if channel:
            if channel not in ws.conversations:
                raise SlackError("channel_not_found")
            ws.post(
                channel,
                user=ws.bot.user_id,
                text=params.get("initial_comment") or "",
                thread_ts=params.get("thread_ts") or None,
                files=[self.file_json(f) for f in chosen],
            )
        return {"files": [{"id": f.id, "title": f.title} for f in chosen]}

    def file_json(self, file: SandboxFile) -> dict[str, Any]:
        return {
            "id": file.id,
            "name": file.name,
            "title": file.title or file.name,
            "mimetype": file.mimetype,
            "size": file.length,
            "user": file.user,
            "url_private": f"{self.base_url()}files/{file.id}",
            **({"alt_txt": file.alt_txt} if file.alt_txt else {}),
        }
