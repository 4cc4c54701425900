"""Real-cluster tests: a real kind cluster (real containers) created by `urumi cluster up` from the
images tests/harness/kind-images built into the engine of tests/harness/docker-engine.

What they need comes from `$URUMI_TESTBIN/kind-images.env` (written by kind-images): DOCKER_HOST,
URUMI_NODE_IMAGE, URUMI_KIND_CONFIG, URUMI_INGRESS_CHART, URUMI_NETCHECK_IMAGE. Variables already in
the environment win. Without that file (or without a Docker that answers) the tests are skipped,
unless URUMI_REQUIRE_REAL_CLUSTER=1 (`make test`, CI), which fails them.

The cluster is named `urumi-rc-<pid>` (URUMI_RC_NAME overrides), keeps its kubeconfig in a private
temporary directory, and publishes 127.0.0.1:80/443: nothing else may hold those ports meanwhile.
URUMI_RC_KEEP=1 leaves it running after the session.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NEEDED = ("DOCKER_HOST", "URUMI_NODE_IMAGE", "URUMI_KIND_CONFIG", "URUMI_INGRESS_CHART", "URUMI_NETCHECK_IMAGE")


def pytest_configure(config):
    config.addinivalue_line("markers", "realcluster: needs a real kind cluster (tests/harness/kind-images)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.realcluster)
    # `cluster down` ends the session's cluster: whatever file it is in, it runs last.
    items.sort(key=lambda item: item.name == "test_cluster_down_removes_it")


def testbin_dir() -> Path:
    return Path(os.environ.get("URUMI_TESTBIN") or Path.home() / ".cache/urumi/testbin")


def required() -> bool:
    return os.environ.get("URUMI_REQUIRE_REAL_CLUSTER", "") not in ("", "0")


def unavailable(reason: str):
    if required():
        pytest.fail(f"real cluster unavailable (URUMI_REQUIRE_REAL_CLUSTER=1): {reason}", pytrace=False)
    pytest.skip(f"real cluster unavailable: {reason}")


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip('"')
    return values


# Work the tests start ahead and collect later (see RealCluster.start): stores, deletions.
BACKGROUND = concurrent.futures.ThreadPoolExecutor(max_workers=6, thread_name_prefix="rc-background")


@dataclasses.dataclass(frozen=True)
class RealCluster:
    name: str
    kubeconfig: Path
    settings: dict
    env: dict
    home: Path
    background: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def start(self, key: str, work) -> None:
        """Runs work() in a background thread from now on (once per key): most of a store's
        creation is waiting for its pods, which need not hold up the tests before the one that
        uses it. The CLI runs as a subprocess there exactly as in the foreground."""
        if key not in self.background:
            self.background[key] = BACKGROUND.submit(work)

    def result(self, fixture: str):
        """What the work rc_support.early registered for fixture returned: waited for when it was
        started in the background, else run now."""
        from rc_support import EARLY

        future = self.background.pop(fixture, None)
        return future.result() if future is not None else EARLY[fixture](self)

    def settle(self, timeout: float = 900) -> None:
        """Waits for everything started in the background (deletions included); fails with what
        went wrong there, as a fixture's teardown would have in the foreground."""
        pending = dict(self.background)
        self.background.clear()
        done, not_done = concurrent.futures.wait(pending.values(), timeout=timeout)
        problems = [f"{key}: {future.exception()!r}" for key, future in pending.items()
                    if future in done and future.exception() is not None]
        problems += [f"{key}: still running after {timeout:.0f}s" for key, future in pending.items() if future in not_done]
        if problems:
            raise AssertionError("background work of the real-cluster tests failed: " + "; ".join(problems))

    @property
    def context(self) -> str:
        return f"kind-{self.name}"

    def urumi(self, *args: str, timeout: float = 900, check: bool = False) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "urumi_cli", *args], env=self.env, cwd=REPO,
                                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"urumi {' '.join(args)} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def kubectl(self, *args: str, timeout: float = 120, check: bool = True, input_text: str | None = None):
        argv = ["kubectl", "--kubeconfig", str(self.kubeconfig), "--context", self.context, *args]
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout,
                                input=input_text)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def up_args(self) -> list[str]:
        s = self.settings
        args = ["cluster", "up", "--name", self.name, "--kubeconfig", str(self.kubeconfig),
                "--image", s["URUMI_NODE_IMAGE"], "--config", s["URUMI_KIND_CONFIG"],
                "--ingress-chart", s["URUMI_INGRESS_CHART"], "-o", "json"]
        if s.get("URUMI_INGRESS_CHART_VERSION"):
            args += ["--ingress-version", s["URUMI_INGRESS_CHART_VERSION"]]
        return args


