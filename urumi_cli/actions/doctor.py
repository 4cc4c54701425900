"""`urumi doctor`: every prerequisite checked on its own, each with a fix hint; nothing changed."""

from __future__ import annotations

import errno
import socket
from dataclasses import asdict, dataclass

from urumi_cli import config
from urumi_cli.adapters.kubeconfig import check_target
from urumi_cli.errors import UrumiError
from urumi_cli.readiness import deployment_progress


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _check(name: str, fn, hint_ok: str = "") -> Check:
    try:
        return Check(name, True, fn(), hint_ok)
    except UrumiError as err:
        return Check(name, False, err.message, err.hint or "")


def port_state(port: int) -> tuple[bool, str]:
    """Free means nothing listens on it locally (kind's port mapping needs it)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        in_use = probe.connect_ex(("127.0.0.1", port)) == 0
    finally:
        probe.close()
    if in_use:
        return False, f"something listens on 127.0.0.1:{port}"
    binder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        binder.bind(("0.0.0.0", port))
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            return False, f"port {port} is bound by another process"
    finally:
        binder.close()
    return True, f"port {port} is free"


def run_doctor(*, docker, kind, helm, kubectl, kube_factory, target) -> list[Check]:
    docker_check = _check("docker", lambda: f"daemon {docker.ensure_daemon()} reachable")
    checks = [docker_check]
    if docker_check.ok:
        problem = docker.privileged_problem()
        checks.append(Check(
            "docker privileged", problem is None,
            f"cannot run privileged containers ({problem}); kind's nodes are privileged" if problem
            else "runs privileged containers (kind's nodes need it)",
            "" if problem is None else
            "the machine's capability bounding set lacks a capability --privileged asks for (e.g. "
            "CAP_SYS_RESOURCE on some VMs): run dockerd with a runc wrapper as default runtime that drops it, "
            "as tests/harness/docker-engine does, or use another machine"))
    checks += [
        _check("kind", lambda: f"kind {kind.version().version}"),
        _check("helm", lambda: f"helm {helm.version().version}"),
        _check("kubectl", lambda: f"kubectl {kubectl.version().version}"),
    ]
    for port in (80, 443):
        ok, detail = port_state(port)
        hint = "" if ok else "fine if it is urumi's own kind cluster; otherwise stop that process"
        if not ok and _kind_cluster_exists(kind, target):
            ok, detail = True, f"{detail} (the urumi kind cluster maps it)"
            hint = ""
        checks.append(Check(f"port {port}", ok, detail, hint))

    def context() -> str:
        check_target(target)
        return f"context {target.context}: Kubernetes {kube_factory(target).server_version()}"

    ctx = _check("cluster", context)
    checks.append(ctx)
    if ctx.ok:
        def ingress() -> str:
            deps = kube_factory(target).list_objects("deployments", config.INGRESS_NAMESPACE)
            if not deps:
                raise UrumiError(f"no ingress controller in namespace {config.INGRESS_NAMESPACE}",
                                 "run `urumi cluster up` (it installs Traefik)")
            if not all(deployment_progress(d)[0] for d in deps):
                raise UrumiError("the ingress controller is not ready",
                                 f"kubectl -n {config.INGRESS_NAMESPACE} get pods --context {target.context}")
            return f"Traefik ready in namespace {config.INGRESS_NAMESPACE}"

        checks.append(_check("ingress", ingress))
    else:
        checks.append(Check("ingress", False, "skipped: no cluster", "run `urumi cluster up`"))
    return checks


def _kind_cluster_exists(kind, target) -> bool:
    """Whether the target's context is a kind cluster kind knows (kind-<name>), to word the hint."""
    from urumi_cli.errors import UrumiError

    try:
        return target.context.removeprefix("kind-") in kind.clusters()
    except UrumiError:
        return False
