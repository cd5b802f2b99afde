"""A local Slack: Web API, Socket Mode and response_url hooks over one stateful workspace.

workspace = SandboxWorkspace.from_seed(seed)       # seed format: see app.sandbox.state
async with SandboxServer(workspace) as server:
    client = AsyncWebClient(token=server.bot_token, base_url=server.api_url)
    ts = await server.post_message("U01ANA", "C0GENERAL", "<@U0TRELLIS> hi")

`server.url` also serves the same workspace as a Slack-like page (app.sandbox.browser).
"""

from app.sandbox.server import OperationTimeout, SandboxServer, SimulationError
from app.sandbox.socket_mode import Delivery, Envelope
from app.sandbox.state import (
    ApiCall,
    Change,
    Ephemeral,
    Message,
    SandboxWorkspace,
    View,
)

__all__ = [
    "ApiCall",
    "Change",
    "Delivery",
    "Envelope",
    "Ephemeral",
    "Message",
    "OperationTimeout",
    "SandboxServer",
    "SandboxWorkspace",
    "SimulationError",
    "View",
]
