"""The charts on their own, with plain helm, on the real control plane: a helm user gets a working
install without urumi (chart-generated Secret, stable across upgrades, restricted Pod Security)."""

from __future__ import annotations

import base64
import subprocess

import pytest

from support import REPO

CHARTS = ("woocommerce", "medusa")


def helm(cp, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    argv = [str(cp.testbin / "helm"), *args, "--kubeconfig", str(cp.kubeconfig), "--kube-context", cp.context]
    result = subprocess.run(argv, capture_output=True, text=True, env=cp.env, timeout=timeout)
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def restricted_namespace(cp, name: str) -> None:
    cp.kubectl("create", "namespace", name)
    cp.kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted",
               "pod-security.kubernetes.io/warn=restricted")


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize("overlay", ("local", "prod"))
def test_server_side_dry_run(control_plane, chart, overlay):
    ns = f"dry-{chart}-{overlay}"
    restricted_namespace(control_plane, ns)
    try:
        result = helm(control_plane, "install", f"dry{overlay}", str(REPO / "charts" / chart), "-n", ns,
                      "-f", str(REPO / "charts" / chart / f"values-{overlay}.yaml"), "--dry-run=server")
        assert "kind: Deployment" in result.stdout and "kind: NetworkPolicy" in result.stdout
        # Pod Security warnings would be printed by the API server on a restricted namespace.
        assert "would violate PodSecurity" not in result.stderr
    finally:
        control_plane.kubectl("delete", "namespace", ns, "--wait=false")


@pytest.mark.parametrize("chart", CHARTS)
def test_plain_helm_install_upgrade_and_test(control_plane, chart):
    cp = control_plane
    ns = f"plain-{chart}"
    release = f"plain{chart[:3]}"
    restricted_namespace(cp, ns)
    chart_dir = str(REPO / "charts" / chart)
    overlay = str(REPO / "charts" / chart / "values-local.yaml")
    try:
        installed = helm(cp, "install", release, chart_dir, "-n", ns, "-f", overlay, "--wait", "--wait-for-jobs",
                         "--timeout", "180s")
        assert "would violate PodSecurity" not in installed.stderr
        secret_name = f"{release}-credentials"
        first = cp.get_json("secret", secret_name, "-n", ns)["data"]
        assert base64.b64decode(first["admin-password"]).decode()

        # Passwords and salts are generated once and kept (lookup) across upgrades.
        helm(cp, "upgrade", release, chart_dir, "-n", ns, "-f", overlay, "--wait", "--wait-for-jobs",
             "--timeout", "180s")
        assert cp.get_json("secret", secret_name, "-n", ns)["data"] == first
        jobs = [j["metadata"]["name"] for j in cp.get_json("jobs", "-n", ns)["items"]]
        assert f"{release}-setup-2" in jobs and f"{release}-setup-1" not in jobs

        tested = helm(cp, "test", release, "-n", ns, "--timeout", "120s")
        assert "Succeeded" in tested.stdout
        helm(cp, "uninstall", release, "-n", ns, "--wait")
    finally:
        cp.kubectl("delete", "namespace", ns, "--wait=false")
