"""`urumi dashboard` as a process: the URL on the first stdout line, Ctrl-C exits 0, a busy port is
one error line, and no other command imports any of it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from test_import_cost import _imported_modules

pytestmark = pytest.mark.timeout(60)

# A cluster that refuses connections: the dashboard must still start, and say so on the page.
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: gone, user: {token: not-a-real-token}}]
contexts: [{name: gone, context: {cluster: gone, user: gone}}]
current-context: gone
"""


def _start(tmp_path, *args):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    env = {**os.environ, "URUMI_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "urumi_cli", "dashboard", "--no-open", *args,
                             "--kubeconfig", str(kubeconfig), "--context", "gone"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)


def _first_line(proc, timeout=30) -> str:
    got = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert got, "no first line"
    return got[0].strip()


def test_sigterm_stops_it_as_cleanly_as_ctrl_c(tmp_path):
    proc = _start(tmp_path, "--port", "0")
    try:
        assert _first_line(proc).startswith("http://127.0.0.1:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "dashboard stopped" in err


def test_the_url_comes_first_and_ctrl_c_exits_0(tmp_path):
    proc = _start(tmp_path, "--port", "0")
    try:
        url = _first_line(proc)
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        base, token = url.split("/?token=")
        assert len(token) >= 32
        request = urllib.request.Request(f"{base}/api/state", headers={"X-Urumi-Token": token})

        def unreachable_said():
            state = json.load(urllib.request.urlopen(request, timeout=5))
            return state["connection"]["ok"] is False and "cannot reach" in state["connection"]["message"]

        deadline = time.monotonic() + 20
        while not unreachable_said():
            assert time.monotonic() < deadline, "the page should say the cluster is unreachable"
        assert json.load(urllib.request.urlopen(request, timeout=5))["context"] == "gone"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == ""  # nothing after the URL on stdout
    assert "dashboard stopped" in err and "Traceback" not in err
    assert token not in err


def test_a_busy_port_is_one_error_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start(tmp_path, "--port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use "
                      "(hint: pass another --port, or --port 0 for any free port)"]
    assert out == ""


def _dashboard(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith("urumi_cli.dashboard") or m in ("http.server", "webbrowser"))


@pytest.mark.parametrize("args", [["--help"], ["store", "list", "-o", "json"], ["dashboard", "--help"]])
def test_other_commands_import_nothing_of_the_dashboard(tmp_path, args):
    modules, proc = _imported_modules(["-m", "urumi_cli", *args], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _dashboard(modules) == []
    if args == ["--help"]:
        assert "dashboard" in proc.stdout
    if args[0] == "store":
        assert "urumi_cli.cli.dashboard" not in modules  # only the invoked group is built
