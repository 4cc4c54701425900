"""Integration tests run against a real Kubernetes control plane (tests/harness/control-plane):
etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK, all on 127.0.0.1.

The session-scoped `control_plane` fixture starts one cluster per pytest process and stops it at
the end. The tools come from tests/harness/testbin (`make testbin`); when they are missing the
tests are skipped, unless URUMI_REQUIRE_CONTROL_PLANE=1 (CI, `make test`), which fails them.

Environment knobs:
  URUMI_TESTBIN                 tool directory (default ~/.cache/urumi/testbin)
  URUMI_CP_HOME                 cluster state directory (default ~/.cache/urumi/control-plane)
  URUMI_CP_NAME                 cluster name (default urumi-it-<pid of this pytest process>)
  URUMI_CP_KEEP=1               leave the cluster running after the session (reuse it next time
                                with the same URUMI_CP_NAME: `up` on a healthy cluster is instant)
  URUMI_REQUIRE_CONTROL_PLANE=1 missing tools or a failed `up` fail the session instead of skipping
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "harness"
CONTROL_PLANE = HARNESS / "control-plane"
INTEGRATION_DIR = Path(__file__).resolve().parent
# What the control plane runs, plus what tests drive it with.
REQUIRED_TOOLS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
    "helm",
)
UP_TIMEOUT = 300  # seconds; `up` itself gives up after 180 s and prints the failing log


def pytest_collection_modifyitems(config, items):
    """Every test under tests/integration is an integration test (`-m "not integration"` skips)."""
    for item in items:
        if INTEGRATION_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def testbin_dir() -> Path:
    return Path(os.environ.get("URUMI_TESTBIN") or Path.home() / ".cache/urumi/testbin")


def cp_home() -> Path:
    return Path(os.environ.get("URUMI_CP_HOME") or Path.home() / ".cache/urumi/control-plane")


def required() -> bool:
    return os.environ.get("URUMI_REQUIRE_CONTROL_PLANE", "") not in ("", "0")


def control_plane_cmd(*args: str) -> list[str]:
    # The script is stdlib-only; run it with this interpreter so it never depends on PATH.
    return [sys.executable, str(CONTROL_PLANE), *args]


@dataclasses.dataclass(frozen=True)
class ControlPlane:
    """A running cluster. `env` is for subprocesses (urumi, helm, kubectl): testbin first on PATH
    so the pinned helm/kubectl are found, KUBECONFIG removed (pass `kubeconfig`/`context`
    explicitly), helm's config/cache/data in a private temporary directory."""

    name: str
    kubeconfig: Path
    context: str
    testbin: Path
    env: dict
    state_dir: Path

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120):
        """Run testbin's kubectl against this cluster; returns the CompletedProcess (text)."""
        argv = [str(self.testbin / "kubectl"), f"--kubeconfig={self.kubeconfig}", f"--context={self.context}", *args]
        r = subprocess.run(argv, input=input, capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv[1:])} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def harness(self, *args: str, timeout: float = UP_TIMEOUT):
        """Run tests/harness/control-plane ARGS (e.g. "up", "--name", "other"); CompletedProcess."""
        return subprocess.run(control_plane_cmd(*args), capture_output=True, text=True, timeout=timeout)


def _stale_session_clusters() -> list[str]:
    """urumi-it-<pid> clusters whose pytest process is gone (killed sessions leak them)."""
    home = cp_home()
    if not home.is_dir():
        return []
    stale = []
    for d in home.iterdir():
        m = re.fullmatch(r"urumi-it-(\d+)", d.name)
        if m and int(m.group(1)) != os.getpid() and not Path(f"/proc/{m.group(1)}").exists():
            stale.append(d.name)
    return stale


def _unavailable(msg: str):
    if required():
        pytest.fail(msg + " (URUMI_REQUIRE_CONTROL_PLANE is set)", pytrace=False)
    pytest.skip(msg + " (set URUMI_REQUIRE_CONTROL_PLANE=1 to fail instead)")


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    testbin = testbin_dir()
    missing = [t for t in REQUIRED_TOOLS if not os.access(testbin / t, os.X_OK)]
    if missing:
        _unavailable(f"control-plane tools missing in {testbin}: {', '.join(missing)}; build them with tests/harness/testbin")

    for name in _stale_session_clusters():
        subprocess.run(control_plane_cmd("down", "--name", name), capture_output=True, timeout=120)

    name = os.environ.get("URUMI_CP_NAME") or f"urumi-it-{os.getpid()}"
    start = time.monotonic()
    # Popen, not run(timeout=): on a timeout `up` gets SIGTERM and stops what it started.
    proc = subprocess.Popen(
        control_plane_cmd("up", "--name", name), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=UP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
        err += f"\n(no kubeconfig after {UP_TIMEOUT}s: sent SIGTERM)"
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        subprocess.run(control_plane_cmd("down", "--name", name), capture_output=True, timeout=120)
        msg = f"control-plane up --name {name} failed (exit {proc.returncode}):\n{err[-6000:]}"
        if required():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    kubeconfig = Path(lines[-1])
    sys.stderr.write(f"\ncontrol plane {name} up in {time.monotonic() - start:.1f}s: {kubeconfig}\n")

    helm_home = tmp_path_factory.mktemp("helm-home")
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["PATH"] = f"{testbin}{os.pathsep}{env.get('PATH', '')}"
    no_proxy = [p for p in env.get("NO_PROXY", env.get("no_proxy", "")).split(",") if p]
    env["NO_PROXY"] = env["no_proxy"] = ",".join(dict.fromkeys([*no_proxy, "127.0.0.1", "localhost"]))
    for var, sub in [("HELM_CONFIG_HOME", "config"), ("HELM_CACHE_HOME", "cache"), ("HELM_DATA_HOME", "data")]:
        env[var] = str(helm_home / sub)

    cp = ControlPlane(
        name=name,
        kubeconfig=kubeconfig,
        context=name,
        testbin=testbin,
        env=env,
        state_dir=kubeconfig.parent,
    )
    try:
        yield cp
    finally:
        if os.environ.get("URUMI_CP_KEEP", "") in ("", "0"):
            d = subprocess.run(control_plane_cmd("down", "--name", name), capture_output=True, text=True, timeout=120)
            if d.returncode != 0:
                sys.stderr.write(f"\ncontrol-plane down --name {name} failed:\n{d.stderr}\n")


@pytest.fixture
def namespace(control_plane, request):
    """A fresh namespace for one test, deleted afterwards (without waiting for it to go)."""
    base = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-")
    ns = f"{base}-{os.urandom(3).hex()}"
    control_plane.kubectl("create", "namespace", ns)
    yield ns
    control_plane.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture
def wait_until():
    """`wait_until(what, check, timeout=60)`: poll check() until truthy, else fail saying what."""
    from support import wait_for

    return lambda what, check, timeout=60, interval=0.5: wait_for(what, check, timeout, interval)
