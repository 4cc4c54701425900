"""cluster up/status/down and doctor over the argv-recording runner with real Kind/Helm/Docker adapters."""

from __future__ import annotations

import pytest

from fakes import deployment
from urumi_cli import config
from urumi_cli.actions import doctor as doctor_mod
from urumi_cli.actions.cluster import ClusterOptions, cluster_down, cluster_status, cluster_up
from urumi_cli.actions.doctor import run_doctor
from urumi_cli.adapters.helm import Helm
from urumi_cli.adapters.kind import Kind
from urumi_cli.adapters.registry import Registry
from urumi_cli.adapters.runner import CommandResult
from urumi_cli.adapters.tools import Docker, Kubectl
from urumi_cli.errors import ClusterUnreachable, NotFound, ToolMissing
from urumi_cli.models import Store, Target

pytestmark = pytest.mark.timeout(30)
HELM_VERSION = ["helm", "version", "--template", "{{.Version}}"]


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path / "home" / "registry.json")


@pytest.fixture
def tools(runner, tool_path, kube):
    runner.on(["kind", "version"], stdout="kind v0.27.0 go1.23 linux/amd64")
    runner.on(HELM_VERSION, stdout="v4.0.1")
    runner.on(["docker", "info"], stdout="27.3.1\n")
    clusters: list[str] = []  # what the fake kind knows
    runner.on(["kind", "get", "clusters"],
              action=lambda argv: CommandResult(argv, 0, "".join(f"{c}\n" for c in clusters), ""))
    runner.on(["kind", "create", "cluster"], action=lambda argv: clusters.append(argv[argv.index("--name") + 1]))
    runner.on(["kind", "delete", "cluster"])
    runner.on(["helm", "upgrade"])
    kube.objects["traefik"] = {"deployments": [deployment("traefik", component="ingress", release="traefik")]}
    return {"docker": Docker(runner), "kind": Kind(runner), "helm": Helm(runner)}


def test_cluster_up_creates_kind_and_installs_traefik(tools, runner, kube, registry, reporter, tmp_path):
    kind_config = tmp_path / "kind.yaml"
    kind_config.write_text("kind: Cluster\n")
    targets = []
    opts = ClusterOptions(name="urumi", config_path=str(kind_config))
    info = cluster_up(opts, docker=tools["docker"], kind=tools["kind"], helm=tools["helm"],
                      kube_factory=lambda t: targets.append(t) or kube, registry=registry, reporter=reporter,
                      locks_dir=tmp_path / "locks")
    argvs = runner.argvs()
    assert argvs[:4] == [["kind", "version"], HELM_VERSION, ["docker", "info", "--format", "{{.ServerVersion}}"],
                         ["kind", "get", "clusters"]]
    assert ["kind", "create", "cluster", "--name", "urumi", "--config", str(kind_config), "--wait", "120s"] in argvs
    upgrade = next(a for a in argvs if a[:2] == ["helm", "upgrade"])
    assert upgrade[:5] == ["helm", "upgrade", "--install", "traefik", "traefik"]
    assert upgrade[upgrade.index("--kube-context") + 1] == "kind-urumi"
    assert "--wait=watcher" in upgrade and "--wait-for-jobs" in upgrade and "--create-namespace" in upgrade
    assert upgrade[upgrade.index("--version") + 1] == config.TRAEFIK_CHART_VERSION
    assert argvs.count(HELM_VERSION) == 1
    assert info.created and info.reachable and info.ingress_ready and info.message == "ready"
    assert targets and all(t == Target("kind-urumi", None) for t in targets)  # ingress wait + status
    assert registry.get_cluster("urumi")["context"] == "kind-urumi"


def test_cluster_up_is_idempotent(tools, runner, kube, registry, reporter, tmp_path):
    runner.on(["kind", "get", "clusters"], stdout="urumi\n")
    info = cluster_up(ClusterOptions(), docker=tools["docker"], kind=tools["kind"], helm=tools["helm"],
                      kube_factory=lambda t: kube, registry=registry, reporter=reporter,
                      locks_dir=tmp_path / "locks")
    assert not info.created
    assert not [a for a in runner.argvs() if a[:2] == ["kind", "create"]]


