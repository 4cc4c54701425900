"""helm's argv for Helm 3 and Helm 4, and how its failures are classified from stderr."""

from __future__ import annotations

import json

import pytest

from urumi_cli.adapters.helm import Helm, explain_helm_error, wait_flags
from urumi_cli.adapters.runner import CommandError
from urumi_cli.errors import ClusterUnreachable, Conflict, OperationFailed, ToolMissing, UsageError
from urumi_cli.models import Target

VERSION_ARGV = ["helm", "version", "--template", "{{.Version}}"]
TARGET = Target(context="kind-urumi")
KUBE = ["--kube-context", "kind-urumi"]


@pytest.fixture
def helm3(runner, tool_path):
    runner.on(VERSION_ARGV, stdout="v3.14.4")
    return Helm(runner)


@pytest.fixture
def helm4(runner, tool_path):
    runner.on(VERSION_ARGV, stdout="v4.0.1")
    return Helm(runner)


def test_wait_flags_per_major():
    assert wait_flags(3) == ["--wait", "--wait-for-jobs"]
    assert wait_flags(4) == ["--wait=watcher", "--wait-for-jobs"]


def test_upgrade_install_plain_argv_does_not_need_the_version(runner, helm3):
    runner.on(["helm", "upgrade"])
    helm3.upgrade_install("shop", "/charts/woocommerce", namespace="store-shop", target=TARGET,
                          values_files=["/charts/woocommerce/values-local.yaml", "/tmp/x/urumi-values.yaml"],
                          timeout_s=600)
    assert runner.argvs() == [[
        "helm", "upgrade", "--install", "shop", "/charts/woocommerce", *KUBE, "--namespace", "store-shop",
        "--values", "/charts/woocommerce/values-local.yaml", "--values", "/tmp/x/urumi-values.yaml",
        "--timeout", "600s",
    ]]
    # the process gets longer than helm's own server-side timeout, to report its error
    assert runner.calls[0].timeout > 600


@pytest.mark.parametrize(
    ("version", "wait", "rollback"),
    [("v3.14.4", ["--wait", "--wait-for-jobs"], "--atomic"),
     ("v3.12.0", ["--wait", "--wait-for-jobs"], "--atomic"),
     ("v4.0.1", ["--wait=watcher", "--wait-for-jobs"], "--rollback-on-failure"),
     ("v4.1.0-rc.1", ["--wait=watcher", "--wait-for-jobs"], "--rollback-on-failure")],
)
def test_upgrade_install_wait_per_version(runner, tool_path, version, wait, rollback):
    runner.on(VERSION_ARGV, stdout=version)
    runner.on(["helm", "upgrade"])
    helm = Helm(runner)
    target = Target(context="kind-dev", kubeconfig="/home/u/kc")
    helm.upgrade_install("traefik", "traefik", namespace="traefik", target=target, values_files=["/v.yaml"],
                         timeout_s=300, wait=True, create_namespace=True,
                         extra=["--repo", "https://traefik.github.io/charts", "--version", "37.3.0"])
    assert runner.argvs()[-1] == [
        "helm", "upgrade", "--install", "traefik", "traefik", "--kube-context", "kind-dev",
        "--kubeconfig", "/home/u/kc", "--namespace", "traefik", "--values", "/v.yaml", "--timeout", "300s",
        *wait, "--create-namespace", "--repo", "https://traefik.github.io/charts", "--version", "37.3.0",
    ]
    # Helm 3 never sees Helm 4's flags and the other way round
    flat = runner.argvs()[-1]
    if version.startswith("v3"):
        assert "--rollback-on-failure" not in flat and "--wait=watcher" not in flat
    else:
        assert "--atomic" not in flat and "--wait" not in flat


def test_version_is_read_once_per_helm_object(runner, tool_path):
    runner.on(VERSION_ARGV, stdout="v4.0.1")
    runner.on(["helm", "upgrade"])
    helm = Helm(runner)
    for _ in range(3):
        helm.upgrade_install("shop", "/c", namespace="ns", target=TARGET, values_files=[], timeout_s=10,
                             wait=True)
    assert runner.argvs().count(VERSION_ARGV) == 1
    assert helm.major == 4
    assert runner.argvs().count(VERSION_ARGV) == 1
    Helm(runner).major  # a new object (a new process) reads it again
    assert runner.argvs().count(VERSION_ARGV) == 2


