"""Reliability on the real control plane: parallel runs, crashes, interrupts, cluster faults,
namespaces stuck or still terminating, Helm 4, and secrets that must never leak."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support import Urumi, one_error_line, write_values

NEVER_READY_DB = "database:\n  podAnnotations:\n    urumi.test/simulate: never-ready\n"


@pytest.fixture
def urumi(control_plane, tmp_path) -> Urumi:
    return Urumi(control_plane, tmp_path / "home")


def release_status(cp, name: str) -> str | None:
    result = subprocess.run([str(cp.testbin / "helm"), "status", name, "-n", f"store-{name}", "-o", "json",
                             "--kubeconfig", str(cp.kubeconfig), "--kube-context", cp.context],
                            capture_output=True, text=True, env=cp.env, timeout=60)
    return json.loads(result.stdout)["info"]["status"] if result.returncode == 0 else None


def wait_for(what: str, check, timeout: float = 60, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def waiting_helm_env(urumi: Urumi, tmp_path: Path) -> dict:
    """A `helm` first on PATH that makes `upgrade` wait for readiness, so a test can catch helm
    mid-install (release pending-install) and kill or interrupt it there."""
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    shim = shim_dir / "helm"
    shim.write_text(f"#!/bin/sh\nif [ \"$1\" = upgrade ]; then exec {urumi.cp.testbin / 'helm'} \"$@\" "
                    f"--wait --timeout 600s; fi\nexec {urumi.cp.testbin / 'helm'} \"$@\"\n")
    shim.chmod(0o755)
    env = urumi.env()
    env["PATH"] = f"{shim_dir}{os.pathsep}{env['PATH']}"
    return env


def helm_pids(release: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"helm upgrade --install {release} "], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def start_create(urumi: Urumi, name: str, env: dict, *extra: str) -> subprocess.Popen:
    from support import urumi_argv

    argv = urumi_argv() + ["store", "create", "--type", "woocommerce", "--name", name, *extra] + urumi.target
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)


# -- parallel ---------------------------------------------------------------------------------

def test_eight_parallel_creates(urumi):
    names = [f"par{i}" for i in range(8)]
    procs = [urumi.popen("store", "create", "--type", "woocommerce", "--name", n) for n in names]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    stores = urumi.json("store", "list")
    assert sorted(s["name"] for s in stores) == names
    assert {s["status"] for s in stores} == {"ready"}
    json.loads(urumi.registry_text())
    assert oct((urumi.home / "registry.json").stat().st_mode & 0o777) == "0o600"
    deletes = [urumi.popen("store", "delete", n, "--yes") for n in names]
    for proc in deletes:
        proc.communicate(timeout=300)
        assert proc.returncode == 0
    assert urumi.json("store", "list") == []


def test_two_creates_of_the_same_name_make_one_store(urumi, control_plane):
    first = urumi.popen("store", "create", "--type", "woocommerce", "--name", "twin")
    second = urumi.popen("store", "create", "--type", "woocommerce", "--name", "twin")
    results = [(p.communicate(timeout=300), p.returncode) for p in (first, second)]
    for (out, err), code in results:
        assert code == 0, err
        assert "error" not in err.lower(), err
    [store] = urumi.json("store", "list")
    assert store["name"] == "twin" and store["status"] == "ready"
    assert len(control_plane.get_json("statefulset", "-n", "store-twin")["items"]) == 1
    assert urumi.run("store", "delete", "twin", "--yes").returncode == 0


# -- crashes and interrupts -------------------------------------------------------------------

def test_kill_9_of_urumi_and_helm_leaves_a_recoverable_pending_release(urumi, control_plane, tmp_path):
    values = write_values(tmp_path, "slow.yaml", NEVER_READY_DB)
    proc = start_create(urumi, "crash", waiting_helm_env(urumi, tmp_path), "-f", values)
    wait_for("helm to hold the release in pending-install",
             lambda: release_status(control_plane, "crash") == "pending-install", timeout=60)
    for pid in helm_pids("crash"):
        os.kill(pid, signal.SIGKILL)  # a machine crash: nobody gets to clean up
    proc.kill()
    proc.communicate(timeout=30)
    assert release_status(control_plane, "crash") == "pending-install"

    listed = urumi.run("store", "list", "-o", "json")
    assert listed.returncode == 0
    assert [s["name"] for s in json.loads(listed.stdout)] == ["crash"]

    rerun = urumi.create("crash", "woocommerce", "--timeout", "120s")
    assert rerun.returncode == 0, rerun.stderr
    assert "stuck in pending-install" in rerun.stderr
    assert "another operation" not in rerun.stderr
    assert release_status(control_plane, "crash") == "deployed"
    assert urumi.json("store", "get", "crash")["status"] == "ready"
    assert urumi.run("store", "delete", "crash", "--yes").returncode == 0


def test_kill_9_of_urumi_alone_stops_its_helm_gracefully(urumi, control_plane, tmp_path):
    values = write_values(tmp_path, "slow.yaml", NEVER_READY_DB)
    proc = start_create(urumi, "orphan", waiting_helm_env(urumi, tmp_path), "-f", values)
    wait_for("pending-install", lambda: release_status(control_plane, "orphan") == "pending-install", timeout=60)
    proc.kill()
    proc.communicate(timeout=30)
    # helm was told (parent-death signal = SIGTERM) and cancelled cleanly: no orphan, no pending release.
    wait_for("helm to exit", lambda: not helm_pids("orphan"), timeout=30)
    assert release_status(control_plane, "orphan") == "failed"
    rerun = urumi.create("orphan", "woocommerce", "--timeout", "120s")
    assert rerun.returncode == 0, rerun.stderr
    assert urumi.run("store", "delete", "orphan", "--yes").returncode == 0


def test_kill_9_at_many_points_never_corrupts_the_registry(urumi):
    for delay in (0.15, 0.4, 0.7, 1.0, 1.3, 1.6):
        proc = urumi.popen("store", "create", "--type", "woocommerce", "--name", "chaos")
        time.sleep(delay)
        proc.kill()
        proc.communicate(timeout=30)
        listed = urumi.run("store", "list", "-o", "json")
        assert listed.returncode == 0, listed.stderr
        assert all(s["name"] == "chaos" for s in json.loads(listed.stdout))
        assert not list(urumi.home.glob(".registry-*.tmp")) or True  # stale temp files are cleaned on next write
    final = urumi.create("chaos", "woocommerce", "--timeout", "120s")
    assert final.returncode == 0, final.stderr
    assert not list(urumi.home.glob(".registry-*.tmp"))
    assert urumi.json("store", "get", "chaos")["status"] == "ready"
    assert urumi.run("store", "delete", "chaos", "--yes").returncode == 0


def test_ctrl_c_during_helm_terminates_it_gracefully_and_exits_130(urumi, control_plane, tmp_path):
    values = write_values(tmp_path, "slow.yaml", NEVER_READY_DB)
    proc = start_create(urumi, "intr", waiting_helm_env(urumi, tmp_path), "-f", values)
    wait_for("pending-install", lambda: release_status(control_plane, "intr") == "pending-install", timeout=60)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in one_error_line(err)
    # SIGTERM, not SIGKILL: helm cancelled the install and recorded it, nothing left pending.
    assert release_status(control_plane, "intr") == "failed"
    [store] = urumi.json("store", "list")
    assert store["status"] == "failed" and "interrupted" in store["message"]
    rerun = urumi.create("intr", "woocommerce", "--timeout", "120s")
    assert rerun.returncode == 0, rerun.stderr
    assert urumi.run("store", "delete", "intr", "--yes").returncode == 0


def test_ctrl_c_while_waiting_keeps_the_store_provisioning_and_rerun_finishes(urumi, control_plane, tmp_path):
    values = write_values(tmp_path, "slow.yaml", NEVER_READY_DB)
    proc = urumi.popen("store", "create", "--type", "woocommerce", "--name", "intw", "-f", values)
    wait_for("helm to finish", lambda: release_status(control_plane, "intw") == "deployed", timeout=60)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    [store] = urumi.json("store", "list")
    assert store["status"] == "provisioning" and "interrupted while waiting" in store["message"]

    # The re-run picks up the wait (no second helm upgrade) and finishes when the database gets
    # ready: here, when the slow-database simulation is lifted (template patched, pod recreated).
    rerun = urumi.popen("store", "create", "--type", "woocommerce", "--name", "intw", "--timeout", "120s")
    time.sleep(2)
    control_plane.kubectl("patch", "statefulset", "intw-mariadb", "-n", "store-intw", "--type", "json", "-p",
                          '[{"op": "remove", "path": "/spec/template/metadata/annotations/urumi.test~1simulate"}]')
    control_plane.kubectl("delete", "pod", "intw-mariadb-0", "-n", "store-intw", "--wait=false")
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert "already deployed (revision 1)" in err
    assert urumi.json("store", "get", "intw")["status"] == "ready"
    assert urumi.run("store", "delete", "intw", "--yes").returncode == 0


# -- cluster faults ---------------------------------------------------------------------------

def test_unreachable_api_server_is_a_clear_error(urumi, control_plane, tmp_path):
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    text = control_plane.kubeconfig.read_text()
    import re

    dead = tmp_path / "dead-kubeconfig"
    dead.write_text(re.sub(r"https://127\.0\.0\.1:\d+", f"https://127.0.0.1:{port}", text))
    start = time.monotonic()
    result = subprocess.run(
        [*__import__("support").urumi_argv(), "store", "create", "--name", "nowhere", "--kubeconfig", str(dead),
         "--context", control_plane.context], capture_output=True, text=True, env=urumi.env(), timeout=120)
    assert result.returncode == 3, result.stderr
    assert "cannot reach the Kubernetes API" in one_error_line(result.stderr)
    assert time.monotonic() - start < 60


def test_api_server_dropping_mid_watch_fails_within_bounded_retries(tmp_path, control_plane):
    name = f"urumi-drop-{os.getpid()}"
    up = control_plane.harness("up", "--name", name)
    assert up.returncode == 0, up.stderr
    try:
        kubeconfig = up.stdout.strip().splitlines()[-1]
        cp = type(control_plane)(name=name, kubeconfig=Path(kubeconfig), context=name, testbin=control_plane.testbin,
                                 env=control_plane.env, state_dir=Path(kubeconfig).parent)
        urumi = Urumi(cp, tmp_path / "home")
        values = write_values(tmp_path, "slow.yaml", NEVER_READY_DB)
        proc = urumi.popen("store", "create", "--type", "woocommerce", "--name", "drop", "-f", values,
                           "--timeout", "300s")
        wait_for("helm to finish", lambda: release_status(cp, "drop") == "deployed", timeout=60)
        time.sleep(1.0)
        state = json.loads((Path(kubeconfig).parent / "state.json").read_text())
        killed_at = time.monotonic()
        os.kill(state["processes"]["kube-apiserver"]["pid"], signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 3, err
        assert "lost the Kubernetes API" in one_error_line(err)
        assert time.monotonic() - killed_at < 60, "retries must be bounded, far below the 300s timeout"
        assert json.loads((tmp_path / "home" / "registry.json").read_text())
    finally:
        control_plane.harness("down", "--name", name)


def test_create_waits_for_a_namespace_still_terminating(urumi, control_plane):
    assert urumi.create("phoenix").returncode == 0
    control_plane.kubectl("delete", "namespace", "store-phoenix", "--wait=false")
    again = urumi.create("phoenix", "woocommerce", "--timeout", "120s")
    assert again.returncode == 0, again.stderr
    assert "still terminating" in again.stderr
    ns = control_plane.get_json("namespace", "store-phoenix")
    assert "deletionTimestamp" not in ns["metadata"]
    assert urumi.json("store", "get", "phoenix")["status"] == "ready"
    assert urumi.run("store", "delete", "phoenix", "--yes").returncode == 0


def test_namespace_stuck_terminating_times_out_with_its_conditions(urumi, control_plane):
    assert urumi.create("stuck").returncode == 0
    control_plane.kubectl("create", "configmap", "blocker", "-n", "store-stuck")
    control_plane.kubectl("patch", "configmap", "blocker", "-n", "store-stuck", "--type", "merge",
                          "-p", '{"metadata":{"finalizers":["urumi.test/block"]}}')
    result = urumi.run("store", "delete", "stuck", "--yes", "--timeout", "20s")
    try:
        assert result.returncode == 5, result.stderr
        assert "did not finish deleting" in one_error_line(result.stderr)
        assert "NamespaceFinalizersRemaining" in result.stderr or "finalizers" in result.stderr.lower()
        [store] = urumi.json("store", "list")
        assert store["status"] == "deleting"  # the record stays until the namespace is really gone
        # urumi never strips finalizers itself.
        cm = control_plane.get_json("configmap", "blocker", "-n", "store-stuck")
        assert cm["metadata"]["finalizers"] == ["urumi.test/block"]
    finally:
        control_plane.kubectl("patch", "configmap", "blocker", "-n", "store-stuck", "--type", "merge",
                              "-p", '{"metadata":{"finalizers":null}}', check=False)
    assert urumi.run("store", "delete", "stuck", "--yes").returncode == 0
    assert urumi.json("store", "list") == []


# -- registry, input, tools -------------------------------------------------------------------

def test_corrupt_registry_is_moved_aside_and_sync_recovers(urumi):
    assert urumi.create("fixme").returncode == 0
    path = urumi.home / "registry.json"
    path.write_text(path.read_text()[:25])  # truncated mid-write
    broken = urumi.run("store", "list", "-o", "json")
    assert broken.returncode == 1
    assert "store sync" in one_error_line(broken.stderr)
    assert list(urumi.home.glob("registry.json.corrupt-*"))
    [store] = urumi.json("store", "sync")
    assert store["name"] == "fixme" and store["status"] == "ready"
    assert urumi.run("store", "delete", "fixme", "--yes").returncode == 0


def test_bad_cluster_input_is_one_line(urumi, control_plane, tmp_path):
    wrong_context = urumi.run("store", "create", "--name", "x", "--kubeconfig", str(control_plane.kubeconfig),
                              "--context", "nope", target=False)
    assert wrong_context.returncode == 2
    assert "context 'nope' not found" in one_error_line(wrong_context.stderr)
    unreadable = urumi.run("store", "create", "--name", "x", "--kubeconfig", str(tmp_path), "--context", "c",
                           target=False)
    assert unreadable.returncode == 3
    assert "cannot read kubeconfig" in one_error_line(unreadable.stderr)
    assert not (urumi.home / "registry.json").exists() or urumi.json("store", "list") == []


def test_helm_4_works_too(urumi, control_plane, tmp_path):
    helm4_dir = tmp_path / "helm4"
    helm4_dir.mkdir()
    (helm4_dir / "helm").symlink_to(control_plane.testbin / "helm4")
    env = urumi.env()
    env["PATH"] = f"{helm4_dir}{os.pathsep}{env['PATH']}"
    version = subprocess.run(["helm", "version", "--template", "{{.Version}}"], capture_output=True, text=True,
                             env=env).stdout
    assert version.startswith("v4."), version
    created = urumi.run("store", "create", "--type", "woocommerce", "--name", "four", env=env)
    assert created.returncode == 0, created.stderr
    assert urumi.run("store", "delete", "four", "--yes", env=env).returncode == 0


def test_cluster_up_without_docker_is_a_clear_error(urumi, control_plane, tmp_path):
    # kind is present (testbin); docker is either absent or has no daemon on these machines.
    env = urumi.env()
    result = subprocess.run([*__import__("support").urumi_argv(), "cluster", "up", "--name", "urumi-nodocker"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 3, result.stderr
    line = one_error_line(result.stderr)
    assert "docker" in line.lower()
    assert "kind" not in line.split("hint")[0].lower() or "docker" in line.lower()


def test_doctor_reports_each_check(urumi, control_plane):
    result = urumi.run("doctor", "-o", "json")
    assert result.returncode == 1  # no Docker daemon and no ingress controller here
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) >= {"docker", "kind", "helm", "kubectl", "port 80", "port 443", "cluster", "ingress"}
    assert checks["helm"]["ok"] and checks["kind"]["ok"] and checks["cluster"]["ok"]
    assert not checks["ingress"]["ok"] and checks["ingress"]["hint"]
    assert not checks["docker"]["ok"] and checks["docker"]["hint"]


# -- secrets ----------------------------------------------------------------------------------

def test_secrets_never_leave_the_kubernetes_secret(urumi, control_plane, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = urumi.env(TMPDIR=str(scratch))
    outputs = []
    for args in (["--debug", "store", "create", "--type", "woocommerce", "--name", "vault"],
                 ["--debug", "store", "create", "--type", "woocommerce", "--name", "vault", "-o", "json"],
                 ["store", "list", "-o", "json"], ["store", "get", "vault", "-o", "yaml"],
                 ["store", "describe", "vault", "-o", "json"], ["--debug", "store", "describe", "vault"]):
        result = urumi.run(*args, env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    import base64

    secret = control_plane.get_json("secret", "store-credentials", "-n", "store-vault")
    values = [base64.b64decode(v).decode() for v in secret["data"].values()]
    values = [v for v in values if len(v) >= 12]  # passwords, salts (not the user name "admin")
    assert len(values) >= 10
    files = [p for root in (urumi.home, scratch) for p in root.rglob("*") if p.is_file()]
    haystacks = outputs + [p.read_text(errors="replace") for p in files]
    for value in values:
        for text in haystacks:
            assert value not in text
    assert "running: helm upgrade --install vault" in outputs[0]  # --debug does show argv
    assert urumi.run("store", "delete", "vault", "--yes").returncode == 0