def test_cluster_up_stops_at_a_missing_tool(tools, runner, kube, registry, reporter, tmp_path):
    runner.on(HELM_VERSION, stdout="v3.10.0")
    with pytest.raises(ToolMissing) as info:
        cluster_up(ClusterOptions(), docker=tools["docker"], kind=tools["kind"], helm=tools["helm"],
                   kube_factory=lambda t: kube, registry=registry, reporter=reporter, locks_dir=tmp_path / "locks")
    assert "helm" in info.value.message
    assert not [a for a in runner.argvs() if a[:2] in (["kind", "create"], ["helm", "upgrade"])]


def test_cluster_status_when_the_api_is_down(tools, runner, registry):
    runner.on(["kind", "get", "clusters"], stdout="urumi\n")

    def unreachable(target):
        raise ClusterUnreachable("cannot reach the Kubernetes API of context 'kind-urumi'")

    info = cluster_status(ClusterOptions(), kind=tools["kind"], kube_factory=unreachable, registry=registry)
    assert info.exists and not info.reachable and "cannot reach" in info.message


def test_cluster_down(tools, runner, registry, reporter, tmp_path):
    with pytest.raises(NotFound):
        cluster_down(ClusterOptions(), kind=tools["kind"], registry=registry, reporter=reporter,
                     locks_dir=tmp_path / "locks")
    runner.on(["kind", "get", "clusters"], stdout="urumi\n")
    registry.put_store(Store(name="shop", type="woocommerce", cluster="kind-urumi", namespace="store-shop",
                             release="shop", url=""))
    registry.put_store(Store(name="keep", type="woocommerce", cluster="prod", namespace="store-keep",
                             release="keep", url=""))
    result = cluster_down(ClusterOptions(), kind=tools["kind"], registry=registry, reporter=reporter,
                          locks_dir=tmp_path / "locks")
    assert result == {"name": "urumi", "deleted": True, "stores_removed": 1}
    assert ["kind", "delete", "cluster", "--name", "urumi"] in runner.argvs()
    assert [s.name for s in registry.list_stores()] == ["keep"]


def test_doctor_reports_each_problem_with_a_hint(runner, tool_path, monkeypatch, kube):
    monkeypatch.setattr(doctor_mod, "port_state", lambda port: (True, f"port {port} is free"))
    runner.on(["docker", "info"], returncode=1, stderr="Cannot connect to the Docker daemon")
    runner.on(["kind", "version"], stdout="kind v0.27.0")
    runner.on(HELM_VERSION, stdout="v3.16.0")
    runner.on(["kubectl", "version"], stdout='{"clientVersion": {"gitVersion": "v1.31.0"}}')
    checks = run_doctor(docker=Docker(runner), kind=Kind(runner), helm=Helm(runner), kubectl=Kubectl(runner),
                        kube_factory=lambda t: kube, target=Target("kind-urumi"))
    by_name = {c.name: c for c in checks}
    assert list(by_name) == ["docker", "kind", "helm", "kubectl", "port 80", "port 443", "cluster", "ingress"]
    assert not by_name["docker"].ok and by_name["docker"].hint
    assert by_name["kind"].ok and by_name["helm"].ok and by_name["kubectl"].ok
    assert not by_name["cluster"].ok and "no kubeconfig" in by_name["cluster"].detail  # KUBECONFIG is isolated
    assert not by_name["ingress"].ok and "skipped" in by_name["ingress"].detail


def test_cluster_operations_are_serialised_by_urumis_own_lock(tools, runner, kube, registry, reporter, tmp_path):
    """kind fights over the kubeconfig lock when two creates/deletes overlap: urumi queues them."""
    import threading
    import time

    from urumi_cli.adapters.locks import file_lock

    kind_config = tmp_path / "kind.yaml"
    kind_config.write_text("kind: Cluster\n")
    locks = tmp_path / "locks"
    released_at = []
    holding = threading.Event()

    def other_process_holds_the_lock():
        with file_lock(locks / "cluster-urumi.lock"):
            holding.set()
            time.sleep(0.5)
            released_at.append(time.monotonic())

    holder = threading.Thread(target=other_process_holds_the_lock)
    holder.start()
    holding.wait(5)
    cluster_up(ClusterOptions(name="urumi", config_path=str(kind_config)), docker=tools["docker"],
               kind=tools["kind"], helm=tools["helm"], kube_factory=lambda t: kube, registry=registry,
               reporter=reporter, locks_dir=locks)
    finished_at = time.monotonic()
    holder.join()
    assert released_at and finished_at >= released_at[0]
    assert any("waiting for another urumi cluster operation" in str(event) for event in reporter.events)
    # Nothing ran before the lock was free: the first tool call is after the release.
    assert runner.argvs()[0] == ["kind", "version"]


