"""The whole store lifecycle through the real CLI, real helm and the real control plane."""

from __future__ import annotations

import base64
import json
import time

import pytest

from support import Urumi, helm_release_revision, one_error_line, write_values


@pytest.fixture
def urumi(control_plane, tmp_path) -> Urumi:
    return Urumi(control_plane, tmp_path / "home")


def secret_values(cp, namespace: str) -> dict[str, str]:
    secret = cp.get_json("secret", "store-credentials", "-n", namespace)
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_woocommerce_lifecycle(urumi, control_plane):
    cp = control_plane
    created = urumi.create("shop")
    assert created.returncode == 0, created.stderr
    # Non-TTY: progress is plain log lines on stderr, one per step and component change.
    for expected in ("helm upgrade --install shop", "database", "web", "setup", "ready"):
        assert expected in created.stderr, created.stderr
    assert "Store shop is ready: http://shop.localhost/" in created.stderr

    [listed] = urumi.json("store", "list")
    assert listed["name"] == "shop" and listed["status"] == "ready" and listed["type"] == "woocommerce"
    assert listed["namespace"] == "store-shop" and listed["url"] == "http://shop.localhost/"
    assert listed["ready_at"] and listed["created_at"] and listed["message"] == ""

    got = urumi.json("store", "get", "shop")
    assert got["status"] == "ready" and got["id"] == "shop"

    creds = urumi.json("store", "credentials", "shop")
    stored = secret_values(cp, "store-shop")
    assert creds["username"] == stored["admin-username"] == "admin"
    assert creds["password"] == stored["admin-password"] and len(creds["password"]) >= 20

    ns = cp.get_json("namespace", "store-shop")["metadata"]["labels"]
    assert ns["app.kubernetes.io/managed-by"] == "urumi"
    assert ns["urumi.dev/store-name"] == "shop" and ns["urumi.dev/store-type"] == "woocommerce"
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["pod-security.kubernetes.io/warn"] == "restricted"
    for kind in ("networkpolicy", "resourcequota", "limitrange", "ingress", "pvc"):
        items = cp.get_json(kind, "-n", "store-shop")["items"]
        assert items, f"no {kind} in store-shop"
    ingress = cp.get_json("ingress", "-n", "store-shop")["items"][0]
    assert ingress["spec"]["rules"][0]["host"] == "shop.localhost"
    assert all(p["status"]["phase"] == "Bound" for p in cp.get_json("pvc", "-n", "store-shop")["items"])

    # No secret value in the registry file.
    registry = urumi.registry_text()
    for key, value in stored.items():
        assert value not in registry, f"secret {key} leaked into the registry"

    # Re-create is idempotent: exit 0, same release revision, same credentials.
    revision = helm_release_revision(cp, "shop")
    again = urumi.create("shop")
    assert again.returncode == 0, again.stderr
    assert helm_release_revision(cp, "shop") == revision
    assert secret_values(cp, "store-shop") == stored

    # helm tests (storefront 200, a COD order): KWOK runs no container, so this proves the wiring:
    # urumi runs `helm test` on the right release and reports the result.
    tested = urumi.run("store", "test", "shop", "-o", "json")
    assert tested.returncode == 0, tested.stderr
    report = json.loads(tested.stdout)
    assert report["passed"] is True and "shop-test-order" in report["output"]

    # Same name, other type: a clear error, nothing changed.
    other = urumi.create("shop", "medusa")
    assert other.returncode == 1
    assert "already exists with type woocommerce" in one_error_line(other.stderr)

    deleted = urumi.run("store", "delete", "shop", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert cp.kubectl("get", "namespace", "store-shop", check=False).returncode != 0
    assert urumi.json("store", "list") == []


def test_medusa_create_and_delete(urumi, control_plane):
    created = urumi.create("medusa1", "medusa")
    assert created.returncode == 0, created.stderr
    [store] = urumi.json("store", "list")
    assert store["type"] == "medusa" and store["status"] == "ready"
    creds = urumi.json("store", "credentials", "medusa1")
    assert creds["username"].startswith("admin@")
    assert urumi.run("store", "delete", "medusa1", "--yes").returncode == 0
    assert urumi.json("store", "list") == []


def test_image_pull_failure_fails_fast_with_reason(urumi, tmp_path):
    values = write_values(tmp_path, "bad-image.yaml", "web:\n  image:\n    tag: 7.0.4-kwok-pull-fail\n")
    start = time.monotonic()
    result = urumi.create("pullfail", "woocommerce", "-f", values, "--timeout", "120s")
    elapsed = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    # The bad image is used by the web pod and by the setup Job's init container: either may report first.
    assert "ErrImagePull" in line and "7.0.4-kwok-pull-fail" in line
    assert elapsed < 60, f"took {elapsed:.0f}s: should fail fast, not run out the 120s timeout"
    [store] = urumi.json("store", "list")
    assert store["status"] == "failed" and "ErrImagePull" in store["message"]
    described = urumi.json("store", "describe", "pullfail")
    assert any("ErrImagePull" in line for line in described["diagnostics"])
    assert urumi.run("store", "delete", "pullfail", "--yes").returncode == 0


def test_failed_setup_job_marks_store_failed(urumi, tmp_path):
    values = write_values(tmp_path, "bad-setup.yaml",
                          "setup:\n  backoffLimit: 0\n  podAnnotations:\n    urumi.test/simulate: fail\n")
    result = urumi.create("jobfail", "woocommerce", "-f", values, "--timeout", "120s")
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    assert "setup" in line and "job failed" in line
    [store] = urumi.json("store", "list")
    assert store["status"] == "failed" and "job failed" in store["message"]

    # A failed store is retried by re-running create (new helm revision, new setup Job). Without
    # -f the earlier values would apply again (they are kept); the fix is a new -f.
    fixed = urumi.create("jobfail", "woocommerce", "--timeout", "120s", "-f",
                        write_values(tmp_path, "fixed.yaml", "setup:\n  backoffLimit: 0\n"))
    assert fixed.returncode == 0, fixed.stderr
    assert urumi.json("store", "get", "jobfail")["status"] == "ready"
    assert urumi.run("store", "delete", "jobfail", "--yes").returncode == 0


def test_timeout_exceeded_is_a_clear_failure(urumi, tmp_path):
    values = write_values(tmp_path, "slow.yaml", "database:\n  podAnnotations:\n    urumi.test/simulate: never-ready\n")
    start = time.monotonic()
    result = urumi.create("slow", "woocommerce", "-f", values, "--timeout", "8s")
    assert result.returncode == 5, result.stderr
    line = one_error_line(result.stderr)
    assert "not ready before the timeout" in line and "database" in line
    assert time.monotonic() - start < 60
    [store] = urumi.json("store", "list")
    assert store["status"] == "failed"
    assert urumi.run("store", "delete", "slow", "--yes").returncode == 0


def test_store_test_reports_a_failing_helm_test(urumi, tmp_path):
    values = write_values(tmp_path, "failing-test.yaml", "tests:\n  podAnnotations:\n    urumi.test/simulate: fail\n")
    assert urumi.create("testfail", "woocommerce", "-f", values).returncode == 0
    result = urumi.run("store", "test", "testfail", "--timeout", "60s")
    assert result.returncode == 1, result.stderr
    assert "helm test for testfail failed" in one_error_line(result.stderr)
    assert urumi.run("store", "delete", "testfail", "--yes").returncode == 0


def test_sync_rebuilds_a_deleted_registry(urumi):
    assert urumi.create("syncme").returncode == 0
    (urumi.home / "registry.json").unlink()
    assert urumi.json("store", "list") == []
    # other tests' stores share this cluster: look for this test's own
    [store] = [s for s in urumi.json("store", "sync") if s["name"] == "syncme"]
    assert store["status"] == "ready" and store["url"] == "http://syncme.localhost/"
    assert "syncme" in [s["name"] for s in urumi.json("store", "list")]
    assert urumi.run("store", "delete", "syncme", "--yes").returncode == 0


def test_values_failing_the_chart_schema_are_a_usage_error(urumi, tmp_path, control_plane):
    values = write_values(tmp_path, "bad.yaml", "domain: 'not a domain!'\n")
    result = urumi.create("schemabad", "woocommerce", "-f", values)
    assert result.returncode == 2, result.stderr
    assert "chart rejected the values" in one_error_line(result.stderr)
    urumi.run("store", "delete", "schemabad", "--yes", "--ignore-not-found")


def test_four_processes_three_stores_each(urumi):
    names = [[f"p{p}s{s}" for s in range(3)] for p in range(4)]
    procs = []
    for group in names:
        script = "; ".join(f"{' '.join(urumi_shell_args(urumi, name))}" for name in group)
        procs.append(__import__("subprocess").Popen(["bash", "-c", f"set -e; {script}"], env=urumi.env(),
                                                    stdout=-1, stderr=-1, text=True))
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    stores = urumi.json("store", "list")
    assert sorted(s["name"] for s in stores) == sorted(n for group in names for n in group)
    assert all(s["status"] == "ready" for s in stores)
    json.loads(urumi.registry_text())  # still valid JSON
    deletes = [urumi.popen("store", "delete", name, "--yes") for group in names for name in group]
    for proc in deletes:
        proc.communicate(timeout=300)
        assert proc.returncode == 0
    assert urumi.json("store", "list") == []


def urumi_shell_args(urumi: Urumi, name: str) -> list[str]:
    import shlex

    from support import urumi_argv

    argv = urumi_argv() + ["-q", "store", "create", "--type", "woocommerce", "--name", name] + urumi.target
    return [shlex.quote(a) for a in argv]
