"""Trellis errors: one small tree, each carrying the message a person should see.

    TrellisError
     ├── WorkspaceError            a workspace file is broken (file, line, problem)
     ├── IdentityUnknown           the Slack user is not a verified person in the directory
     ├── AccessDenied              the person may not use this workflow or see this item
     ├── RuleViolation             input breaks a workflow's rules
     ├── ModelUnavailable          the model failed after retries and no fallback was possible
     ├── ApprovalConflict          someone else already decided, or the draft changed
     ├── SlackUnavailable          the Slack Web API failed after retries
     └── DownstreamError           a downstream system failed (retryable or not)

A Bolt error handler turns any of them into a clear reply; anything else gets a short
reference id that is logged with the traceback.
"""

from __future__ import annotations


class TrellisError(Exception):
    """Base class. `user_message` is safe to show to the person who asked."""

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


class WorkspaceError(TrellisError):
    def __init__(self, file: str, problem: str, *, line: int | None = None) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


class IdentityUnknown(TrellisError):
    pass


class AccessDenied(TrellisError):
    pass


class RuleViolation(TrellisError):
    pass


class ModelUnavailable(TrellisError):
    pass


class ApprovalConflict(TrellisError):
    pass


class SlackUnavailable(TrellisError):
    pass


class DownstreamError(TrellisError):
    def __init__(self, user_message: str, *, retryable: bool, detail: str | None = None) -> None:
        super().__init__(user_message, detail=detail)
        self.retryable = retryable
