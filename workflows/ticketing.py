"""Ticketing: create a Jira Cloud issue, or comment on one (REST API v3).

Jira has no idempotency header, so every delivery carries a marker derived from the key:
the label `trellis-<hash>` on an issue, the same token in the text of a comment. Before
creating, the connector looks for the marker (a JQL search for the label, or the issue's
comments) and returns what it finds instead of creating a second one.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import aiohttp
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from app.errors import ConnectorConfigError, DownstreamUnavailable
from workflows.base import (
    ActionResult,
    ApprovedAction,
    ConnectorConfig,
    error_for_status,
    parse_params,
    require_config,
    short_hash,
)

SYSTEM = "Jira"
SUMMARY_LIMIT = 255
COMMENTS_PAGE = 100


class JiraConfig(ConnectorConfig):
    connector: ClassVar[str] = "ticketing"

    base_url: AnyHttpUrl
    project: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,49}$")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    token_env: str
    issue_type: str = "Task"
    timeout: float = Field(15.0, gt=0)


class JiraParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str | None = None
    description: str | None = None
    labels: list[str] = []
    comment_on: str | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]*-[1-9][0-9]*$")

    @field_validator("labels", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("labels")
    @classmethod
    def _no_spaces(cls, value: list[str]) -> list[str]:
        for label in value:
            if not label or re.search(r"\s", label) or len(label) > 255:
                raise ValueError(f"Jira labels cannot be empty or contain spaces: {label!r}")
        return value


def marker_for(idempotency_key: str) -> str:
    return f"trellis-{short_hash(idempotency_key)}"


def adf_document(text: str, *, footer: str | None = None) -> dict[str, Any]:
    """Plain text as an Atlassian Document: blank lines split paragraphs, newlines break."""
    content: list[dict[str, Any]] = []
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    for block in re.split(r"\n(?:[ \t]*\n)+", normalized):
        block = block.strip("\n")
        if not block.strip():
            continue
        nodes: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    if footer:
        content.append(
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": footer, "marks": [{"type": "em"}]}],
            }
        )
    if not content:
        content.append({"type": "paragraph", "content": []})
    return {"type": "doc", "version": 1, "content": content}


def adf_text(node: Any) -> str:
    """All the text in an Atlassian Document, for looking up markers."""
    return "".join(_texts(node))


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "text" and isinstance(node.get("text"), str):
            yield node["text"]
        elif node.get("type") in ("hardBreak", "paragraph"):
            yield "\n"
        yield from _texts(node.get("content"))
    elif isinstance(node, list):
        for child in node:
            yield from _texts(child)
    elif isinstance(node, str):
        yield node


def _jira_problem(body: Any) -> str:
    """Jira's error shape: {"errorMessages": [...], "errors": {"field": "message"}}."""
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors") or {}
    if isinstance(errors, dict):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    return "; ".join(parts)


class TicketingConnector:
    slug = "ticketing"
    Config = JiraConfig
    Params = JiraParams

    def __init__(self, *, session: aiohttp.ClientSession | None = None) -> None:
        self._session = session

    async def execute(
        self, approved: ApprovedAction, *, config: BaseModel, idempotency_key: str
    ) -> ActionResult:
        settings = require_config(JiraConfig, config)
        params = parse_params(JiraParams, approved)
        token = settings.secret("token_env")
        marker = marker_for(idempotency_key)
        if self._session is not None:
            return await _deliver(_Jira(settings, token, self._session), approved, params, marker)
        async with aiohttp.ClientSession() as session:
            return await _deliver(_Jira(settings, token, session), approved, params, marker)


