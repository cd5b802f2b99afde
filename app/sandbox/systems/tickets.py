"""A ticket system that speaks the part of Jira Cloud's REST API v3 Trellis uses.

    POST     /rest/api/3/issue                 create an issue (ADF description, labels)
    GET|POST /rest/api/3/issue/{key}/comment   a page of comments | add one (ADF body)
    GET|POST /rest/api/3/search/jql            `project = "X" AND labels = "Y"`

Every call needs Basic auth with the connector's email and token. Any issue key of the form
PROJECT-123 exists (the demo's customer tickets are not created first); comments and
created issues are kept for the Systems view.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from app.sandbox.systems.base import HttpStandIn, Received
from workflows.ticketing import adf_text

API = "/rest/api/3"
ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-[1-9][0-9]*$")
MARKER = re.compile(r"trellis-[0-9a-f]{16}")
CLAUSE = re.compile(r'^\s*(project|labels|key)\s*=\s*"?([^"]*)"?\s*$', re.IGNORECASE)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _errors(status: int, *messages: str) -> web.Response:
    return web.json_response({"errorMessages": list(messages), "errors": {}}, status=status)


class TicketStandIn(HttpStandIn):
    def __init__(
        self, *, email: str, token: str, project: str, changed: Callable[[], None]
    ) -> None:
        super().__init__(changed)
        self.email = email
        self.token = token
        self.project = project
        self.issues: dict[str, dict[str, Any]] = {}
        self.received: list[Received] = []
        self._next_id = 10000

    def routes(self, app: web.Application) -> None:
        app.middlewares.append(self._authenticate)
        app.router.add_post(f"{API}/issue", self.create_issue)
        app.router.add_get(f"{API}/issue/{{key}}/comment", self.comments)
        app.router.add_post(f"{API}/issue/{{key}}/comment", self.add_comment)
        app.router.add_route("*", f"{API}/search/jql", self.search)

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            login, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            login = token = ""
        if scheme != "Basic" or (login, token) != (self.email, self.token):
            return _errors(401, "Client must be authenticated to access this resource.")
        return await handler(request)

    def _issue(self, key: str, fields: dict[str, Any] | None = None) -> dict[str, Any] | None:
        if key not in self.issues:
            if not ISSUE_KEY.match(key):
                return None
            self._next_id += 1
            self.issues[key] = {
                "id": str(self._next_id),
                "key": key,
                "fields": fields or {"summary": key, "labels": []},
                "comments": [],
            }
        return self.issues[key]

    async def create_issue(self, request: web.Request) -> web.Response:
        body = await _json(request)
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict) or not str(fields.get("summary") or "").strip():
            return _errors(400, "fields.summary is required.")
        project = str((fields.get("project") or {}).get("key") or self.project)
        number = 1 + sum(1 for key in self.issues if key.startswith(f"{project}-"))
        key = f"{project}-{number}"
        while key in self.issues:
            number += 1
            key = f"{project}-{number}"
        issue = self._issue(key, fields)
        assert issue is not None
        labels = [str(label) for label in fields.get("labels") or []]
        self.received.append(
            Received(
                system="ticketing",
                id=key,
                title=f"Created {key}: {fields['summary']}",
                fields=[("Issue", key), ("Labels", ", ".join(labels) or "(none)")],
                body=adf_text(fields.get("description")).strip(),
                marker=next((label for label in labels if MARKER.fullmatch(label)), None),
            )
        )
        self.changed()
        return web.json_response(
            {"id": issue["id"], "key": key, "self": f"{self.url}{API}/issue/{issue['id']}"},
            status=201,
        )

    async def comments(self, request: web.Request) -> web.Response:
        issue = self._issue(request.match_info["key"])
        if issue is None:
            return _errors(404, "Issue does not exist or you do not have permission to see it.")
        start = int(request.query.get("startAt", "0"))
        size = min(int(request.query.get("maxResults", "50")), 100)
        page = issue["comments"][start : start + size]
        return web.json_response(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(issue["comments"]),
                "comments": page,
            }
        )

    async def add_comment(self, request: web.Request) -> web.Response:
        issue = self._issue(request.match_info["key"])
        if issue is None:
            return _errors(404, "Issue does not exist or you do not have permission to see it.")
        body = await _json(request)
        document = body.get("body") if isinstance(body, dict) else None
        if not isinstance(document, dict) or document.get("type") != "doc":
            return _errors(400, "Comment body must be an Atlassian Document.")
        self._next_id += 1
        comment_id = str(self._next_id)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        comment: dict[str, Any] = {
            "id": comment_id,
            "author": {"emailAddress": self.email, "displayName": "Trellis"},
            "body": document,
            "created": now,
        }
        issue["comments"].append(comment)
        text = adf_text(document).strip()
        marker = MARKER.search(text)
        self.received.append(
            Received(
                system="ticketing",
                id=f"{issue['key']}#{comment_id}",
                title=f"Comment on {issue['key']}",
                fields=[
                    ("Issue", issue["key"]),
                    ("Comment", comment_id),
                    ("Author", f"Trellis <{self.email}>"),
                    ("Created", now),
                ],
                body=text,
                marker=marker.group(0) if marker else None,
            )
        )
        self.changed()
        return web.json_response(comment, status=201)

    async def search(self, request: web.Request) -> web.Response:
        body = await _json(request) if request.method == "POST" else dict(request.query)
        jql = str((body or {}).get("jql") or "") if isinstance(body, dict) else ""
        clauses = []
        for part in re.split(r"\s+AND\s+", jql.strip(), flags=re.IGNORECASE):
            match = CLAUSE.match(part)
            if not match:
                return _errors(400, f"Error in the JQL Query: cannot parse {part!r}")
            clauses.append((match.group(1).lower(), match.group(2)))
        found = [
            {"id": issue["id"], "key": issue["key"]}
            for issue in self.issues.values()
            if all(_holds(issue, name, value) for name, value in clauses)
        ]
        return web.json_response({"issues": found, "isLast": True})


def _holds(issue: dict[str, Any], name: str, value: str) -> bool:
    if name == "key":
        return bool(issue["key"] == value)
    if name == "project":
        return bool(issue["key"].startswith(f"{value}-"))
    return value in (issue["fields"].get("labels") or [])


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None
