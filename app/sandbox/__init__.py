"""A local Slack: Web API, Socket Mode and response_url hooks over one stateful workspace.

workspace = SandboxWorkspace.from_seed(seed)       # seed format: see app.sandbox.seed
async with SandboxServer(workspace) as server:
    client = AsyncWebClient(token=server.bot_token, base_url=server.api_url)
    ts = await server.post_message("U01ANA", "C0GENERAL", "<@U0TRELLIS> hi")

`server.url` also serves the same workspace as a Slack-like page (app.sandbox.browser).
"""

from app.sandbox.records import ApiCall, Change, Ephemeral, Message, View
from app.sandbox.server import SandboxServer
from app.sandbox.simulation import InvalidAck, OperationTimeout, SimulationError
from app.sandbox.socket_mode import Delivery, Envelope
from app.sandbox.state import SandboxWorkspace

__all__ = [
    "ApiCall",
    "Change",
    "Delivery",
    "Envelope",
    "Ephemeral",
    "InvalidAck",
    "Message",
    "OperationTimeout",
    "SandboxServer",
    "SandboxWorkspace",
    "SimulationError",
    "View",
]