async def _deliver(
    jira: _Jira, approved: ApprovedAction, params: JiraParams, marker: str
) -> ActionResult:
    text = params.description if params.description is not None else approved.text
    if params.comment_on:
        issue_key = params.comment_on
        comment_id = await jira.find_comment(issue_key, marker)
        if comment_id is None:
            body = {"body": adf_document(text, footer=f"Trellis delivery {marker}")}
            created = await jira.call("POST", f"/issue/{issue_key}/comment", body=body)
            comment_id = str(created.get("id", ""))
        return ActionResult(
            reference=issue_key,
            summary=f"Commented on {issue_key} in Jira (comment {comment_id})",
            url=f"{jira.browse(issue_key)}?focusedCommentId={comment_id}",
        )

    key = await jira.find_issue(marker)
    if key is None:
        summary = " ".join((params.summary or approved.title).split())[:SUMMARY_LIMIT]
        fields = {
            "project": {"key": jira.settings.project},
            "summary": summary,
            "issuetype": {"name": jira.settings.issue_type},
            "description": adf_document(text),
            "labels": [*dict.fromkeys(params.labels), marker],
        }
        created = await jira.call("POST", "/issue", body={"fields": fields})
        key = created.get("key")
        if not isinstance(key, str) or not key:
            raise DownstreamUnavailable(
                "Jira did not say which issue it created; Trellis will check and try again.",
                detail=repr(created),
            )
    return ActionResult(reference=key, summary=f"Created {key} in Jira", url=jira.browse(key))


class _Jira:
    """The few Jira Cloud REST v3 calls the connector needs."""

    def __init__(self, settings: JiraConfig, token: str, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session
        self.base = str(settings.base_url).rstrip("/")
        credentials = base64.b64encode(f"{settings.email}:{token}".encode()).decode()
        self.headers = {"Accept": "application/json", "Authorization": f"Basic {credentials}"}

    def browse(self, key: str) -> str:
        return f"{self.base}/browse/{key}"

    async def find_issue(self, marker: str) -> str | None:
        jql = f'project = "{self.settings.project}" AND labels = "{marker}"'
        found = await self.call(
            "POST",
            "/search/jql",
            body={"jql": jql, "fields": ["summary", "labels"], "maxResults": 1},
        )
        for issue in found.get("issues") or []:
            if isinstance(issue, dict) and issue.get("key"):
                return str(issue["key"])
        return None

    async def find_comment(self, key: str, marker: str) -> str | None:
        start = 0
        while True:
            page = await self.call(
                "GET",
                f"/issue/{key}/comment",
                query={"startAt": str(start), "maxResults": str(COMMENTS_PAGE)},
            )
            comments = page.get("comments") or []
            for comment in comments:
                if marker in adf_text(comment.get("body")):
                    return str(comment.get("id", ""))
            start += len(comments)
            if not comments or start >= int(page.get("total") or 0):
                return None

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        url = f"{self.base}/rest/api/3{path}"
        timeout = self.settings.timeout
        try:
            async with self.session.request(
                method,
                url,
                json=body,
                params=query,
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as response:
                text = await response.text(errors="replace")
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError as exc:
            raise DownstreamUnavailable(
                f"Jira did not answer within {timeout:g}s; Trellis will try again.",
                detail=f"{method} {url}: {exc!r}",
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise ConnectorConfigError(f"The Jira address {self.base} is not valid.") from exc
        except aiohttp.ClientError as exc:
            raise DownstreamUnavailable(
                f"Jira could not be reached ({type(exc).__name__}); Trellis will try again.",
                detail=f"{method} {url}: {exc!r}",
            ) from exc

        try:
            reply = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            reply = {}
        if status == 404 and path.startswith("/issue/"):
            key = path.split("/")[2]
            raise ConnectorConfigError(
                f"Jira has no issue {key}, or the Trellis account cannot see it.",
                detail=f"{method} {url}: 404 {text[:200]}",
            )
        if status >= 300:
            raise error_for_status(
                SYSTEM, status, retry_after=retry_after, problem=_jira_problem(reply)
            )
        if not isinstance(reply, dict):
            raise DownstreamUnavailable(
                "Jira sent an answer Trellis could not read; Trellis will try again.",
                detail=f"{method} {url}: {text[:200]}",
            )
        return reply
