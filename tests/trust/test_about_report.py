"""`trellis about --html`: one self-contained file whose charts render in a browser; and the
weekly digest's charts, uploaded to Slack with files_upload_v2."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from app.slack_api import SlackGateway, retrying_client
from app.trust.about import about_for
from app.trust.about_charts import SPECS
from app.trust.about_report import about_html
from app.trust.digest import share_charts
from tests.browser_helpers import ARTIFACTS, chromium
from tests.trust.test_about import NOW, ROSA, SAM, _asked, demo_copy, services_for

PNG = b"\x89PNG\r\n\x1a\n"


async def measured_services(tmp_path, database, **options):
    services = await services_for(demo_copy(tmp_path), database, **options)
    await _asked(services, SAM, "How many days of paid time off do full-time employees get?")
    await _asked(services, SAM, "What is the parental leave policy in Brazil?")
    return services


@pytest.mark.browser
async def test_the_html_report_opens_offline_in_chromium_with_every_chart_drawn(
    tmp_path, sqlite_database
):
    services = await measured_services(tmp_path, sqlite_database)
    about = await about_for(services, None)
    report = tmp_path / "about.html"
    report.write_text(about_html(about), encoding="utf-8")
    text = report.read_text(encoding="utf-8")
    assert "src=" not in text and "<link" not in text and "<script" not in text

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(report.as_uri())
        await page.wait_for_load_state("load")
        charts = page.locator("figure svg[data-chart]")
        assert await charts.count() == len(SPECS)
        for i in range(len(SPECS)):
            box = await charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 120
        answer_rate = page.locator('svg[data-chart="answer_rate"]')
        assert "Answer rate per week" in await answer_rate.inner_html()
        assert "no data yet" not in await answer_rate.inner_html()
        assert await answer_rate.locator("path").count() > 5
        assert await page.locator("section.answer").count() == 8
        assert await page.locator("#weeks tr").count() == 1 + len(about.facts.measures.weeks)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "about-report.png"), full_page=True)
    assert errors == []
    assert all(url.startswith(("file:", "data:", "about:")) for url in requests), requests


@dataclass
class FakeFiles:
    """Slack's three steps of files_upload_v2, on loopback."""

    uploads: dict[str, bytes] = field(default_factory=dict)
    completed: list[dict[str, str]] = field(default_factory=list)
    base: str = ""

    async def get_url(self, request: web.Request) -> web.Response:
        params = {**request.query, **(await request.post())}
        file_id = f"F{len(self.uploads) + 1:04d}"
        self.uploads[file_id] = b""
        assert int(str(params["length"])) > 0 and str(params["filename"]).endswith(".png")
        return web.json_response(
            {"ok": True, "file_id": file_id, "upload_url": f"{self.base}upload/{file_id}"}
        )

    async def upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK")

    async def complete(self, request: web.Request) -> web.Response:
        params = {k: str(v) for k, v in {**request.query, **(await request.post())}.items()}
        self.completed.append(params)
        files = json.loads(params["files"])
        return web.json_response({"ok": True, "files": [{"id": f["id"]} for f in files]})


@asynccontextmanager
async def fake_slack_files() -> AsyncIterator[FakeFiles]:
    fake = FakeFiles()
    app = web.Application()
    app.router.add_post("/api/files.getUploadURLExternal", fake.get_url)
    app.router.add_post("/api/files.completeUploadExternal", fake.complete)
    app.router.add_post("/upload/{file_id}", fake.upload)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base = f"http://127.0.0.1:{port}/"
    try:
        yield fake
    finally:
        await runner.cleanup()


async def test_the_digest_shares_the_charts_as_one_image_in_its_thread(tmp_path, sqlite_database):
    async with fake_slack_files() as fake:
        client = retrying_client("xoxb-test", base_url=f"{fake.base}api/")
        services = await measured_services(tmp_path, sqlite_database, slack=SlackGateway(client))
        file_id = await share_charts(
            services, channel="C0OWNERS1", thread_ts="1778600000.000100", now=NOW
        )
    assert file_id == "F0001"
    image = fake.uploads["F0001"]
    assert image.startswith(PNG) and len(image) > 20_000
    (completed,) = fake.completed
    assert completed["channel_id"] == "C0OWNERS1"
    assert completed["thread_ts"] == "1778600000.000100"
    assert "Trellis week by week" in completed["files"]


async def test_without_slack_the_digest_shares_nothing_and_does_not_fail(tmp_path, sqlite_database):
    services = await measured_services(tmp_path, sqlite_database)
    assert await share_charts(services, channel="C0OWNERS1", thread_ts=None, now=NOW) is None
    rosa = services.workspace.directory.by_email(ROSA)
    assert (await about_for(services, rosa)).facts.measures.weeks[-1].questions == 2