def test_too_old_helm_names_the_tool(runner, tool_path):
    runner.on(VERSION_ARGV, stdout="v3.11.3")
    with pytest.raises(ToolMissing) as info:
        Helm(runner).version()
    assert "helm" in info.value.message and "3.11.3" in info.value.message and "3.12" in info.value.message
    assert "helm.sh" in (info.value.hint or "")


def test_missing_helm_binary_is_tool_missing(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing) as info:
        Helm(runner).version()
    assert info.value.message == "helm not found on PATH"
    assert "helm.sh" in info.value.hint
    assert runner.calls == []


def test_status_argv_and_parsing(runner, helm3):
    body = {"name": "shop", "info": {"status": "pending-upgrade"}, "version": 3,
            "config": {"secret": "never-read"}}
    runner.on(["helm", "status"], stdout=json.dumps(body))
    release = helm3.status("shop", namespace="store-shop", target=TARGET)
    assert runner.argvs() == [["helm", "status", "shop", "--output", "json", *KUBE, "--namespace", "store-shop"]]
    assert (release.name, release.namespace, release.status, release.revision) == \
        ("shop", "store-shop", "pending-upgrade", 3)


def test_status_of_a_missing_release_is_none(runner, helm3):
    runner.on(["helm", "status"], returncode=1, stderr="Error: release: not found\n")
    assert helm3.status("shop", namespace="store-shop", target=TARGET) is None


def test_status_with_unreachable_cluster(runner, helm3):
    runner.on(["helm", "status"], returncode=1,
              stderr="Error: Kubernetes cluster unreachable: Get \"https://127.0.0.1:6443/version\": "
                     "dial tcp 127.0.0.1:6443: connect: connection refused\n")
    with pytest.raises(ClusterUnreachable):
        helm3.status("shop", namespace="store-shop", target=TARGET)


def test_uninstall_argv_and_not_found(runner, helm3):
    runner.on(["helm", "uninstall"])
    assert helm3.uninstall("shop", namespace="store-shop", target=TARGET, timeout_s=120) is True
    assert runner.argvs() == [["helm", "uninstall", "shop", *KUBE, "--namespace", "store-shop", "--timeout", "120s"]]
    runner.on(["helm", "uninstall"], returncode=1, stderr="Error: uninstall: Release not loaded: shop: release: not found")
    assert helm3.uninstall("shop", namespace="store-shop", target=TARGET) is False


def test_rollback_argv(runner, helm4):
    runner.on(["helm", "rollback"])
    helm4.rollback("shop", namespace="store-shop", target=Target("ctx", "/kc"), timeout_s=60.4)
    assert runner.argvs() == [["helm", "rollback", "shop", "--kube-context", "ctx", "--kubeconfig", "/kc",
                               "--namespace", "store-shop", "--timeout", "60s"]]


def test_test_argv_and_failure(runner, helm3):
    runner.on(["helm", "test"], stdout="Phase: Succeeded\n")
    assert "Succeeded" in helm3.test("shop", namespace="store-shop", target=TARGET, timeout_s=300)
    assert runner.argvs() == [["helm", "test", "shop", *KUBE, "--namespace", "store-shop", "--timeout", "300s"]]
    runner.on(["helm", "test"], returncode=1, stdout="TEST SUITE: shop-test-order\nPhase: Failed\n",
              stderr="Error: 1 error occurred:\n\t* pod shop-test-order failed\n")
    with pytest.raises(OperationFailed) as info:
        helm3.test("shop", namespace="store-shop", target=TARGET, timeout_s=300)
    assert "shop" in info.value.message
    assert "Phase: Failed" in info.value.details
    assert "kubectl get pods -n store-shop" in info.value.hint


def test_upgrade_failure_is_explained(runner, helm3):
    runner.on(["helm", "upgrade"], returncode=1,
              stderr="Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n")
    with pytest.raises(Conflict) as info:
        helm3.upgrade_install("shop", "/c", namespace="ns", target=TARGET, values_files=[], timeout_s=10)
    assert "shop" in info.value.message


def _err(stderr: str) -> CommandError:
    return CommandError(["helm", "upgrade", "--install", "shop", "/c"], 1, "", stderr)