def _up(tools, kube, registry, reporter, tmp_path, **opts):
    kind_config = tmp_path / "kind.yaml"
    kind_config.write_text("kind: Cluster\n")
    return cluster_up(ClusterOptions(config_path=str(kind_config), **opts), docker=tools["docker"],
                      kind=tools["kind"], helm=tools["helm"], kube_factory=lambda t: kube, registry=registry,
                      reporter=reporter, locks_dir=tmp_path / "locks")


def test_cluster_up_with_a_node_image_and_a_mirrored_ingress_chart(tools, runner, kube, registry, reporter, tmp_path):
    _up(tools, kube, registry, reporter, tmp_path, image="urumi.local/kind-node:v1.36.3",
        ingress_chart="/charts/traefik", ingress_version="0.1.0")
    create = next(a for a in runner.argvs() if a[:3] == ["kind", "create", "cluster"])
    assert create[create.index("--image") + 1] == "urumi.local/kind-node:v1.36.3"
    upgrade = next(a for a in runner.argvs() if a[:2] == ["helm", "upgrade"])
    assert upgrade[:5] == ["helm", "upgrade", "--install", "traefik", "/charts/traefik"]
    assert "--repo" not in upgrade and upgrade[upgrade.index("--version") + 1] == "0.1.0"
    assert upgrade[upgrade.index("--values") + 1].endswith("traefik-values.yaml")


def test_cluster_up_with_a_chart_without_version_passes_no_version(tools, runner, kube, registry, reporter, tmp_path):
    _up(tools, kube, registry, reporter, tmp_path, ingress_chart="oci://mirror.example/charts/traefik")
    upgrade = next(a for a in runner.argvs() if a[:2] == ["helm", "upgrade"])
    assert upgrade[4] == "oci://mirror.example/charts/traefik"
    assert "--version" not in upgrade and "--repo" not in upgrade


def test_cluster_up_preloads_images_before_the_ingress(tools, runner, kube, registry, reporter, tmp_path):
    runner.on(["docker", "image", "inspect"], stdout="sha256:1\n")
    runner.on(["kind", "load", "docker-image"])
    _up(tools, kube, registry, reporter, tmp_path, preload=("a:1", "b:2"))
    argvs = runner.argvs()
    loads = [i for i, a in enumerate(argvs) if a[:3] == ["kind", "load", "docker-image"]]
    assert [argvs[i][-1] for i in loads] == ["a:1", "b:2"]
    assert all(argvs[i][4] == "urumi" for i in loads)
    assert max(loads) < next(i for i, a in enumerate(argvs) if a[:2] == ["helm", "upgrade"])
    steps = [e[2] for e in reporter.events if e[0] == "step"]
    assert "loading image 1/2 a:1 into urumi" in steps and "loading image 2/2 b:2 into urumi" in steps


def test_load_images_names_every_missing_image_and_loads_nothing(tools, runner, registry, reporter, tmp_path):
    from urumi_cli.actions.cluster import load_images
    from urumi_cli.errors import EnvironmentProblem

    runner.on(["kind", "get", "clusters"], stdout="urumi\n")
    runner.on(["docker", "image", "inspect"], returncode=1, stderr="Error: No such image")
    runner.on(["docker", "image", "inspect", "--format", "{{.Id}}", "ok:1"], stdout="sha256:1\n")
    with pytest.raises(EnvironmentProblem) as info:
        load_images(ClusterOptions(), ["ok:1", "gone:1", "gone:2"], docker=tools["docker"], kind=tools["kind"],
                    reporter=reporter, locks_dir=tmp_path / "locks")
    assert "gone:1, gone:2" in info.value.message and "ok:1" not in info.value.message
    assert not [a for a in runner.argvs() if a[:2] == ["kind", "load"]]


def test_load_images_needs_the_cluster(tools, runner, registry, reporter, tmp_path):
    from urumi_cli.actions.cluster import load_images

    with pytest.raises(NotFound):
        load_images(ClusterOptions(), ["a:1"], docker=tools["docker"], kind=tools["kind"], reporter=reporter,
                    locks_dir=tmp_path / "locks")


