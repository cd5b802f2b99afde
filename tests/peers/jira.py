"""A Jira Cloud stand-in speaking the REST API v3 subset Trellis uses.

    POST /rest/api/3/issue                     create (fields.project.key, summary,
                                               issuetype.name, description as ADF, labels)
    GET  /rest/api/3/issue/{key}
    GET  /rest/api/3/issue/{key}/comment       PageOfComments (startAt, maxResults, total)
    POST /rest/api/3/issue/{key}/comment       {"body": ADF}
    GET|POST /rest/api/3/search/jql            `field = value [AND …]` over project, labels, key

Every call needs Basic auth with the configured email and API token. Errors use Jira's
shape, {"errorMessages": [...], "errors": {"field": "message"}}.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.peers import HttpPeer

API = "/rest/api/3"
_CLAUSE = re.compile(r'^\s*(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([\w.@-]+))\s*$')


def _errors(status: int, messages: list[str] | None = None, **fields: str) -> web.Response:
    return web.json_response({"errorMessages": messages or [], "errors": fields}, status=status)


def _is_adf(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )


def adf_plain_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "hardBreak":
            return "\n"
        inner = adf_plain_text(node.get("content", []))
        return inner + "\n\n" if node.get("type") == "paragraph" else inner
    if isinstance(node, list):
        return "".join(adf_plain_text(child) for child in node)
    return ""


@dataclass
class Issue:
    id: str
    key: str
    fields: dict[str, Any]
    comments: list[dict[str, Any]] = field(default_factory=list)


class JiraPeer(HttpPeer):
    def __init__(
        self,
        *,
        email: str = "trellis@acme.example",
        token: str = "jira-token",
        projects: tuple[str, ...] = ("SUP",),
        issue_types: tuple[str, ...] = ("Task", "Bug", "Story"),
    ) -> None:
        super().__init__()
        self.email = email
        self.token = token
        self.projects = projects
        self.issue_types = issue_types
        self.issues: dict[str, Issue] = {}
        self.requests: list[tuple[str, str]] = []
        self._next_id = 10000
        self._counters: dict[str, int] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_post(f"{API}/issue", self._create_issue)
        app.router.add_get(f"{API}/issue/{{key}}", self._get_issue)
        app.router.add_get(f"{API}/issue/{{key}}/comment", self._get_comments)
        app.router.add_post(f"{API}/issue/{{key}}/comment", self._add_comment)
        app.router.add_get(f"{API}/search/jql", self._search)
        app.router.add_post(f"{API}/search/jql", self._search)

    def middlewares(self) -> list[web.middleware]:
        return [self._authenticate]

    @property
    def comments(self) -> list[dict[str, Any]]:
        return [c for issue in self.issues.values() for c in issue.comments]

    def add_issue(self, project: str, summary: str, labels: list[str] | None = None) -> Issue:
        """An issue that exists before the test, e.g. one to comment on."""
        return self._store(
            {
                "project": {"key": project},
                "summary": summary,
                "issuetype": {"name": self.issue_types[0]},
                "labels": labels or [],
            }
        )

    def _store(self, fields: dict[str, Any]) -> Issue:
        project = fields["project"]["key"]
        self._counters[project] = self._counters.get(project, 0) + 1
        self._next_id += 1
        issue = Issue(
            id=str(self._next_id), key=f"{project}-{self._counters[project]}", fields=fields
        )
        self.issues[issue.key] = issue
        return issue

    def _issue_json(self, issue: Issue, wanted: list[str] | None = None) -> dict[str, Any]:
        fields = (
            issue.fields
            if wanted is None
            else {name: issue.fields.get(name) for name in wanted if name in issue.fields}
        )
        return {
            "id": issue.id,
            "key": issue.key,
            "self": f"{self.url}{API}/issue/{issue.id}",
            "fields": fields,
        }

    @web.middleware
    async def _authenticate(self, request: web.Request, handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            login = password = ""
        if scheme != "Basic" or (login, password) != (self.email, self.token):
            return _errors(401, ["Client must be authenticated to access this resource."])
        return await handler(request)

    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    async def _create_issue(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            return _errors(400, ["Unexpected request body: fields is required."])
        fields = body["fields"]
        problems: dict[str, str] = {}
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            problems["project"] = "Specify a valid project ID or key"
        issue_type = (fields.get("issuetype") or {}).get("name")
        if not issue_type:
            problems["issuetype"] = "Specify an issue type"
        elif issue_type not in self.issue_types:
            problems["issuetype"] = "Specify a valid issue type"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            problems["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255 or "\n" in summary:
            problems["summary"] = "Summary must be less than 255 characters and one line."
        if "description" in fields and not _is_adf(fields["description"]):
            problems["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            problems["labels"] = "Labels must be a list of strings."
        else:
            for label in labels:
                if not label or re.search(r"\s", label):
                    problems["labels"] = f"The label '{label}' contains spaces which is invalid."
        if problems:
            return _errors(400, **problems)
        issue = self._store(fields)
        return web.json_response(
            {"id": issue.id, "key": issue.key, "self": f"{self.url}{API}/issue/{issue.id}"},
            status=201,
        )

    def _find(self, request: web.Request) -> Issue | None:
        key = request.match_info["key"]
        return self.issues.get(key) or next((i for i in self.issues.values() if i.id == key), None)

    async def _get_issue(self, request: web.Request) -> web.Response:
        issue = self._find(request)
        if issue is None:
            return _errors(404, ["Issue does not exist or you do not have permission to see it."])
        return web.json_response(self._issue_json(issue))

    async def _get_comments(self, request: web.Request) -> web.Response:
        issue = self._find(request)
        if issue is None:
            return _errors(404, ["Issue does not exist or you do not have permission to see it."])
        start = int(request.query.get("startAt", "0"))
        size = min(int(request.query.get("maxResults", "50")), 100)
        page = issue.comments[start : start + size]
        return web.json_response(
            {"startAt": start, "maxResults": size, "total": len(issue.comments), "comments": page}
        )

    async def _add_comment(self, request: web.Request) -> web.Response:
        issue = self._find(request)
        if issue is None:
            return _errors(404, ["Issue does not exist or you do not have permission to see it."])
        body = await self._json(request)
        if not isinstance(body, dict) or not _is_adf(body.get("body")):
            return _errors(400, comment="Comment body can not be empty!")
        self._next_id += 1
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        comment = {
            "id": str(self._next_id),
            "self": f"{self.url}{API}/issue/{issue.id}/comment/{self._next_id}",
            "author": {"emailAddress": self.email, "displayName": "Trellis"},
            "body": body["body"],
            "created": now,
            "updated": now,
        }
        issue.comments.append(comment)
        return web.json_response(comment, status=201)

    async def _search(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await self._json(request)
            if not isinstance(body, dict):
                return _errors(400, ["Invalid request payload."])
            jql = body.get("jql", "")
            wanted = body.get("fields")
            limit = int(body.get("maxResults", 50))
            token = body.get("nextPageToken")
        else:
            jql = request.query.get("jql", "")
            wanted = request.query["fields"].split(",") if "fields" in request.query else None
            limit = int(request.query.get("maxResults", "50"))
            token = request.query.get("nextPageToken")
        try:
            clauses = _parse_jql(jql)
        except ValueError as exc:
            return _errors(400, [f"Error in the JQL Query: {exc}"])
        found = [i for i in self.issues.values() if all(_holds(i, c) for c in clauses)]
        start = int(token or 0)
        page = found[start : start + limit]
        more = start + limit < len(found)
        reply: dict[str, Any] = {
            # As the enhanced search does: without `fields`, only the issue ids come back.
            "issues": [
                self._issue_json(i, wanted) if wanted is not None else {"id": i.id} for i in page
            ],
            "isLast": not more,
        }
        if more:
            reply["nextPageToken"] = str(start + limit)
        return web.json_response(reply)


def _parse_jql(jql: str) -> list[tuple[str, str]]:
    if not jql.strip():
        raise ValueError("unbounded queries are not allowed")
    clauses = []
    for part in re.split(r"\s+AND\s+", jql.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if not match:
            raise ValueError(f"cannot parse {part!r}")
        name, quoted, bare = match.groups()
        if name.lower() not in ("project", "labels", "key"):
            raise ValueError(f"field {name!r} is not supported here")
        value = quoted.replace('\\"', '"') if quoted is not None else bare
        clauses.append((name.lower(), value))
    return clauses


def _holds(issue: Issue, clause: tuple[str, str]) -> bool:
    name, value = clause
    if name == "project":
        return issue.fields["project"]["key"] == value
    if name == "key":
        return issue.key == value
    return value in issue.fields.get("labels", [])
