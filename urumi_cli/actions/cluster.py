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
    # kind's node image (`kind create cluster --image`); only used when the cluster is created.
    image: str | None = None
    # A chart reference helm understands (local dir or .tgz, oci://..., repo/name) instead of the
    # pinned upstream Traefik chart; its version with ingress_version. Mirrors for air-gapped networks.
    ingress_chart: str | None = None
    ingress_version: str | None = None
    # Images to copy from the local Docker into the nodes before the ingress is installed.
    preload: tuple[str, ...] = ()

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


def ingress_chart_args(opts: ClusterOptions) -> tuple[str, list[str], str]:
    """(chart argument, extra helm flags, label) for the ingress release."""
    if not opts.ingress_chart:
        version = opts.ingress_version or config.TRAEFIK_CHART_VERSION
        return "traefik", ["--repo", config.TRAEFIK_CHART_REPO, "--version", version], f"Traefik chart {version}"
    extra = ["--version", opts.ingress_version] if opts.ingress_version else []
    version = f" {opts.ingress_version}" if opts.ingress_version else ""
    return opts.ingress_chart, extra, f"chart {opts.ingress_chart}{version}"


INGRESS_READY_TIMEOUT_S = 300.0


def wait_ingress_ready(kube, *, timeout_s: float, clock=None) -> None:
    """Until every Deployment of the ingress namespace is ready: list, then watch from the list's
    resourceVersion; a 410 or a dropped watch lists again."""
    import time

    from urumi_cli.adapters.kube import ApiDenied, Gone, TransientApiError
    from urumi_cli.errors import TimedOut

    clock = clock or time.monotonic
    deadline = clock() + timeout_s
    detail = "no Deployment yet"
    while True:
        try:
            items, rv = kube.list("deployments", config.INGRESS_NAMESPACE, None)
            state = {d["metadata"]["name"]: d for d in items}

            def summary() -> tuple[bool, str]:
                progress = {name: deployment_progress(d) for name, d in state.items()}
                text = ", ".join(f"{name} {p[1]}" for name, p in sorted(progress.items())) or "no Deployment yet"
                return bool(progress) and all(p[0] for p in progress.values()), text

            ready, detail = summary()
            if ready:
                return
            remaining = deadline - clock()
            if remaining <= 0:
                break
            for kind, obj in kube.watch("deployments", config.INGRESS_NAMESPACE, None, rv,
                                        timeout_s=max(1, min(30, int(remaining)))):
                name = (obj.get("metadata") or {}).get("name")
                if kind == "DELETED":
                    state.pop(name, None)
                elif kind in ("ADDED", "MODIFIED") and name:
                    state[name] = obj
                ready, detail = summary()
                if ready:
                    return
                if clock() >= deadline:
                    break
        except (Gone, TransientApiError):
            pass
        except ApiDenied as err:
            raise EnvironmentProblem(f"cannot watch the ingress controller: {err}",
                                     "use a kubeconfig with cluster-admin rights") from None
        if clock() >= deadline:
            break
    raise TimedOut(f"the ingress controller was not ready after {timeout_s:.0f}s ({detail})",
                   f"kubectl -n {config.INGRESS_NAMESPACE} describe pods")


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
            image = f" from {opts.image}" if opts.image else ""
            reporter.step("kind", f"creating kind cluster {opts.name}{image} (a minute or two)")
            kind.create(opts.name, config_path, kubeconfig=opts.kubeconfig, image=opts.image)
            created = True
            reporter.done("kind", f"created kind cluster {opts.name}")
        if opts.preload:
            _load(opts.name, list(opts.preload), docker=docker, kind=kind, reporter=reporter)
        chart, extra, label = ingress_chart_args(opts)
        reporter.step("ingress", f"{label} ingress controller")
        helm.upgrade_install(
            "traefik", chart, namespace=config.INGRESS_NAMESPACE, target=opts.target,
            values_files=[traefik_values_file()], timeout_s=300, wait=True, create_namespace=True, extra=extra,
        )
        # Helm 3's --wait counts a Deployment as ready at replicas - maxUnavailable ready pods (0 of
        # 1 with our maxUnavailable: 1): wait for urumi's own readiness, every replica available.
        wait_ingress_ready(kube_factory(opts.target), timeout_s=INGRESS_READY_TIMEOUT_S)
        reporter.done("ingress", f"{label} ready in namespace {config.INGRESS_NAMESPACE}")
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


def _load(name: str, images: list[str], *, docker, kind, reporter) -> list[str]:
    missing = [ref for ref in images if not docker.image_exists(ref)]
    if missing:
        raise EnvironmentProblem(f"not in the local Docker: {', '.join(missing)}",
                                 "build or pull them first (`docker image ls` shows what is there)")
    for i, ref in enumerate(images, 1):
        key = f"load-{i}"
        reporter.step(key, f"loading image {i}/{len(images)} {ref} into {name}")
        kind.load_image(name, ref)
        reporter.done(key, f"loaded {ref}")
    return images


def load_images(opts: ClusterOptions, images: list[str], *, docker, kind, reporter, locks_dir: Path) -> dict:
    """Copy images from the local Docker into the cluster's nodes, so pods start without a pull."""
    with _cluster_lock(locks_dir, opts.name, reporter, opts.timeout_s):
        if not kind.exists(opts.name):
            raise NotFound(f"no kind cluster named {opts.name}", "run `urumi cluster up` first")
        _load(opts.name, images, docker=docker, kind=kind, reporter=reporter)
        return {"name": opts.name, "images": images}


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _image_refs(node) -> list[str]:
    """Every image a values tree names: mappings with `repository` and `tag` (and maybe `registry`)."""
    refs: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("repository"), str) and node.get("tag") not in (None, ""):
            registry = node.get("registry")
            refs.append(f"{registry + '/' if registry else ''}{node['repository']}:{node['tag']}")
        for value in node.values():
            refs.extend(_image_refs(value))
    elif isinstance(node, list):
        for value in node:
            refs.extend(_image_refs(value))
    return refs


def store_chart_images(charts_dir: Path, values: dict[str, list[str]] | None = None) -> list[str]:
    """The images the store charts run, from each chart's values.yaml with the given override
    files (per store type, as passed to `helm --values`) merged on top; first-seen order, no duplicates."""
    import yaml

    refs: list[str] = []
    for store_type in config.STORE_TYPES:
        path = charts_dir / store_type / "values.yaml"
        try:
            tree = yaml.safe_load(path.read_text()) or {}
            for override in (values or {}).get(store_type, []):
                tree = _merge(tree, yaml.safe_load(Path(override).read_text()) or {})
        except OSError as err:
            raise EnvironmentProblem(f"cannot read {err.filename}: {err.strerror}",
                                     "check the path, or pass the images by name") from None
        except yaml.YAMLError as err:
            raise EnvironmentProblem(f"invalid YAML in values for {store_type}: {err}", "fix the file") from None
        refs.extend(r for r in _image_refs(tree) if r not in refs)
    return refs