def test_store_chart_images_reads_both_charts_and_applies_overrides(tmp_path):
    from urumi_cli.actions.cluster import store_chart_images

    images = store_chart_images(config.repo_root() / "charts")
    assert "mariadb:11.4.12" in images and "redis:7.4.11-alpine" in images
    assert any(i.startswith("wordpress:") for i in images) and any(i.startswith("node:") for i in images)
    assert len(images) == len(set(images))
    override = tmp_path / "woo.yaml"
    override.write_text("database:\n  image:\n    repository: urumi.local/mariadb\n    tag: '10.11'\n")
    images = store_chart_images(config.repo_root() / "charts", {"woocommerce": [str(override)]})
    assert "urumi.local/mariadb:10.11" in images and "mariadb:11.4.12" not in images


def test_doctor_says_when_docker_cannot_run_privileged_containers(runner, tool_path, monkeypatch, kube):
    monkeypatch.setattr(doctor_mod, "port_state", lambda port: (True, f"port {port} is free"))
    runner.on(["docker", "info"], stdout="20.10.24\n")
    runner.on(["docker", "image", "ls"], stdout="0123abcd\n")
    runner.on(["docker", "run"], returncode=125, stderr="docker: Error response from daemon: failed to create shim "
              "task: OCI runtime create failed: runc create failed: unable to start container process: unable to "
              "apply caps: operation not permitted: unknown")
    runner.on(["kind", "version"], stdout="kind v0.32.0")
    runner.on(HELM_VERSION, stdout="v3.21.4")
    runner.on(["kubectl", "version"], stdout='{"clientVersion": {"gitVersion": "v1.36.3"}}')
    checks = run_doctor(docker=Docker(runner), kind=Kind(runner), helm=Helm(runner), kubectl=Kubectl(runner),
                        kube_factory=lambda t: kube, target=Target("kind-urumi"))
    check = next(c for c in checks if c.name == "docker privileged")
    assert not check.ok and "privileged" in check.detail and "runc wrapper" in check.hint
    run = next(a for a in runner.argvs() if a[:2] == ["docker", "run"])
    assert run == ["docker", "run", "--rm", "--privileged", "--network", "none", "--entrypoint",
                   "/urumi-doctor-probe-does-not-exist", "0123abcd"]
    # An engine that can: runc gets past the capabilities and fails on the missing entrypoint.
    runner.on(["docker", "run"], returncode=127, stderr='exec: "/urumi-doctor-probe-does-not-exist": stat: no such file')
    checks = run_doctor(docker=Docker(runner), kind=Kind(runner), helm=Helm(runner), kubectl=Kubectl(runner),
                        kube_factory=lambda t: kube, target=Target("kind-urumi"))
    assert next(c for c in checks if c.name == "docker privileged").ok


def test_wait_ingress_ready_watches_until_every_replica_is_available():
    from urumi_cli.actions.cluster import wait_ingress_ready

    not_ready = deployment("traefik", ready=False, component="ingress", release="traefik", rv="1")
    ready = deployment("traefik", ready=True, component="ingress", release="traefik", rv="2")

    class Kube:
        watched = []

        def list(self, resource, namespace, selector):
            return [not_ready], "1"

        def watch(self, resource, namespace, selector, rv, timeout_s):
            self.watched.append((resource, namespace, rv))
            yield "MODIFIED", ready

    kube = Kube()
    wait_ingress_ready(kube, timeout_s=10)
    assert kube.watched == [("deployments", config.INGRESS_NAMESPACE, "1")]


def test_wait_ingress_ready_times_out_with_the_replica_count():
    from urumi_cli.actions.cluster import wait_ingress_ready
    from urumi_cli.errors import TimedOut

    now = [0.0]

    class Kube:
        def list(self, resource, namespace, selector):
            return [deployment("traefik", ready=False, component="ingress", release="traefik")], "1"

        def watch(self, resource, namespace, selector, rv, timeout_s):
            now[0] += 100
            return iter(())

    with pytest.raises(TimedOut) as info:
        wait_ingress_ready(Kube(), timeout_s=150, clock=lambda: now[0])
    assert "traefik 0/1 ready" in info.value.message
