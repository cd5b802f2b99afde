"""The demo company's downstream systems, for `trellis demo`: a CRM database (a SQLite file
with a `discounts` table) and the CRM's webhook receiver on the address rules.yml names.

While the demo runs, the connectors' environment variables point at them (only those
that are not set already), so an approved discount really lands somewhere.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

CRM_TABLE = "CREATE TABLE discounts (id INTEGER PRIMARY KEY, customer TEXT, percent REAL)"
WEBHOOK = "http://127.0.0.1:8089/hooks/discounts"


class Downstream:
    def __init__(self, crm: Path) -> None:
        self.crm = crm
        self.webhook_calls: list[dict[str, Any]] = []
        self.webhook_listening = True
        self._arrived = asyncio.Event()

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.webhook_calls.append(body if isinstance(body, dict) else {"body": body})
        self._arrived.set()
        return web.json_response({"ok": True, "id": f"crm-{len(self.webhook_calls)}"})

    def crm_rows(self) -> list[tuple[str, float]]:
        with sqlite3.connect(self.crm) as connection:
            return list(connection.execute("SELECT customer, percent FROM discounts"))

    async def wait_for_delivery(self, seconds: float) -> str | None:
        """What reached the CRM (its table, then its webhook), or None within `seconds`."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            rows = self.crm_rows()
            if rows:
                customer, percent = rows[-1]
                hooks = (
                    f" and {len(self.webhook_calls)} webhook call(s)" if self.webhook_calls else ""
                )
                return f"a discounts row ({customer}, {percent:g}%){hooks}"
            if self.webhook_calls:
                return f"a webhook call: {self.webhook_calls[-1]}"
            await asyncio.sleep(0.2)
        return None


@asynccontextmanager
async def running_downstream(folder: Path, *, webhook: str = WEBHOOK) -> AsyncIterator[Downstream]:
    crm = folder / "crm.db"
    with sqlite3.connect(crm) as connection:
        connection.execute(CRM_TABLE)
    downstream = Downstream(crm)
    address = urlparse(webhook)
    app = web.Application()
    app.router.add_post(address.path, downstream.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, address.hostname, address.port).start()
    except OSError:  # the port is taken: the story reports what did or did not arrive
        downstream.webhook_listening = False
    try:
        with _environment(
            {
                "CRM_DATABASE_URL": f"sqlite+aiosqlite:///{crm}",
                "TRELLIS_WEBHOOK_SECRET": "trellis-demo-webhook-secret",
            }
        ):
            yield downstream
    finally:
        await runner.cleanup()


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    added = [name for name in values if not os.environ.get(name)]
    for name in added:
        os.environ[name] = values[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
