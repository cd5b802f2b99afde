"""Local stand-ins for outside services, spoken to over loopback by the real clients."""

from tests.fakes.anthropic_server import FakeAnthropic, RecordedRequest

__all__ = ["FakeAnthropic", "RecordedRequest"]
