"""The one seam every subprocess goes through: argv lists, timeouts, graceful termination.

Why not subprocess.run(timeout=...): it SIGKILLs the child on timeout and after Ctrl-C waits only
0.25 s before killing, and a SIGKILLed helm leaves its release stuck in pending-install. Here the
child gets SIGTERM and a grace period first, and on Linux it also gets SIGTERM if urumi itself is
killed (PR_SET_PDEATHSIG), so a `kill -9` of urumi does not orphan a running helm.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from urumi_cli.errors import Interrupted, TimedOut, ToolMissing

GRACE_SECONDS = 15.0


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class CommandError(Exception):
    """A command exited non-zero. Carries argv (printable as a copy-pasteable command) and output."""

    argv: list[str]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    tool_hint: str | None = field(default=None)

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def summary(self) -> str:
        last = _last_meaningful_line(self.stderr) or _last_meaningful_line(self.stdout) or "no output"
        return f"`{self.command}` exited with {self.returncode}: {last}"


def _last_meaningful_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line.lower().startswith(("error", "fatal")):
            return line
    return lines[-1] if lines else ""


class CommandRunner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        check: bool = True,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult: ...


TOOL_HINTS = {
    "kind": "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation (or `go install sigs.k8s.io/kind@v0.32.0`)",
    "helm": "install helm 3.12+ or 4: https://helm.sh/docs/intro/install/",
    "docker": "install Docker (https://docs.docker.com/get-docker/) and make sure the daemon runs",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
}


def _read(handle) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")


def _set_parent_death_signal() -> None:  # pragma: no cover - runs in the child
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:
        pass


class SubprocessRunner:
    """Runs argv lists (never a shell) and stops children gracefully."""

    def __init__(self, grace_seconds: float = GRACE_SECONDS, debug_log=None):
        self.grace_seconds = grace_seconds
        self.debug_log = debug_log  # callable(str) or None; receives argv only, never input or env

    def run(self, argv, *, timeout=None, check=True, input_text=None, env=None) -> CommandResult:
        argv = [str(a) for a in argv]
        if self.debug_log:
            self.debug_log(f"running: {shlex.join(argv)}")
        # Output goes to unlinked temp files, not pipes: if urumi dies, helm must still be able to
        # write "release cancelled" and record it, instead of dying of SIGPIPE mid-cleanup.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=env,
                    # A session of its own: Ctrl-C reaches urumi only, and urumi decides how helm stops.
                    start_new_session=True,
                    preexec_fn=_set_parent_death_signal if sys.platform.startswith("linux") else None,
                )
            except FileNotFoundError:
                tool = os.path.basename(argv[0])
                raise ToolMissing(f"{tool} not found on PATH", TOOL_HINTS.get(tool, f"install {tool}")) from None
            except PermissionError:
                raise ToolMissing(f"{argv[0]} is not executable", f"check the permissions of {argv[0]}") from None
            try:
                if input_text is not None:
                    proc.communicate(input=input_text.encode(), timeout=timeout)
                else:
                    proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._terminate(proc)
                raise TimedOut(
                    f"`{shlex.join(argv[:3])} ...` did not finish within {timeout:.0f}s",
                    "raise --timeout, or check the cluster with `urumi doctor`",
                ) from None
            except KeyboardInterrupt:
                self._terminate(proc)
                raise Interrupted(f"interrupted while running {os.path.basename(argv[0])}") from None
            result = CommandResult(argv, proc.returncode, _read(out), _read(err))
        if check and not result.ok:
            raise CommandError(argv, proc.returncode, result.stdout, result.stderr)
        return result

    def _terminate(self, proc: subprocess.Popen) -> None:
        """SIGTERM, a grace period, then SIGKILL only if the child ignores it."""
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return
        while True:
            try:
                proc.wait(timeout=self.grace_seconds)
                return
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return
            except KeyboardInterrupt:
                # A second Ctrl-C during the grace period: keep waiting, helm is cleaning up.
                continue