def _port_busy(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory) -> RealCluster:
    # A bare `pytest tests` does not bind host ports 80/443 or spend minutes on a cluster unless
    # asked: `make test` (CI) and `make test-realcluster` ask (URUMI_REQUIRE_REAL_CLUSTER=1).
    if not required() and os.environ.get("URUMI_REAL_CLUSTER", "") in ("", "0"):
        pytest.skip("the real kind cluster is opt-in: make test-realcluster (or URUMI_REAL_CLUSTER=1)")
    env_file = Path(os.environ.get("URUMI_KIND_IMAGES_ENV") or testbin_dir() / "kind-images.env")
    if not env_file.is_file():
        unavailable(f"{env_file} missing: run tests/harness/docker-engine up, then tests/harness/kind-images")
    settings = read_env_file(env_file)
    # The chart of this checkout (the env file names the one of the checkout that built the images).
    settings["URUMI_INGRESS_CHART"] = str(REPO / "tests" / "harness" / "ingress" / "traefik")
    settings.update({k: os.environ[k] for k in NEEDED if os.environ.get(k)})
    missing = [k for k in NEEDED if not settings.get(k)]
    if missing:
        unavailable(f"{env_file} lacks {', '.join(missing)}: re-run tests/harness/kind-images")
    for tool in ("kind", "kubectl", "helm"):
        if not (testbin_dir() / tool).exists():
            unavailable(f"{testbin_dir() / tool} missing: run tests/harness/testbin")
    home = tmp_path_factory.mktemp("realcluster")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "HELM_"))}
    env.update(
        PATH=f"{testbin_dir()}{os.pathsep}{env.get('PATH', '')}",
        DOCKER_HOST=settings["DOCKER_HOST"],
        URUMI_HOME=str(home / "urumi"),
        HELM_CONFIG_HOME=str(home / "helm/config"),
        HELM_CACHE_HOME=str(home / "helm/cache"),
        HELM_DATA_HOME=str(home / "helm/data"),
        COLUMNS="200",
        NO_COLOR="1",
    )
    docker = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], env=env, capture_output=True,
                            text=True, timeout=30)
    if docker.returncode != 0:
        unavailable(f"no Docker engine at {settings['DOCKER_HOST']}: run tests/harness/docker-engine up")
    name = os.environ.get("URUMI_RC_NAME") or f"urumi-rc-{os.getpid()}"
    cluster = RealCluster(name=name, kubeconfig=home / "kubeconfig", settings=settings, env=env, home=home)
    listed = subprocess.run(["kind", "get", "clusters"], env=env, capture_output=True, text=True, timeout=60)
    if name in listed.stdout.split():  # kept from an earlier session (URUMI_RC_KEEP=1)
        subprocess.run(["kind", "export", "kubeconfig", "--name", name, "--kubeconfig", str(cluster.kubeconfig)],
                       env=env, capture_output=True, timeout=60, check=True)
    elif _port_busy(80) or _port_busy(443):
        pytest.fail("127.0.0.1:80 or :443 is already in use (another kind cluster?): the test cluster maps both; "
                    f"kind clusters here: {listed.stdout.split()}", pytrace=False)
    yield cluster
    try:
        cluster.settle()
    finally:
        if os.environ.get("URUMI_RC_KEEP", "") in ("", "0"):
            subprocess.run(["kind", "delete", "cluster", "--name", name, "--kubeconfig", str(cluster.kubeconfig)],
                           env=env, capture_output=True, timeout=300)
        shutil.rmtree(home / "helm", ignore_errors=True)


# The test cluster's DNS: cluster names and the npm registry only (see the file's comment).
COREFILE = (REPO / "tests" / "harness" / "coredns" / "Corefile").read_text()


def store_images(settings: dict) -> list[str]:
    """The images the store values files point at (kind-images wrote them)."""
    import yaml

    images: list[str] = []
    for key in ("URUMI_VALUES_WOOCOMMERCE", "URUMI_VALUES_MEDUSA"):
        values = yaml.safe_load(Path(settings[key]).read_text()) or {}
        for part in values.values():
            image = (part or {}).get("image") if isinstance(part, dict) else None
            if image and image.get("repository"):
                ref = f"{image['repository']}:{image['tag']}"
                if ref not in images:
                    images.append(ref)
    return images


@pytest.fixture(scope="session")
def store_cluster(real_cluster, request) -> RealCluster:
    """The session's cluster, up (a no-op when an earlier test brought it up), with the store
    images loaded into its node and the DNS above; then the work the selected test modules
    registered with rc_support.early starts in the background."""
    for key in ("URUMI_VALUES_WOOCOMMERCE", "URUMI_VALUES_MEDUSA"):
        if not real_cluster.settings.get(key) or not Path(real_cluster.settings[key]).is_file():
            unavailable(f"{key} missing from kind-images.env: re-run tests/harness/kind-images")
    real_cluster.urumi(*real_cluster.up_args(), check=True)
    images = store_images(real_cluster.settings)
    real_cluster.urumi("cluster", "load-images", "--name", real_cluster.name, *images, "-o", "json", check=True,
                       timeout=1200)
    patch = {"data": {"Corefile": COREFILE}}
    import json

    real_cluster.kubectl("-n", "kube-system", "patch", "configmap", "coredns", "--type", "merge", "-p", json.dumps(patch))
    real_cluster.kubectl("-n", "kube-system", "rollout", "restart", "deployment/coredns")
    real_cluster.kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=120s", timeout=150)
    from rc_support import EARLY

    # Only what a selected test will use: a store nobody reads would be made and left behind.
    used = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    for fixture, work in EARLY.items():
        if fixture in used:
            real_cluster.start(fixture, lambda work=work: work(real_cluster))
    return real_cluster

