"""Trellis errors: one small tree, each carrying the message a person should see.

    TrellisError
     ├── WorkspaceError            a workspace file is broken (file, line, problem)
     ├── SetupError                a setting the operator must change (`setting` names it)
     │    ├── PortInUse            a port Trellis must listen on is taken
     │    └── DatabaseInUse        another `trellis run` serves this SQLite database
     ├── IdentityUnknown           the Slack user is not a verified person in the directory
     ├── AccessDenied              the person may not use this workflow or see this item
     ├── RuleViolation             input breaks a workflow's rules
     │    └── InvalidInput         the fields of a request, one problem per field
     ├── ModelUnavailable          the model failed after retries and no fallback was possible
     ├── ApprovalConflict          someone else already decided, or the draft changed
     │    └── DraftExpired         too late to decide (`just_now`: this call expired it)
     ├── SlackUnavailable          the Slack Web API failed after retries
     ├── ShuttingDown              Trellis stopped before a waiting question's turn came
     └── DownstreamError           a downstream system failed (`retryable` or not)
          ├── ConnectorConfigError      the connector or the action is set up wrongly
          │                             (never retryable)
          └── DownstreamUnavailable     the system is down, slow or throttling us (always
                                        retryable; `retry_after`: the seconds it asked for)

handlers/errors.py (`message_for`) turns any of them into a clear reply; anything else
gets a short reference id that is logged with the traceback.

Signals between Trellis's own modules, caught before a person could see them:

    LostUpdate                another writer changed a draft between our read and our write
    QuestionTakenOver         another process took a question over before this one recorded
                              its answer (app/answering/intake.py)
    ConditionError            a rules.yml condition could not be evaluated
    InvalidValue              one value does not fit its field (gathered into InvalidInput)
    MalformedResponse         an answering backend got a reply it could not read
    BrokenAccessRule          a document's access depends on a broken `_access.yml`
    EmbeddingModelMissing     the embedding model package is not installed
"""

from __future__ import annotations


class TrellisError(Exception):
    """Base class. `user_message` is safe to show to the person who asked."""

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


class WorkspaceError(TrellisError):
    """`also`: further mistakes found in the same pass, so `trellis check` lists them all."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        line: int | None = None,
        also: tuple[WorkspaceError, ...] = (),
    ) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem
        self.also = also

    def summary(self, shown: int = 3) -> str:
        """This mistake and the others found with it, the first `shown` in full."""
        every = (self, *self.also)
        text = "; ".join(error.user_message for error in every[:shown])
        if len(every) > shown:
            text += f"; and {len(every) - shown} more (`trellis check` lists them all)"
        return text


class SetupError(TrellisError):
    """A mistake in how Trellis is set up, not in what it was asked: the command stops
    with one line naming the setting (an environment variable, an option or a file) to
    change, and exit status 2."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class PortInUse(SetupError):
    def __init__(self, setting: str, host: str, port: int) -> None:
        super().__init__(
            setting,
            f"port {port} on {host} is already in use by another program; set {setting} "
            "to a free port (0 picks any free one) or stop the other program",
        )
        self.host = host
        self.port = port


class DatabaseInUse(SetupError):
    """A second `trellis run` on a SQLite database, which serves one process."""

    def __init__(self, database: str, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        stop = f"stop it first (Ctrl-C where it runs, or kill {pid})" if pid else "stop it first"
        super().__init__(
            "TRELLIS_DATABASE_URL",
            f"the SQLite database {database} is already served by another `trellis run` "
            f"({holder}); SQLite serves one process: {stop}, or use PostgreSQL to run "
            "several replicas",
        )
        self.database = database
        self.pid = pid


class IdentityUnknown(TrellisError):
    pass


class AccessDenied(TrellisError):
    pass


class RuleViolation(TrellisError):
    pass


class InvalidInput(RuleViolation):
    """Input a person gave does not fit the workflow; `problems` maps field -> message."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems.values()))


class ModelUnavailable(TrellisError):
    pass


class ApprovalConflict(TrellisError):
    pass


class DraftExpired(ApprovalConflict):
    """Too late to decide. `just_now`: this call is what expired it (tell the requester)."""

    def __init__(self, user_message: str, *, just_now: bool) -> None:
        super().__init__(user_message)
        self.just_now = just_now


class SlackUnavailable(TrellisError):
    pass


class QuestionKept(SlackUnavailable):
    """Slack failed before a stored question showed any sign of being answered: it is kept
    and answered once Slack takes replies again, so its asker must not ask again (the
    question would be answered twice). The cause is the failure itself."""


class ShuttingDown(TrellisError):
    pass


class DatabaseAway(TrellisError):
    """The database stayed out of reach for as long as a new question may wait for it."""


class DownstreamError(TrellisError):
    def __init__(self, user_message: str, *, retryable: bool, detail: str | None = None) -> None:
        super().__init__(user_message, detail=detail)
        self.retryable = retryable


class ConnectorConfigError(DownstreamError):
    """The connector or the action's `with:` settings are wrong; retrying cannot help."""

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(user_message, retryable=False, detail=detail)


class DownstreamUnavailable(DownstreamError):
    """The downstream system failed in a way that may pass: try again later."""

    def __init__(
        self, user_message: str, *, retry_after: float | None = None, detail: str | None = None
    ) -> None:
        super().__init__(user_message, retryable=True, detail=detail)
        self.retry_after = retry_after


class LostUpdate(Exception):
    """Another writer changed the draft between our read and our write."""


class QuestionTakenOver(Exception):
    """This process's lease on a question ran out and another process took it over: the
    other one answers it, and this one shows nothing more for it."""


class ConditionError(Exception):
    """A condition could not be evaluated (missing field, wrong type, not a boolean)."""


class InvalidValue(ValueError):
    """One value does not fit its field; the message continues the field's title."""


class MalformedResponse(Exception):
    """A backend received a reply it could not read (not the shape its API promises)."""


class BrokenAccessRule(Exception):
    """A document's access depends on an `_access.yml` that is broken."""

    def __init__(self, error: WorkspaceError) -> None:
        super().__init__(str(error))
        self.error = error


class EmbeddingModelMissing(RuntimeError):
    """The model package is not installed."""
