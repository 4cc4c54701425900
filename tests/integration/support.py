"""Running the real `urumi` CLI as a subprocess against the test control plane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def urumi_argv() -> list[str]:
    # The console script installed in this virtualenv: the same entry point a user runs.
    script = Path(sys.executable).with_name("urumi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "urumi_cli"]


@dataclass
class Urumi:
    """`urumi` bound to one cluster and one registry directory (URUMI_HOME)."""

    cp: object
    home: Path

    @property
    def target(self) -> list[str]:
        return ["--kubeconfig", str(self.cp.kubeconfig), "--context", self.cp.context]

    def env(self, **extra: str) -> dict:
        env = dict(self.cp.env)
        env.update({"URUMI_HOME": str(self.home), "NO_COLOR": "1"}, **extra)
        env.pop("KUBECONFIG", None)
        return env

    def run(self, *args: str, target: bool = True, timeout: float = 300, check: bool = False,
            env: dict | None = None) -> subprocess.CompletedProcess:
        argv = urumi_argv() + list(args) + (self.target if target else [])
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env or self.env(),
                                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"urumi {' '.join(args)} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(urumi_argv() + list(args) + self.target, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env(), stdin=subprocess.DEVNULL,
                                **kwargs)

    def json(self, *args: str, timeout: float = 300):
        result = self.run(*args, "-o", "json", timeout=timeout, check=True)
        return json.loads(result.stdout)

    def create(self, name: str, store_type: str = "woocommerce", *extra: str, timeout: float = 300):
        return self.run("store", "create", "--type", store_type, "--name", name, *extra, timeout=timeout)

    def registry_text(self) -> str:
        path = self.home / "registry.json"
        return path.read_text() if path.exists() else ""


def write_values(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr, stderr
    return lines[0]


def release(cp, name: str) -> dict | None:
    """`helm status` of store `name`'s release as JSON, None if helm knows no such release."""
    result = subprocess.run([str(cp.testbin / "helm"), "status", name, "-n", f"store-{name}", "-o", "json",
                             "--kubeconfig", str(cp.kubeconfig), "--kube-context", cp.context],
                            capture_output=True, text=True, env=cp.env, timeout=60)
    return json.loads(result.stdout) if result.returncode == 0 else None


def release_status(cp, name: str) -> str | None:
    found = release(cp, name)
    return found["info"]["status"] if found else None


def helm_release_revision(cp, name: str) -> int:
    found = release(cp, name)
    assert found is not None, f"release {name} not found"
    return int(found["version"])


def wait_for(what: str, check, timeout: float = 60, interval: float = 0.1):
    """Poll `check()` until it returns a truthy value (returned); fail with the last value."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def env_without(path_entries_with: str) -> str:
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if path_entries_with not in p)
