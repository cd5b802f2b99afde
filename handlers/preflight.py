"""What `trellis run` checks before it starts anything: that its ports are free, that the
Slack tokens are of the right kind, and that Slack accepts them with the scopes Trellis
needs. Each mistake is a SetupError naming the setting to change, which the command line
prints as one line (exit status 2).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.config.settings import Settings
from app.errors import PortInUse, SetupError

BOT_SCOPES = frozenset(
    {
        "app_mentions:read",
        "assistant:write",
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "groups:read",
        "im:history",
        "im:read",
        "im:write",
        "mpim:history",
        "mpim:read",
        "reactions:read",
        "reactions:write",
        "users:read",
        "users:read.email",
    }
)
"""The bot scopes of manifest.yml (tests/handlers/test_preflight.py keeps the two equal)."""

BOT_TOKEN, APP_TOKEN = "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"
SIGNING_SECRET = "SLACK_SIGNING_SECRET"
TOKEN_REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
    }
)
WHERE_TOKENS = {
    BOT_TOKEN: "the Bot User OAuth Token (xoxb-) under OAuth & Permissions",
    APP_TOKEN: "an app-level token (xapp-) with connections:write under Basic Information",
}


def check_ports(settings: Settings) -> None:
    """The health port, and the sandbox's when there is no Slack, must be free."""
    check_port("TRELLIS_HTTP", settings.http_host, settings.http_port)
    if not settings.slack_enabled:
        check_port("TRELLIS_SANDBOX", settings.sandbox_host, settings.sandbox_port)


def check_port(prefix: str, host: str, port: int) -> None:
    """Bind and let go, as the server will bind (SO_REUSEADDR), so only a listener counts."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise bind_error(exc, prefix, host, port) from exc


def bind_error(exc: OSError, prefix: str, host: str, port: int) -> SetupError:
    """The SetupError for a failed bind of `host:port` (settings `{prefix}_HOST`, `_PORT`)."""
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(f"{prefix}_PORT", host, port)
    if exc.errno == errno.EACCES:
        return SetupError(
            f"{prefix}_PORT",
            f"port {port} needs privileges this process does not have; choose a port above 1023",
        )
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
        return SetupError(
            f"{prefix}_HOST",
            f"{host} is not an address of this machine; use 127.0.0.1 (this machine only) "
            "or 0.0.0.0 (every interface)",
        )
    return SetupError(f"{prefix}_PORT", f"cannot listen on {host}:{port} ({exc.strerror or exc})")


def slack_tokens(settings: Settings) -> tuple[str, str]:
    """(bot token, app-level token), once each is of the kind its variable needs; over HTTP
    there is no app-level token ("")."""
    assert settings.slack_bot_token  # what slack_enabled means
    bot = settings.slack_bot_token.get_secret_value().strip()
    if settings.slack_mode == "http":
        if not bot.startswith("xoxb-"):
            raise SetupError(
                BOT_TOKEN, f"this is {_kind(bot)}; Trellis needs {WHERE_TOKENS[BOT_TOKEN]}"
            )
        return bot, ""
    assert settings.slack_app_token  # what slack_enabled means over Socket Mode
    app = settings.slack_app_token.get_secret_value().strip()
    if bot.startswith("xapp-") and app.startswith("xoxb-"):
        raise SetupError(
            f"{BOT_TOKEN} and {APP_TOKEN}",
            "the two tokens are swapped: the bot token starts with xoxb-, the app-level "
            "token with xapp-",
        )
    if not bot.startswith("xoxb-"):
        raise SetupError(
            BOT_TOKEN, f"this is {_kind(bot)}; Trellis needs {WHERE_TOKENS[BOT_TOKEN]}"
        )
    if not app.startswith("xapp-"):
        raise SetupError(
            APP_TOKEN, f"this is {_kind(app)}; Trellis needs {WHERE_TOKENS[APP_TOKEN]}"
        )
    return bot, app


def signing_secret(settings: Settings) -> str:
    """The secret Slack signs its HTTP requests with (on the sandbox, the sandbox's own)."""
    if not settings.slack_enabled:
        return "sandbox-signing-secret"
    secret = settings.slack_signing_secret
    value = secret.get_secret_value().strip() if secret else ""
    if not value:
        raise SetupError(
            SIGNING_SECRET,
            "Slack's HTTP requests cannot be checked without it; copy the Signing Secret "
            "under Basic Information → App Credentials",
        )
    return value


def _kind(token: str) -> str:
    kinds = {
        "xoxb-": "a bot token (xoxb-)",
        "xapp-": "an app-level token (xapp-)",
        "xoxp-": "a user token (xoxp-)",
        "xoxe": "a refresh or configuration token (xoxe)",
    }
    return next((v for k, v in kinds.items() if token.startswith(k)), "not a Slack token")


async def check_slack_app(client: AsyncWebClient) -> None:
    """Slack accepts the bot token, and the app has every scope Trellis uses: the scopes
    Slack lists for the token, and what Slack says when a method Trellis calls is tried."""
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        raise slack_refusal(exc, BOT_TOKEN) from exc
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise SetupError(
            "TRELLIS_SLACK_API_URL",
            f"Slack could not be reached at {client.base_url} ({type(exc).__name__}: {exc}); "
            "check the network, or unset this variable to use Slack's own address",
        ) from exc
    granted = _scopes(identity.headers)
    if granted is not None and (missing := sorted(BOT_SCOPES - granted)):
        raise _missing_scopes(BOT_TOKEN, ", ".join(missing), ", ".join(sorted(granted)) or "none")
    await _probe(client.users_info(user=str(identity.get("user_id") or "")))
    await _probe(client.conversations_list(limit=1, types="public_channel"))


async def _probe(call: Awaitable[Any]) -> None:
    """A call Trellis makes when it runs; only what the set-up can fix stops the start."""
    try:
        await call
    except SlackApiError as exc:
        if _error_of(exc) == "missing_scope" or _error_of(exc) in TOKEN_REFUSED:
            raise slack_refusal(exc, BOT_TOKEN) from exc


def _scopes(headers: Any) -> set[str] | None:
    for name, value in (headers or {}).items():
        if str(name).lower() == "x-oauth-scopes":
            return {s.strip() for s in str(value).split(",") if s.strip()}
    return None


def _error_of(exc: SlackApiError) -> str:
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or "an error")


def slack_refusal(exc: SlackApiError, setting: str) -> SetupError:
    """What Slack's refusal of a call made with `setting`'s token means for the operator."""
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = _error_of(exc)
    if error == "missing_scope":
        needed, provided = str(data.get("needed") or "?"), str(data.get("provided") or "none")
        return _missing_scopes(setting, needed, provided)
    if error in TOKEN_REFUSED:
        return SetupError(
            setting,
            f"Slack refused the token ({error}); copy {WHERE_TOKENS[setting]} "
            "from the app's settings again",
        )
    return SetupError(setting, f"Slack answered {error} when Trellis started")


def _missing_scopes(setting: str, needed: str, provided: str) -> SetupError:
    if setting == APP_TOKEN:
        fix = f"create {WHERE_TOKENS[APP_TOKEN]} and use it"
    else:
        fix = (
            "add the scopes of manifest.yml to the app under OAuth & Permissions, reinstall "
            "it to the workspace and use the new bot token"
        )
    return SetupError(setting, f"the Slack app lacks the scope {needed} (it has {provided}); {fix}")
