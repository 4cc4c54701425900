"""adapters/kube_exec.PodExec against a scripted websocket (the official client's WSClient
replaced): the exec URL carries the argv as repeated `command` parameters (never a shell string),
stdin is sent then closed with the v5 CLOSE signal, stdout streams to the sink, the exit code comes
from the status channel, and an API server without v5 is refused before stdin is sent."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlparse

import pytest

from urumi_cli.adapters.kube_exec import ExecFailed, PodExec
from urumi_cli.errors import OperationFailed
from urumi_cli.models import Target

SUCCESS = json.dumps({"metadata": {}, "status": "Success"}).encode()


def failure(code: int) -> bytes:
    return json.dumps({"status": "Failure", "details": {"causes": [{"reason": "ExitCode",
                                                                      "message": str(code)}]}}).encode()


class ScriptedSocket:
    """Stands for ws_client.WSClient: replays what the "server" sends once stdin is closed."""

    instances: list["ScriptedSocket"] = []
    script: dict = {}

    def __init__(self, configuration, url, headers, capture_all, binary=False):
        self.url, self.headers, self.binary = url, headers, binary
        self.subprotocol = self.script.get("protocol", "v5.channel.k8s.io")
        self.stdin = bytearray()
        self.stdin_closed = False
        self.open = True
        self.pending = {1: self.script.get("stdout", b""), 2: self.script.get("stderr", b""),
                        3: self.script.get("status", SUCCESS)}
        self.delivered: dict[int, bytes] = {}
        ScriptedSocket.instances.append(self)

    def is_open(self):
        return self.open

    def write_stdin(self, data):
        assert not self.stdin_closed
        self.stdin += data

    def close_channel(self, channel):
        assert channel == 0
        self.stdin_closed = True

    def update(self, timeout=0):
        if self.open and (self.stdin_closed or not self.script.get("reads_stdin")):
            self.delivered = self.pending
            self.open = False

    def read_channel(self, channel, timeout=0):
        return self.delivered.pop(channel, b"")

    def close(self):
        self.open = False


@pytest.fixture
def exec_(monkeypatch):
    from kubernetes.stream import ws_client

    ScriptedSocket.instances = []
    ScriptedSocket.script = {}
    monkeypatch.setattr(ws_client, "WSClient", ScriptedSocket)
    configuration = SimpleNamespace(host="https://127.0.0.1:6443",
                                    auth_settings=lambda: {"BearerToken": {"in": "header", "key": "authorization",
                                                                           "value": "Bearer t0ken"}})
    return PodExec(SimpleNamespace(target=Target(context="kind-x"), configuration=configuration))


def test_the_argv_travels_as_command_parameters_and_stdout_streams_out(exec_):
    ScriptedSocket.script = {"stdout": b"-- dump --\n"}
    sink = io.BytesIO()
    exec_.run("store-shop", "shop-db-0", container="mariadb", argv=["mariadb-dump", "--single-transaction", "a b;c"],
              stdout=sink)
    sock = ScriptedSocket.instances[0]
    url = urlparse(sock.url)
    assert (url.scheme, url.path) == ("wss", "/api/v1/namespaces/store-shop/pods/shop-db-0/exec")
    query = parse_qsl(url.query)
    assert [v for k, v in query if k == "command"] == ["mariadb-dump", "--single-transaction", "a b;c"]
    assert dict((k, v) for k, v in query if k != "command") == {"container": "mariadb", "stdin": "false",
                                                               "stdout": "true", "stderr": "true", "tty": "false"}
    assert sock.binary is True and sock.headers == {"authorization": "Bearer t0ken"}
    assert sink.getvalue() == b"-- dump --\n"


def test_stdin_is_sent_then_closed(exec_):
    ScriptedSocket.script = {"reads_stdin": True}
    result = exec_.run("ns", "pod", container="c", argv=["tar", "-x", "-f", "-", "-C", "/x"],
                       stdin=[b"part1", b"part2"])
    sock = ScriptedSocket.instances[0]
    assert bytes(sock.stdin) == b"part1part2" and sock.stdin_closed and result.bytes_in == 10
    assert ("stdin", "true") in parse_qsl(urlparse(sock.url).query)


def test_a_non_zero_exit_is_exec_failed_with_the_argv_and_stderr(exec_):
    ScriptedSocket.script = {"stderr": b"tar: uploads: Cannot stat\n", "status": failure(2)}
    with pytest.raises(ExecFailed) as caught:
        exec_.run("ns", "pod", container="wordpress", argv=["tar", "-c", "-f", "-", "uploads"], stdout=io.BytesIO())
    err = caught.value
    assert err.returncode == 2 and err.exit_code == 1 and err.argv == ["tar", "-c", "-f", "-", "uploads"]
    assert err.message == ("`tar -c -f - uploads` in pod pod (container wordpress) exited 2: "
                           "tar: uploads: Cannot stat")


def test_without_the_v5_protocol_a_command_reading_stdin_is_refused_before_sending(exec_):
    ScriptedSocket.script = {"protocol": "v4.channel.k8s.io", "reads_stdin": True}
    with pytest.raises(OperationFailed, match="cannot close an exec's stdin"):
        exec_.run("ns", "pod", container="c", argv=["psql"], stdin=[b"SELECT 1;"])
    assert ScriptedSocket.instances[0].stdin == b""
