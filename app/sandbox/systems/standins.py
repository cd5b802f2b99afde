"""The four downstream systems standing in locally, and the connectors pointed at them.

`StandIns` starts a mail server, a Jira-compatible ticket system, the CRM database and a
webhook receiver on free loopback ports, with secrets generated for this run. `adapt`
returns a workspace whose `connectors:` (and whose webhook actions' urls) point at them, and
`environ` holds the generated secrets under the variable names rules.yml gives; the
composition root passes both to the services, so the connectors deliver here and nowhere
else. Everything received is kept for the browser's Systems view.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections import ChainMap
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from app.config.workspace import Workspace, default_workspace_path
from app.rules.rulebook import RuleBook
from app.rules.schema import RulesConfig, Workflow
from app.sandbox.systems.base import HOST, NAMES, Received
from app.sandbox.systems.crm import CrmStandIn, tables_for
from app.sandbox.systems.mail import MailStandIn
from app.sandbox.systems.tickets import TicketStandIn
from app.sandbox.systems.webhook import WebhookStandIn

if TYPE_CHECKING:
    from app.sandbox.server import SandboxServer

SENDER = "trellis@sandbox.example"
DEFAULT_HOOK = "/hooks/trellis"
POLL_SECONDS = 0.5
SECRET_SETTINGS = {
    "webhook": ("secret_env", "TRELLIS_WEBHOOK_SECRET"),
    "ticketing": ("token_env", "TRELLIS_TICKETING_TOKEN"),
    "sql": ("url_env", "CRM_DATABASE_URL"),
}


def wanted(workspace: Workspace) -> bool:
    """The bundled demo, or a workspace whose sandbox.yml says `systems: true`."""
    return wants_systems(workspace.root, workspace.sandbox)


def wants_systems(root: Path, sandbox: Any) -> bool:
    """`wanted`, for a workspace folder and its sandbox.yml as read."""
    if root.resolve() == default_workspace_path().resolve():
        return True
    return bool((sandbox or {}).get("systems") is True)


def generated_secrets(rules: RulesConfig) -> set[str]:
    """The environment variables the stand-ins set for the connectors (`_secret`)."""
    return {
        str((rules.connectors.get(slug) or {}).get(setting) or default)
        for slug, (setting, default) in SECRET_SETTINGS.items()
    }


class StandIns:
    def __init__(self, rules: RulesConfig, folder: Path) -> None:
        raw = rules.connectors
        self.mail = MailStandIn(changed=self._changed)
        self.tickets = TicketStandIn(
            email=str(raw.get("ticketing", {}).get("email") or SENDER),
            token=secrets.token_urlsafe(24),
            project=str(raw.get("ticketing", {}).get("project") or "TRELLIS"),
            changed=self._changed,
        )
        self.crm = CrmStandIn(folder / "crm.db", tables_for(rules))
        self.webhook = WebhookStandIn(secret=secrets.token_urlsafe(32), changed=self._changed)
        self.secrets: dict[str, str] = {}
        self.environ: Mapping[str, str] = ChainMap(self.secrets, dict(os.environ))
        """The process's environment with the generated secrets on top; what the
        connectors read their `*_env` settings from."""
        self._listeners: list[Callable[[], None]] = []
        self._poll: asyncio.Task[None] | None = None

    # -- running ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.crm.create()
        await self.mail.start()
        await self.tickets.start()
        await self.webhook.start()
        self._poll = asyncio.create_task(self._watch_crm(), name="sandbox-crm-watch")

    async def stop(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
        await self.webhook.stop()
        await self.tickets.stop()
        await self.mail.stop()

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    async def _watch_crm(self) -> None:
        """The connector writes to the CRM file directly; a new row is noticed here."""
        seen = self.crm.signature()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            current = await asyncio.to_thread(self.crm.signature)
            if current != seen:
                seen = current
                self._changed()

    # -- where the connectors deliver -----------------------------------------------------------

    def adapt(self, workspace: Workspace) -> Workspace:
        """`workspace` with its connectors pointed at the stand-ins (every version that goes
        live passes through here, so a reload keeps delivering to them)."""
        rules = workspace.rules
        connectors: dict[str, dict[str, Any]] = {**rules.connectors}
        for slug, point in (
            ("email", self._email),
            ("ticketing", self._ticketing),
            ("sql", self._sql),
            ("webhook", self._webhook),
        ):
            connectors[slug] = point(dict(rules.connectors.get(slug) or {}))
        workflows = {slug: self._redirect(wf) for slug, wf in rules.workflows.items()}
        pointed = rules.model_copy(update={"connectors": connectors, "workflows": workflows})
        self.crm.tables = {**self.crm.tables, **tables_for(rules)}
        self.crm.create()
        return replace(workspace, rules=pointed, rulebook=RuleBook(pointed, workspace.directory))

    def _secret(self, slug: str, raw: dict[str, Any], value: str) -> dict[str, Any]:
        setting, default = SECRET_SETTINGS[slug]
        variable = str(raw.get(setting) or default)
        self.secrets[variable] = value
        return {**raw, setting: variable}

    def _email(self, raw: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in raw.items() if k not in ("username", "password_env", "tls")}
        return {
            **kept,
            "host": HOST,
            "port": self.mail.port,
            "starttls": False,
            "sender": raw.get("sender") or SENDER,
        }

    def _ticketing(self, raw: dict[str, Any]) -> dict[str, Any]:
        self.tickets.email = str(raw.get("email") or self.tickets.email)
        pointed = {
            **raw,
            "base_url": self.tickets.url,
            "project": raw.get("project") or self.tickets.project,
            "email": self.tickets.email,
        }
        return self._secret("ticketing", pointed, self.tickets.token)

    def _sql(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self._secret("sql", raw, self.crm.url)

    def _webhook(self, raw: dict[str, Any]) -> dict[str, Any]:
        pointed = {**raw, "url": self._hook_url(raw.get("url"))}
        return self._secret("webhook", pointed, self.webhook.secret)

    def _hook_url(self, configured: object) -> str:
        """The receiver's address with the path rules.yml gave, so the view reads familiar."""
        address = urlparse(str(configured)) if configured else None
        path = (address.path if address else "") or DEFAULT_HOOK
        query = f"?{address.query}" if address and address.query else ""
        return f"{self.webhook.url}{path}{query}"

    def _redirect(self, workflow: Workflow) -> Workflow:
        actions = [
            action.model_copy(
                update={"with_": {**action.with_, "url": self._hook_url(action.with_["url"])}}
            )
            if action.connector == "webhook" and action.with_.get("url")
            else action
            for action in workflow.actions
        ]
        return workflow.model_copy(update={"actions": actions})

    # -- what they received -----------------------------------------------------------------------

    def addresses(self) -> dict[str, str]:
        return {
            # A temporary folder, removed when the stand-ins stop: not the working directory.
            "sql": f"SQLite {self.crm.path.resolve()} (temporary)",
            "webhook": self.webhook.url,
            "email": self.mail.url,
            "ticketing": self.tickets.url,
        }

    def received(self) -> dict[str, list[Received]]:
        """What each system received, oldest first, by connector slug."""
        return {
            "sql": self.crm.received(),
            "webhook": list(self.webhook.received),
            "email": list(self.mail.received),
            "ticketing": list(self.tickets.received),
        }

    def summary(self) -> str:
        where = self.addresses()
        return "Downstream stand-ins (Systems in the browser): " + " · ".join(
            f"{NAMES[slug]} {where[slug]}" for slug in NAMES
        )


@asynccontextmanager
async def running_stand_ins(
    workspace: Workspace, sandbox: SandboxServer | None = None
) -> AsyncIterator[StandIns]:
    """The stand-ins for `workspace`'s connectors, shown in `sandbox`'s browser view."""
    with tempfile.TemporaryDirectory(prefix="trellis-systems-") as folder:
        stand_ins = StandIns(workspace.rules, Path(folder))
        await stand_ins.start()
        try:
            if sandbox is not None:
                sandbox.show_systems(stand_ins)
            yield stand_ins
        finally:
            await stand_ins.stop()


@asynccontextmanager
async def stand_ins_for(
    workspace: Workspace, sandbox: SandboxServer
) -> AsyncIterator[StandIns | None]:
    """Stand-ins when `wanted(workspace)`, else None."""
    if not wanted(workspace):
        yield None
        return
    async with running_stand_ins(workspace, sandbox) as stand_ins:
        yield stand_ins
