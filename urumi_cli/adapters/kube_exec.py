"""Running a program in a store's container through the Kubernetes API (pod exec), streaming
its stdin and stdout, for backup and restore.

The command is always an argv list sent as the API's `command` parameters: no shell ever parses
it, so nothing in it can be interpreted. Secrets never go into argv; callers send them on stdin.
The websocket is the official client's (kubernetes.stream.ws_client); the typed CoreV1Api is
not imported (see kube_transport.py for why).

Closing stdin (so that `tar -x` or `psql` see the end of their input) needs the v5 exec
protocol (Kubernetes 1.30+); on an older API server a command that reads stdin is refused up
front instead of hanging.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable

from urumi_cli.adapters.kube_transport import quote_segment as _q, short
from urumi_cli.errors import ClusterUnreachable, Forbidden, NotFound, OperationFailed, TimedOut

STDERR_KEPT = 16 * 1024  # enough for any error message; a chatty program cannot fill memory


def printable(argv) -> str:
    """The argv as a copy-pasteable command (for messages; it was never run through a shell)."""
    return shlex.join(list(argv))


class ExecFailed(OperationFailed):
    """A program run in a container exited non-zero (or the API could not say how it ended)."""

    def __init__(self, argv, *, pod: str, container: str, exit_code: int | None, stderr: str):
        last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "")
        how = f"exited {exit_code}" if exit_code is not None else "failed"
        message = f"`{printable(argv)}` in pod {pod} (container {container}) {how}"
        if last:
            message += f": {last[:300]}"
        super().__init__(message, "the lines below say why" if stderr.strip() else None, details=stderr.strip() or None)
        # returncode, not exit_code: that is urumi's own exit code for this error (UrumiError).
        self.argv, self.returncode, self.stderr = list(argv), exit_code, stderr


@dataclass
class ExecResult:
    stderr: str
    bytes_in: int
    bytes_out: int


def exit_code_of(status_text: str) -> int | None:
    """The exit code in the exec API's final Status (channel 3): 0 on Success, the ExitCode
    cause otherwise, None when the status says something else went wrong."""
    if not status_text.strip():
        return None
    try:
        status = json.loads(status_text)
    except ValueError:
        return None
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message"))
            except (TypeError, ValueError):
                return None
    return None


class PodExec:
    """Exec in the pods of the cluster a KubeClient talks to (its configuration and context)."""

    def __init__(self, kube):
        self.target = kube.target
        self.configuration = kube.configuration

    def run(self, namespace: str, pod: str, *, container: str, argv: list[str],
            stdin: Iterable[bytes] | None = None, stdout: BinaryIO | None = None,
            on_progress: Callable[[int, int], None] | None = None, timeout_s: float = 3600.0) -> ExecResult:
        """Run argv in the container until it exits. `stdin` chunks are sent then stdin is closed;
        what it prints on stdout goes to `stdout` (discarded if None). Raises ExecFailed when it
        exits non-zero, TimedOut after timeout_s."""
        from kubernetes.stream import ws_client as ws
        from websocket import WebSocketBadStatusException, WebSocketException

        query = [("command", list(argv)), ("container", container), ("stdin", "true" if stdin is not None else "false"),
                 ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
        url = ws.get_websocket_url(f"{self.configuration.host}/api/v1/namespaces/{_q(namespace)}/pods/{_q(pod)}/exec",
                                   query)
        try:
            client = ws.WSClient(self.configuration, url, self._headers(), capture_all=False, binary=True)
        except WebSocketBadStatusException as err:
            raise self._refused(err.status_code, pod, container, short(err)) from None
        except (WebSocketException, OSError) as err:
            raise ClusterUnreachable(f"cannot exec in pod {pod} of context {self.target.context!r}: {short(err)}",
                                     "check that the cluster runs (`urumi cluster status`)") from None
        try:
            return self._pump(client, ws, argv, pod, container, stdin, stdout, on_progress, timeout_s)
        finally:
            client.close()

    def _pump(self, client, ws, argv, pod, container, stdin, stdout, on_progress, timeout_s) -> ExecResult:
        from websocket import WebSocketException

        if stdin is not None and client.subprotocol != ws.V5_CHANNEL_PROTOCOL:
            raise OperationFailed(f"the API server of context {self.target.context!r} cannot close an exec's stdin "
                                  f"(protocol {client.subprotocol or 'v4'}, needs v5.channel.k8s.io)",
                                  "restore needs Kubernetes 1.30 or newer")
        deadline = time.monotonic() + timeout_s
        chunks = iter(stdin) if stdin is not None else None
        stderr, sent, received = bytearray(), 0, 0
        while client.is_open():
            if time.monotonic() > deadline:
                raise TimedOut(f"`{printable(argv)}` in pod {pod} did not finish within {timeout_s:.0f}s",
                               "raise --timeout")
            if chunks is not None:
                chunk = next(chunks, None)
                try:
                    if chunk is None:
                        client.close_channel(ws.STDIN_CHANNEL)  # EOF for the program
                        chunks = None
                    elif chunk:
                        client.write_stdin(chunk)
                        sent += len(chunk)
                except (WebSocketException, OSError):
                    chunks = None  # the program exited early; its status says why
            try:
                client.update(timeout=0 if chunks is not None else 1)
            except (WebSocketException, OSError):
                break
            out = client.read_channel(ws.STDOUT_CHANNEL)
            if out:
                received += len(out)
                if stdout is not None:
                    stdout.write(out)
            err = client.read_channel(ws.STDERR_CHANNEL)
            if err:
                stderr += err
                del stderr[:-STDERR_KEPT]
            if on_progress is not None and (out or chunks is not None):
                on_progress(sent, received)
        status = client.read_channel(ws.ERROR_CHANNEL)
        text = stderr.decode("utf-8", "replace")
        code = exit_code_of(status.decode("utf-8", "replace") if isinstance(status, bytes) else status)
        if code != 0:
            if code is None and status:
                text = (text + "\n" + _status_message(status)).strip()
            raise ExecFailed(argv, pod=pod, container=container, exit_code=code, stderr=text)
        return ExecResult(stderr=text, bytes_in=sent, bytes_out=received)

    def _headers(self) -> dict[str, str]:
        # Bearer tokens (exec plugins, OIDC); client certificates travel in the TLS options.
        for auth in self.configuration.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value") and auth.get("key", "").lower() == "authorization":
                return {"authorization": auth["value"]}
        return {}

    def _refused(self, status: int, pod: str, container: str, text: str) -> Exception:
        if status == 404:
            return NotFound(f"pod {pod} not found", "the store's pods may be restarting: retry in a moment")
        if status in (401, 403):
            return Forbidden(f"the API of context {self.target.context!r} refused exec in pod {pod}: {text}",
                             "your kubeconfig user needs the create verb on pods/exec in the store's namespace")
        return OperationFailed(f"exec in pod {pod} (container {container}) was refused: {text}",
                               "check that the container runs: urumi store describe")


def _status_message(status) -> str:
    raw = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
    try:
        return json.loads(raw).get("message", raw)
    except ValueError:
        return raw