SCHEMA = ("Error: values don't meet the specifications of the schema(s) in the following chart(s):\n"
          "woocommerce:\n- resources.web.memory: Does not match pattern '^[0-9]+Mi$'\n")


@pytest.mark.parametrize(
    ("stderr", "error_type"),
    [
        (SCHEMA, UsageError),
        ("Error: Kubernetes cluster unreachable: Get \"https://x/version\": dial tcp: lookup x: no such host",
         ClusterUnreachable),
        ("Error: INSTALLATION FAILED: dial tcp 127.0.0.1:6443: connect: connection refused", ClusterUnreachable),
        ("Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress", Conflict),
        ("Error: INSTALLATION FAILED: cannot re-use a name that is still in use", Conflict),
        ("Error: INSTALLATION FAILED: context deadline exceeded", OperationFailed),
    ],
)
def test_explain_helm_error(stderr, error_type):
    explained = explain_helm_error(_err(stderr), release="shop")
    assert type(explained) is error_type
    assert explained.hint


def test_schema_error_names_the_offending_value():
    explained = explain_helm_error(_err(SCHEMA), release="shop")
    assert "resources.web.memory" in explained.message


def test_unclassified_error_carries_the_command_and_last_error_line():
    explained = explain_helm_error(_err("Error: INSTALLATION FAILED: context deadline exceeded\n"), release="shop")
    assert "helm upgrade --install shop /c" in explained.message
    assert "context deadline exceeded" in explained.message


# `helm history m1 -o json` of a store whose upgrade urumi rolled back (helm v3 of testbin, recorded).
HISTORY_JSON = (
    '[{"revision":1,"updated":"2026-12-02T01:18:30.671668628Z","status":"superseded","chart":"woocommerce-0.1.0",'
    '"app_version":"11.0.1","description":"Install complete"},'
    '{"revision":2,"updated":"2026-12-02T01:18:34.577946895Z","status":"superseded","chart":"woocommerce-0.1.0",'
    '"app_version":"11.0.1","description":"Upgrade complete"},'
    '{"revision":3,"updated":"2026-12-02T01:18:37.42505716Z","status":"deployed","chart":"woocommerce-0.1.0",'
    '"app_version":"11.0.1","description":"Rollback to 1"}]')


def test_history_reads_every_field_of_each_revision(runner, helm3):
    runner.on(["helm", "history"], stdout=HISTORY_JSON)
    revisions = helm3.history("shop", namespace="store-shop", target=TARGET)
    assert runner.argvs() == [["helm", "history", "shop", "--output", "json", *KUBE, "--namespace", "store-shop"]]
    assert [(r.revision, r.status, r.description) for r in revisions] == [
        (1, "superseded", "Install complete"), (2, "superseded", "Upgrade complete"), (3, "deployed", "Rollback to 1")]
    assert revisions[0].chart == "woocommerce-0.1.0" and revisions[0].app_version == "11.0.1"
    assert revisions[2].updated == "2026-12-02T01:18:37.42505716Z"


def test_history_of_an_unknown_release_is_empty(runner, helm3):
    runner.on(["helm", "history"], returncode=1, stderr="Error: release: not found\n")
    assert helm3.history("shop", namespace="store-shop", target=TARGET) == []


def test_get_values_argv_and_a_release_without_values(runner, helm3):
    runner.on(["helm", "get", "values"], stdout='{"web":{"image":{"tag":"7.0.4"}},"domain":"localhost"}\n')
    assert helm3.get_values("shop", namespace="store-shop", target=TARGET) == {
        "web": {"image": {"tag": "7.0.4"}}, "domain": "localhost"}
    assert runner.argvs() == [["helm", "get", "values", "shop", "--output", "json", *KUBE, "--namespace", "store-shop"]]
    runner.on(["helm", "get", "values"], stdout="null\n")  # what helm prints for no user-supplied values
    assert helm3.get_values("shop", namespace="store-shop", target=TARGET) == {}


def test_rollback_to_a_revision_puts_it_after_the_release(runner, helm3):
    runner.on(["helm", "rollback"])
    helm3.rollback("shop", namespace="store-shop", target=TARGET, revision=2, timeout_s=300)
    assert runner.argvs() == [["helm", "rollback", "shop", "2", *KUBE, "--namespace", "store-shop", "--timeout", "300s"]]
