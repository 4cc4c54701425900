"""The local kind cluster: up (idempotent), status, down. Serialised by urumi's own lock, because
kind rewrites the kubeconfig and parallel create/delete fight over its lock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from urumi_cli import config
from urumi_cli.adapters.locks import file_lock
from urumi_cli.errors import EnvironmentProblem, NotFound, UrumiError
from urumi_cli.models import ClusterInfo, Target
from urumi_cli.readiness import deployment_progress


@dataclass(frozen=True)
class ClusterOptions:
    name: str = config.DEFAULT_CLUSTER
    config_path: str | None = None
    kubeconfig: str | None = None
    timeout_s: float = 600.0

    @property
    def context(self) -> str:
        return f"kind-{self.name}"

    @property
    def target(self) -> Target:
        return Target(context=self.context, kubeconfig=self.kubeconfig)


def _cluster_lock(locks_dir: Path, name: str, reporter, timeout_s: float):
    def waiting() -> None:
        reporter.step("lock", f"waiting for another urumi cluster operation on {name}")

    return file_lock(locks_dir / f"cluster-{name}.lock", timeout_s=timeout_s, on_wait=waiting,
                     what=f"the lock of cluster {name}")


def preflight(*, docker, kind, helm, reporter) -> dict:
    """Docker reachable, kind and helm present at usable versions. Names what is missing."""
    reporter.step("preflight", "checking docker, kind and helm")
    versions = {"kind": kind.version().version, "helm": helm.version().version}
    versions["docker"] = docker.ensure_daemon()
    reporter.done("preflight", "docker {docker}, kind {kind}, helm {helm}".format(**versions))
    return versions


def traefik_values_file() -> str:
    return str(config.resource_file("traefik-values.yaml"))


def cluster_up(opts: ClusterOptions, *, docker, kind, helm, kube_factory, registry, reporter,
               locks_dir: Path) -> ClusterInfo:
    with _cluster_lock(locks_dir, opts.name, reporter, opts.timeout_s):
        versions = preflight(docker=docker, kind=kind, helm=helm, reporter=reporter)
        created = False
        if kind.exists(opts.name):
            reporter.step("kind", f"kind cluster {opts.name}")
            reporter.done("kind", f"kind cluster {opts.name} already exists")
        else:
            config_path = opts.config_path or str(config.default_kind_config())
            if not Path(config_path).is_file():
                raise EnvironmentProblem(f"kind config {config_path} not found", "pass --config PATH")
            reporter.step("kind", f"creating kind cluster {opts.name} (a minute or two)")
            kind.create(opts.name, config_path, kubeconfig=opts.kubeconfig)
            created = True
            reporter.done("kind", f"created kind cluster {opts.name}")
        reporter.step("ingress", f"Traefik {config.TRAEFIK_CHART_VERSION} ingress controller")
        helm.upgrade_install(
            "traefik", "traefik", namespace=config.INGRESS_NAMESPACE, target=opts.target,
            values_files=[traefik_values_file()], timeout_s=300, wait=True, create_namespace=True,
            extra=["--repo", config.TRAEFIK_CHART_REPO, "--version", config.TRAEFIK_CHART_VERSION],
        )
        reporter.done("ingress", f"Traefik ready in namespace {config.INGRESS_NAMESPACE}")
        registry.put_cluster(opts.name, opts.context, kubeconfig=opts.kubeconfig)
        info = cluster_status(opts, kind=kind, kube_factory=kube_factory, registry=registry)
        info.created = created
        info.extra.update(versions=versions)
        return info


def cluster_status(opts: ClusterOptions, *, kind, kube_factory, registry) -> ClusterInfo:
    exists = kind.exists(opts.name)
    info = ClusterInfo(name=opts.name, context=opts.context, exists=exists,
                       stores=len(registry.list_stores(opts.context)))
    if not exists:
        info.message = f"no kind cluster named {opts.name}; run `urumi cluster up`"
        return info
    try:
        kube = kube_factory(opts.target)
        info.extra["server_version"] = kube.server_version()
        info.reachable = True
        deployments = kube.list_objects("deployments", config.INGRESS_NAMESPACE)
        info.ingress_ready = bool(deployments) and all(deployment_progress(d)[0] for d in deployments)
        info.message = "ready" if info.ingress_ready else "ingress controller not ready; run `urumi cluster up`"
    except UrumiError as err:
        info.message = err.message
    return info


def cluster_down(opts: ClusterOptions, *, kind, registry, reporter, locks_dir: Path) -> dict:
    with _cluster_lock(locks_dir, opts.name, reporter, opts.timeout_s):
        if not kind.exists(opts.name):
            raise NotFound(f"no kind cluster named {opts.name}", "see `kind get clusters`")
        reporter.step("kind", f"deleting kind cluster {opts.name}")
        kind.delete(opts.name, kubeconfig=opts.kubeconfig)
        reporter.done("kind", f"deleted kind cluster {opts.name}")
        removed = registry.remove_cluster(opts.name, opts.context)
        return {"name": opts.name, "deleted": True, "stores_removed": removed}
