"""The one exception family urumi raises for anything a user can cause or fix.

Each error carries a lowercase message saying what failed and with which value, a hint saying how
to fix it, and the exit code. Only the CLI boundary (cli/app.py) turns them into output.
"""

from __future__ import annotations

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 5
EXIT_BAD_ARCHIVE = 8  # `store restore`: the archive is corrupt, truncated or not urumi's
EXIT_ROLLED_BACK = 6  # `store upgrade` failed and urumi rolled it back: the store serves its previous revision
EXIT_LIMIT = 7  # a guardrail refused: a store limit or the cool-down between creates
EXIT_INTERRUPTED = 130


def shown(value) -> str:
    """A value the user typed, safe inside a one-line message: control characters (a newline
    would split the line, ESC would reach the terminal) are quoted, very long values cut."""
    text = str(value)
    if len(text) > 200:
        text = text[:200] + "..."
    return text if text.isprintable() else repr(text)


class UrumiError(Exception):
    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Multi-line diagnostics (events, pod reasons) printed under the one-line error.
        self.details = details


class UsageError(UrumiError):
    exit_code = EXIT_USAGE


class EnvironmentProblem(UrumiError):
    """A prerequisite is missing or unreachable: a tool, Docker, a kubeconfig, the cluster."""

    exit_code = EXIT_ENVIRONMENT


class ToolMissing(EnvironmentProblem):
    pass


class ClusterUnreachable(EnvironmentProblem):
    pass


class Forbidden(EnvironmentProblem):
    """The API refused the request (401/403): the kubeconfig user lacks a permission."""


class NotFound(UrumiError):
    exit_code = EXIT_NOT_FOUND


class Conflict(UrumiError):
    pass


class OperationFailed(UrumiError):
    pass


class RolledBack(OperationFailed):
    """An upgrade failed and the automatic rollback succeeded: the store works, the change did not."""

    exit_code = EXIT_ROLLED_BACK


class LimitReached(UrumiError):
    """A guardrail (max stores per cluster or per owner, the cool-down between creates) refused."""

    exit_code = EXIT_LIMIT


class TimedOut(UrumiError):
    exit_code = EXIT_TIMEOUT


class RegistryError(UrumiError):
    pass


class RegistryCorrupt(RegistryError):
    """The registry file was unparseable and has been moved aside (never silently replaced)."""

    def __init__(self, message: str, hint: str | None = None, *, moved_to: str):
        super().__init__(message, hint)
        self.moved_to = moved_to


class ArchiveInvalid(UrumiError):
    """A backup archive that fails verification: refused before anything in the cluster changes."""

    exit_code = EXIT_BAD_ARCHIVE


class Interrupted(UrumiError):
    exit_code = EXIT_INTERRUPTED
