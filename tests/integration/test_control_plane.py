"""Smoke tests of the test control plane itself (tests/harness/control-plane): what the other
integration tests rely on. Everything goes through the kubeconfig path `up` printed."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest


def apply(cp, ns: str, manifest: dict | list) -> None:
    items = manifest if isinstance(manifest, list) else [manifest]
    cp.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))


def pod_spec(image: str, annotations: dict | None = None, restart: str = "Always") -> dict:
    return {
        "metadata": {"labels": {"app": "smoke"}, "annotations": annotations or {}},
        "spec": {
            "restartPolicy": restart,
            "containers": [
                {"name": "main", "image": image, "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}
            ],
        },
    }


def deployment(name: str, image: str, annotations: dict | None = None) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "smoke"}},
            "template": pod_spec(image, annotations),
        },
    }


def job(name: str, image: str, annotations: dict | None = None, backoff_limit: int = 0) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": backoff_limit, "template": pod_spec(image, annotations, restart="Never")},
    }


def pods(cp, ns: str) -> list[dict]:
    return cp.get_json("pods", "-n", ns)["items"]


def condition(obj: dict, type_: str) -> str | None:
    for c in obj.get("status", {}).get("conditions") or []:
        if c.get("type") == type_:
            return c.get("status")
    return None


def waiting_reasons(pod: dict) -> list[str]:
    statuses = (pod.get("status", {}).get("containerStatuses") or []) + (
        pod.get("status", {}).get("initContainerStatuses") or []
    )
    return [s["state"]["waiting"].get("reason") for s in statuses if "waiting" in s.get("state", {})]


def test_nodes_ready(control_plane):
    r = control_plane.kubectl("get", "nodes")  # the printed kubeconfig works with plain kubectl
    assert "Ready" in r.stdout
    nodes = control_plane.get_json("nodes")["items"]
    assert len(nodes) >= 3
    for n in nodes:
        assert condition(n, "Ready") == "True", n["metadata"]["name"]
        assert not n["spec"].get("taints"), n["spec"].get("taints")
        assert n["status"]["allocatable"]["cpu"] == "32"
    assert sum(n["metadata"]["labels"].get("ingress-ready") == "true" for n in nodes) == 1
    kubeconfig = control_plane.kubeconfig.read_text()
    assert f"current-context: {control_plane.context}" in kubeconfig
    assert "server: https://127.0.0.1:" in kubeconfig


def test_default_service_account_and_storage_class(control_plane):
    control_plane.kubectl("get", "serviceaccount", "default", "-n", "default")
    sc = control_plane.get_json("storageclass", "standard")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_pvc_gets_bound(control_plane, namespace, wait_until):
    apply(
        control_plane,
        namespace,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},  # no storageClassName: the default class applies
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    pvc = wait_until(
        "PVC Bound",
        lambda: (p := control_plane.get_json("pvc", "data", "-n", namespace))["status"].get("phase") == "Bound" and p,
        timeout=30,
    )
    assert pvc["spec"]["storageClassName"] == "standard"
    pv = control_plane.get_json("pv", pvc["spec"]["volumeName"])
    assert pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    assert pv["status"]["phase"] == "Bound"


def test_deployment_pod_becomes_ready(control_plane, namespace):
    apply(control_plane, namespace, deployment("web", "nginx:1.27"))
    control_plane.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    (pod,) = pods(control_plane, namespace)
    assert condition(pod, "Ready") == "True"
    assert pod["status"]["phase"] == "Running"


def test_job_completes(control_plane, namespace):
    apply(control_plane, namespace, job("setup", "busybox:1.36"))
    control_plane.kubectl("wait", "--for=condition=Complete", "job/setup", "-n", namespace, "--timeout=60s")
    (pod,) = pods(control_plane, namespace)
    assert pod["status"]["phase"] == "Succeeded"


@pytest.mark.parametrize("how", ["image", "annotation"])
def test_pull_fail_simulation(control_plane, namespace, wait_until, how):
    if how == "image":
        apply(control_plane, namespace, deployment("web", "nginx:1.27-kwok-pull-fail"))
    else:
        apply(control_plane, namespace, deployment("web", "nginx:1.27", {"urumi.test/simulate": "pull-fail"}))
    pod = wait_until(
        "a pod waiting with ErrImagePull",
        lambda: next((p for p in pods(control_plane, namespace) if "ErrImagePull" in waiting_reasons(p)), None),
        timeout=30,
    )
    assert pod["status"]["phase"] == "Pending"
    assert condition(pod, "Ready") == "False"


@pytest.mark.parametrize("how", ["image", "annotation"])
def test_fail_simulation_fails_the_job(control_plane, namespace, wait_until, how):
    if how == "image":
        apply(control_plane, namespace, job("setup", "wordpress:cli-kwok-fail"))
    else:
        apply(control_plane, namespace, job("setup", "wordpress:cli", {"urumi.test/simulate": "fail"}))
    control_plane.kubectl("wait", "--for=condition=Failed", "job/setup", "-n", namespace, "--timeout=60s")
    (pod,) = pods(control_plane, namespace)
    assert pod["status"]["phase"] == "Failed"
    (status,) = pod["status"]["containerStatuses"]
    assert status["state"]["terminated"]["exitCode"] == 1


def test_fail_simulation_crash_loops_a_deployment(control_plane, namespace, wait_until):
    apply(control_plane, namespace, deployment("web", "wordpress:6-kwok-fail"))
    pod = wait_until(
        "a pod in CrashLoopBackOff",
        lambda: next((p for p in pods(control_plane, namespace) if "CrashLoopBackOff" in waiting_reasons(p)), None),
        timeout=30,
    )
    assert condition(pod, "Ready") == "False"
    (status,) = pod["status"]["containerStatuses"]
    assert status["lastState"]["terminated"]["exitCode"] == 1


@pytest.mark.parametrize("how", ["image", "annotation"])
def test_never_ready_simulation(control_plane, namespace, wait_until, how):
    if how == "image":
        apply(control_plane, namespace, [deployment("web", "nginx:1.27-kwok-never-ready"), job("j", "x:1-kwok-never-ready")])
    else:
        ann = {"urumi.test/simulate": "never-ready"}
        apply(control_plane, namespace, [deployment("web", "nginx:1.27", ann), job("j", "x:1", ann)])
    wait_until(
        "both pods Running",
        lambda: len(ps := pods(control_plane, namespace)) == 2 and all(p["status"].get("phase") == "Running" for p in ps),
        timeout=30,
    )
    time.sleep(3)  # and they stay that way: not Ready, the Job pod not Succeeded
    for p in pods(control_plane, namespace):
        assert p["status"]["phase"] == "Running"
        assert condition(p, "Ready") == "False"


def test_namespace_deletion_finishes(control_plane, wait_until):
    ns = f"delete-me-{os.urandom(3).hex()}"
    control_plane.kubectl("create", "namespace", ns)
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "replicas": 1,
            "selector": {"matchLabels": {"app": "smoke"}},
            "template": pod_spec("mariadb:11"),
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
                }
            ],
        },
    }
    apply(
        control_plane,
        ns,
        [deployment("web", "nginx:1.27"), statefulset, job("setup", "busybox:1.36"), job("bad", "x:1-kwok-pull-fail")],
    )
    control_plane.kubectl("rollout", "status", "statefulset/db", "-n", ns, "--timeout=60s")
    (pvc,) = control_plane.get_json("pvc", "-n", ns)["items"]
    volume = pvc["spec"]["volumeName"]

    control_plane.kubectl("delete", "namespace", ns, "--wait=false")
    wait_until(
        f"namespace {ns} gone",
        lambda: control_plane.kubectl("get", "namespace", ns, check=False).returncode != 0,
        timeout=90,
    )
    wait_until(
        f"PersistentVolume {volume} deleted",
        lambda: control_plane.kubectl("get", "pv", volume, check=False).returncode != 0,
        timeout=30,
    )


def test_up_again_reuses_the_running_cluster(control_plane):
    start = time.monotonic()
    r = control_plane.harness("up", "--name", control_plane.name, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == str(control_plane.kubeconfig)
    assert "already running" in r.stderr
    assert time.monotonic() - start < 10


def _running(pid: int) -> bool:
    """A live process with that pid (a zombie waiting for init to reap it is not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def test_down_leaves_no_process_behind(control_plane):
    # A second cluster beside the session's one: distinct name, its own free ports.
    name = f"{control_plane.name}-down"
    up = control_plane.harness("up", "--name", name)
    try:
        assert up.returncode == 0, up.stderr
        kubeconfig = Path(up.stdout.strip().splitlines()[-1])
        assert kubeconfig != control_plane.kubeconfig
        state = json.loads((kubeconfig.parent / "state.json").read_text())
        pids = {comp: p["pid"] for comp, p in state["processes"].items()}
        assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
        assert all(_running(pid) for pid in pids.values()), pids
        r = subprocess.run(
            [str(control_plane.testbin / "kubectl"), f"--kubeconfig={kubeconfig}", "get", "nodes"],
            capture_output=True, text=True, env=control_plane.env, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0 and "Ready" in r.stdout, r.stderr
    finally:
        down = control_plane.harness("down", "--name", name, timeout=120)
    assert down.returncode == 0, down.stderr
    still = {comp: pid for comp, pid in pids.items() if _running(pid)}
    assert not still, f"processes left behind: {still}"
    assert not (control_plane.state_dir.parent / name).exists()
    again = control_plane.harness("down", "--name", name, timeout=60)
    assert again.returncode == 0, again.stderr
    # The session's cluster is untouched.
    control_plane.kubectl("get", "nodes")


def test_bare_pod_runs_to_completion(control_plane, namespace, wait_until):
    pod = {"apiVersion": "v1", "kind": "Pod", **pod_spec("busybox:1.36", restart="Never")}
    pod["metadata"]["name"] = "once"
    apply(control_plane, namespace, pod)
    wait_until(
        "pod Succeeded",
        lambda: control_plane.get_json("pod", "once", "-n", namespace)["status"].get("phase") == "Succeeded",
        timeout=30,
    )


def test_helm_install_wait_and_helm_test(control_plane, namespace, tmp_path):
    """The env puts testbin's helm first on PATH; --wait and `helm test` work on KWOK pods."""
    chart = tmp_path / "smoke"
    (chart / "templates" / "tests").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: smoke\nversion: 0.1.0\n")
    (chart / "templates" / "deploy.yaml").write_text(json.dumps(deployment("web", "nginx:1.27")))
    test_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "smoke-test", "annotations": {"helm.sh/hook": "test"}}}
    test_pod["spec"] = pod_spec("busybox:1.36", restart="Never")["spec"]
    (chart / "templates" / "tests" / "test.yaml").write_text(json.dumps(test_pod))
    common = ["--kubeconfig", str(control_plane.kubeconfig), "--kube-context", control_plane.context, "-n", namespace]
    for argv in (["helm", "install", "smoke", str(chart), "--wait", "--timeout", "60s"], ["helm", "test", "smoke", "--timeout", "60s"]):
        r = subprocess.run([*argv, *common], capture_output=True, text=True, env=control_plane.env, timeout=120)
        assert r.returncode == 0, f"{argv}: {r.stdout}{r.stderr}"
    r = subprocess.run(["helm", "version", "--short"], capture_output=True, text=True, env=control_plane.env)
    assert r.stdout.startswith("v3."), r.stdout
