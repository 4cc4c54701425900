"""The store actions (create, delete, refresh, queries) with a fake kube, a fake (or argv-recorded)
helm and a real registry file."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from fakes import RecordingReporter, event, job, pod, ready_objects
from urumi_cli.actions import queries
from urumi_cli.actions.contract import ANNOTATION_URL, LABEL_ID, LABEL_NAME, LABEL_TYPE, MANAGED_BY
from urumi_cli.actions.create import CreateOptions, create_store
from urumi_cli.actions.delete import DeleteOptions, delete_store
from urumi_cli.actions.refresh import refresh_stores
from urumi_cli.adapters.helm import Helm, Release
from urumi_cli.adapters.locks import file_lock
from urumi_cli.adapters.registry import Registry
from urumi_cli.errors import Conflict, Interrupted, NotFound, OperationFailed, RegistryCorrupt, TimedOut, UsageError
from urumi_cli.models import Store, StoreType, Target

pytestmark = pytest.mark.timeout(30)
TARGET = Target(context="kind-urumi")
CLUSTER = TARGET.context
STORE_LABELS = {MANAGED_BY: "urumi", LABEL_NAME: "shop", LABEL_TYPE: "woocommerce"}


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "home" / "registry.json")


@pytest.fixture
def create(registry, helm, kube, reporter, tmp_path):
    def run(name="shop", type_=StoreType.WOOCOMMERCE, *, helm_=None, reporter_=None, **opts):
        options = CreateOptions(name=name, type=type_, target=TARGET, timeout_s=opts.pop("timeout_s", 20), **opts)
        return create_store(options, registry=registry, helm=helm_ or helm, kube=kube,
                            reporter=reporter_ or reporter, locks_dir=tmp_path / "locks")
    return run


@pytest.fixture
def delete(registry, helm, kube, reporter, tmp_path):
    def run(name="shop", **opts):
        options = DeleteOptions(name=name, target=TARGET, timeout_s=opts.pop("timeout_s", 20), **opts)
        return delete_store(options, registry=registry, helm=helm, kube=kube, reporter=reporter,
                            locks_dir=tmp_path / "locks")
    return run


# -- create ------------------------------------------------------------------------------------
def test_records_provisioning_before_helm_and_ready_after(create, registry, helm):
    seen = []
    helm.on_upgrade = lambda release, info: seen.append(registry.get_store(CLUSTER, "shop"))
    result = create()
    assert [s.status for s in seen] == ["provisioning"]
    assert result.created and result.ready_observed_at is not None
    record = registry.get_store(CLUSTER, "shop")
    assert record.status == "ready" and record.ready_at and record.message == ""
    assert record.url == "http://shop.localhost/" and record.namespace == "store-shop" and record.release == "shop"
    assert result.store == record
    # a fresh namespace has no release to ask about; the status after the wait is for the event log
    assert helm.names() == ["upgrade_install", "status"]
    chart, values = helm.calls[0][2], helm.calls[0][3]
    assert Path(chart).name == "woocommerce"
    assert Path(values[0]).name == "values-local.yaml" and Path(values[1]).name == "urumi-values.yaml"


def test_namespace_labels_and_annotations(create, kube):
    create()
    (_, name, labels), = kube.called("create_namespace")
    assert name == "store-shop"
    assert labels[MANAGED_BY] == "urumi"
    assert labels[LABEL_NAME] == "shop" and labels[LABEL_ID] == "shop" and labels[LABEL_TYPE] == "woocommerce"
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    notes = kube.namespaces["store-shop"]["metadata"]["annotations"]
    assert notes[ANNOTATION_URL] == "http://shop.localhost/"
    # the namespace exists, labelled, before the Secret goes into it and before helm runs
    order = [c[0] for c in kube.calls]
    assert order.index("create_namespace") < order.index("create_secret_if_absent")


@pytest.mark.parametrize("store_type", [StoreType.WOOCOMMERCE, StoreType.MEDUSA])
def test_generated_secrets_never_leave_the_kubernetes_secret(store_type, registry, kube, runner, reporter, tmp_path,
                                                             tool_path):
    """Real Helm over the argv-recording runner: the canaries are what the fake kube received."""
    captured: dict[str, str] = {}
    private = []

    def upgrade(argv):
        for i, arg in enumerate(argv):
            if arg == "--values":
                captured[argv[i + 1]] = Path(argv[i + 1]).read_text()
                if Path(argv[i + 1]).name == "urumi-values.yaml":
                    private.append(stat.S_IMODE(Path(argv[i + 1]).parent.stat().st_mode))
        kube.objects["store-shop"] = ready_objects("shop")

    runner.on(["helm", "upgrade"], action=upgrade)
    # read after the wait, for the revision in the store's event log
    runner.on(["helm", "status"], stdout=json.dumps({"info": {"status": "deployed"}, "version": 1}))
    options = CreateOptions(name="shop", type=store_type, target=TARGET, timeout_s=20)
    create_store(options, registry=registry, helm=Helm(runner), kube=kube, reporter=reporter,
                 locks_dir=tmp_path / "locks")

    secret = kube.secrets[("store-shop", "store-credentials")]
    canaries = [value for key, value in secret.items() if key != "admin-username"]
    assert len(canaries) >= 4 and all(len(value) >= 24 for value in canaries)
    assert len(set(canaries)) == len(canaries)  # every one generated separately
    registry_text = registry.path.read_text()
    argv_text = "\n".join(" ".join(call.argv) for call in runner.calls)
    for canary in canaries:
        assert canary not in registry_text
        assert canary not in argv_text
        assert not any(canary in text for text in captured.values())
    generated = [text for path, text in captured.items() if Path(path).name == "urumi-values.yaml"]
    assert len(generated) == 1 and "store-credentials" in generated[0]
    assert private == [0o700]
    assert not any(Path(path).exists() for path in captured if Path(path).name == "urumi-values.yaml")
    [argv] = [argv for argv in runner.argvs() if argv[1] == "upgrade"]
    assert argv[:4] == ["helm", "upgrade", "--install", "shop"] and Path(argv[4]).name == store_type.value
    assert argv[argv.index("--namespace") + 1] == "store-shop"
    assert argv[argv.index("--kube-context") + 1] == "kind-urumi"


def test_secret_is_generated_once(create, kube, helm):
    create()
    first = dict(kube.secrets[("store-shop", "store-credentials")])
    helm.releases["shop"] = Release("shop", "store-shop", "failed", 1)
    create()
    assert kube.secrets[("store-shop", "store-credentials")] == first


def test_rerun_of_a_ready_store_does_not_upgrade_again(create, helm, registry):
    create()
    before = registry.get_store(CLUSTER, "shop")
    result = create()
    assert not result.created
    assert helm.names().count("upgrade_install") == 1
    assert helm.names()[-1] == "status"  # it asked the cluster instead of trusting the record
    assert result.store == before and result.ready_observed_at is not None


def test_rerun_of_a_provisioning_store_waits_without_upgrading(create, helm, registry):
    first = create(wait=False)
    assert first.store.status == "provisioning"
    again = create()
    assert again.store.status == "ready"
    assert helm.names().count("upgrade_install") == 1  # the deployed release was waited for, not re-applied
    # ... unless the user passes values: that is an explicit change.
    create(values_files=(__file__,))
    assert helm.names().count("upgrade_install") == 2


def test_failed_store_is_retried(create, helm, registry):
    def fail(release, info):
        raise OperationFailed("helm failed: `helm upgrade ...` exited with 1: Error: boom")

    helm.on_upgrade = fail
    with pytest.raises(OperationFailed):
        create()
    record = registry.get_store(CLUSTER, "shop")
    assert record.status == "failed" and "boom" in record.message
    helm.on_upgrade = None
    helm.releases["shop"] = Release("shop", "store-shop", "failed", 1)
    result = create()
    assert result.created and result.store.status == "ready"
    assert helm.names().count("upgrade_install") == 2
    assert registry.get_store(CLUSTER, "shop").created_at == record.created_at


def test_same_name_with_another_type_is_a_conflict(create, helm, registry):
    create()
    with pytest.raises(Conflict) as info:
        create(type_=StoreType.MEDUSA)
    assert "woocommerce" in info.value.message
    assert helm.names().count("upgrade_install") == 1
    assert registry.get_store(CLUSTER, "shop").type == "woocommerce"


def test_same_name_with_another_type_in_the_cluster_is_a_conflict(create, kube, helm, registry):
    kube.add_namespace("store-shop", STORE_LABELS)  # the registry does not know it
    with pytest.raises(Conflict):
        create(type_=StoreType.MEDUSA)
    assert helm.calls == [] and registry.list_stores() == []


def test_a_namespace_urumi_does_not_manage_is_left_alone(create, kube, helm):
    kube.add_namespace("store-shop", {"team": "payments"})
    with pytest.raises(Conflict) as info:
        create()
    assert "not managed by urumi" in info.value.message
    assert helm.calls == [] and kube.called("patch_namespace_labels") == []


RECOVERY_CASES = [
    # (state left behind, history, the helm calls create makes, then the upgrade)
    ("pending-install", [1], ["status", "uninstall"]),
    ("pending-upgrade", [1, 2, 3], ["status", "history", "rollback"]),
    ("pending-rollback", [1, 2, 3], ["status", "history", "rollback"]),
    ("pending-upgrade", [], ["status", "history", "uninstall"]),  # nothing ever deployed
    ("uninstalling", [], ["status", "uninstall"]),
    ("failed", [], ["status"]),
    ("deployed", [], ["status"]),
]


@pytest.mark.parametrize("state, history, calls", RECOVERY_CASES)
def test_a_release_left_by_a_killed_helm_is_recovered_before_the_upgrade(create, kube, helm, registry,
                                                                         state, history, calls):
    kube.add_namespace("store-shop", STORE_LABELS)
    registry.put_store(Store(name="shop", type="woocommerce", cluster=CLUSTER, namespace="store-shop",
                             release="shop", url="", status="failed"))
    helm.releases["shop"] = Release("shop", "store-shop", state, 3)
    # revisions 1 and 2 worked (superseded, deployed); 3 is the one left behind
    statuses = {1: "superseded", 2: "deployed", 3: state}
    helm.histories["shop"] = [Release("shop", "store-shop", statuses[r], r) for r in history]
    create()
    assert helm.names() == calls + ["upgrade_install", "status"]
    if "rollback" in calls:
        assert helm.called("rollback")[0][2] == 2  # to the last revision that worked, not the previous one


def test_no_wait_returns_after_helm_as_provisioning(create, kube, registry):
    result = create(wait=False)
    assert result.store.status == "provisioning" and "--no-wait" in result.store.message
    assert registry.get_store(CLUSTER, "shop").status == "provisioning"
    assert kube.called("list") == []  # nothing watched


def test_ctrl_c_during_helm_records_failed_and_raises_interrupted(create, helm, registry):
    def interrupt(release, info):
        raise KeyboardInterrupt

    helm.on_upgrade = interrupt
    with pytest.raises(Interrupted) as info:
        create()
    assert info.value.exit_code == 130
    record = registry.get_store(CLUSTER, "shop")
    assert record.status == "failed" and "interrupted" in record.message


def test_ctrl_c_while_waiting_keeps_provisioning(create, registry):
    class Impatient(RecordingReporter):
        def components(self, states):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        create(reporter_=Impatient())
    record = registry.get_store(CLUSTER, "shop")
    assert record.status == "provisioning" and "interrupted while waiting" in record.message


def failed_setup_pod(name: str, job: str, container: str, *, exit_code: int = 1, created: str | None = None) -> dict:
    """An attempt of setup Job `job` that failed in init container `container`, as the API shows it."""
    attempt = pod(name, ready=False, component="setup")
    attempt["metadata"]["labels"]["job-name"] = job
    if created:
        attempt["metadata"]["creationTimestamp"] = created
    attempt["status"]["phase"] = "Failed"
    attempt["status"]["initContainerStatuses"] = [
        {"name": container, "state": {"terminated": {"exitCode": exit_code, "reason": "Error"}}}]
    return attempt


def test_failure_while_waiting_records_failed_with_diagnostics(create, helm, kube, registry):
    objs = ready_objects()
    objs["jobs"] = [job("shop-setup", state="failed")]
    objs["pods"].append(failed_setup_pod("shop-setup-x1", "shop-setup", "wordpress-core", exit_code=2))
    objs["events"] = [event(reason="BackOff", kind="Pod", obj="shop-setup-x1",
                            message="Back-off restarting failed container setup")]
    helm.objects_on_install = objs
    kube.logs[("store-shop", "shop-setup-x1", "wordpress-core")] = "copying core\ntar: .: Cannot change mode\n"
    with pytest.raises(OperationFailed) as info:
        create()
    # which container failed, its exit code and what it printed last
    assert "pod shop-setup-x1: container wordpress-core exited with code 2 (Error)" in info.value.details
    assert "  | tar: .: Cannot change mode" in info.value.details
    assert "shop-setup" in info.value.message
    record = registry.get_store(CLUSTER, "shop")
    assert record.status == "failed" and "shop-setup" in record.message and "BackoffLimitExceeded" in record.message
    assert "event BackOff on pod/shop-setup-x1: Back-off restarting failed container setup" in info.value.details


def test_a_failed_setup_jobs_last_log_line_is_the_recorded_reason(create, helm, kube, registry):
    """The chart's scripts end a failure with the line that says why: it is the store's reason,
    not only Kubernetes' BackoffLimitExceeded."""
    objs = ready_objects()
    objs["jobs"] = [job("shop-setup-1", state="failed")]
    for n, created in ((1, "2030-01-01T00:00:01Z"), (2, "2030-01-01T00:00:09Z")):
        objs["pods"].append(failed_setup_pod(f"shop-setup-1-a{n}", "shop-setup-1", "fetch-packages", created=created))
        kube.logs[("store-shop", f"shop-setup-1-a{n}", "fetch-packages")] = (
            "[fetch] downloading woocommerce 11.0.1 from https://downloads.wordpress.org/plugin/woocommerce.11.0.1.zip\n"
            f"setup: step download failed: attempt {n}: could not resolve host: downloads.wordpress.org\n")
    helm.objects_on_install = objs
    with pytest.raises(OperationFailed) as info:
        create()
    cause = "setup: step download failed: attempt 2: could not resolve host: downloads.wordpress.org"
    assert info.value.message.endswith(f"; its log ends: {cause}")  # the newest attempt speaks
    record = registry.get_store(CLUSTER, "shop")
    assert record.status == "failed" and cause in record.message and "shop-setup-1" in record.message


def test_the_recorded_cause_outlives_refresh_and_describe_reads_it_after_a_sync(create, helm, kube, registry):
    objs = ready_objects()
    objs["jobs"] = [job("shop-setup-1", state="failed")]
    objs["pods"].append(failed_setup_pod("shop-setup-1-a1", "shop-setup-1", "fetch-packages"))
    cause = "setup: step download failed: could not resolve host: downloads.wordpress.org"
    kube.logs[("store-shop", "shop-setup-1-a1", "fetch-packages")] = f"[fetch] downloading\n{cause}\n"
    helm.objects_on_install = objs
    with pytest.raises(OperationFailed):
        create()
    # A refresh sees the same failure without reading logs: it keeps the recorded, longer reason.
    (refreshed,), _ = refresh_stores(registry=registry, kube=kube, cluster=CLUSTER)
    assert refreshed.status == "failed" and refreshed.message.endswith(cause)
    # A record rebuilt from the cluster alone (sync) lacks it; describe reads it from the Job's pod.
    refresh_stores(registry=registry, kube=kube, cluster=CLUSTER, rebuild=True)
    info = queries.describe_store("shop", registry=registry, kube=kube, cluster=CLUSTER)
    assert info["status"] == "failed" and info["message"].endswith(f"; its log ends: {cause}")


def test_a_terminating_namespace_is_waited_for_then_recreated(create, kube):
    kube.add_namespace("store-shop", STORE_LABELS, terminating=True)
    create()
    names = [c[0] for c in kube.calls]
    assert names.index("wait_namespace_gone") < names.index("create_namespace")
    assert "deletionTimestamp" not in kube.namespaces["store-shop"]["metadata"]


def test_a_namespace_stuck_terminating_times_out_with_its_conditions(create, kube, helm):
    ns = kube.add_namespace("store-shop", STORE_LABELS, terminating=True,
                            conditions=[{"type": "NamespaceDeletionContentFailure", "status": "True",
                                         "message": "failed to delete pvc"}])
    kube.stuck = ns
    with pytest.raises(TimedOut) as info:
        create()
    assert "NamespaceDeletionContentFailure" in info.value.details and "failed to delete pvc" in info.value.details
    assert helm.calls == []


def test_prod_needs_a_domain(create, helm, kube, registry):
    with pytest.raises(UsageError) as info:
        create(env="prod")
    assert "--domain" in info.value.message
    assert helm.calls == [] and kube.calls == [] and registry.list_stores() == []


def test_prod_with_a_domain_is_https(create, helm):
    result = create(env="prod", domain="example.com")
    assert result.store.url == "https://shop.example.com/" and result.store.env == "prod"
    assert Path(helm.calls[0][3][0]).name == "values-prod.yaml"


def test_missing_values_file_is_a_usage_error(create, helm, tmp_path):
    with pytest.raises(UsageError):
        create(values_files=(str(tmp_path / "nope.yaml"),))
    assert helm.calls == []


def test_user_values_files_come_last(create, helm, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("replicas: 2\n")
    create(values_files=(str(mine),))
    assert helm.calls[0][3][-1] == str(mine)


def test_another_process_holding_the_store_lock_makes_create_wait(create, tmp_path, reporter, helm):
    lock = tmp_path / "locks" / "store-kind-urumi--shop.lock"
    with file_lock(lock):
        started = time.monotonic()
        with pytest.raises(TimedOut) as info:
            create(timeout_s=0.3)
        assert time.monotonic() - started >= 0.3
    assert "lock of store shop" in info.value.message
    assert ("step", "lock") in [e[:2] for e in reporter.events]
    assert helm.calls == []


# -- delete ------------------------------------------------------------------------------------
def test_delete_uninstalls_deletes_the_namespace_waits_and_forgets(create, delete, kube, helm, registry):
    create()
    deleted = delete()
    assert deleted.name == "shop"
    assert helm.names()[-2:] == ["status", "uninstall"]
    names = [c[0] for c in kube.calls]
    assert names.index("delete_namespace") < names.index("wait_namespace_gone")
    assert "store-shop" not in kube.namespaces
    assert registry.get_store(CLUSTER, "shop") is None


def test_delete_without_a_release_still_deletes_the_namespace(delete, kube, helm, registry):
    kube.add_namespace("store-shop", STORE_LABELS)
    delete()
    assert helm.names() == ["status"]
    assert kube.called("delete_namespace")


def test_delete_stuck_namespace_times_out_and_keeps_the_record(create, delete, kube, registry):
    create()
    kube.stuck = {"metadata": {"name": "store-shop"},
                  "status": {"phase": "Terminating",
                             "conditions": [{"type": "NamespaceFinalizersRemaining", "status": "True",
                                             "message": "Some content has finalizers remaining: x.io/hold"}]}}
    with pytest.raises(TimedOut) as info:
        delete()
    assert "NamespaceFinalizersRemaining=True" in info.value.details and "x.io/hold" in info.value.details
    assert "finalizers" in info.value.hint
    record = registry.get_store(CLUSTER, "shop")
    assert record is not None and record.status == "deleting" and "stuck" in record.message


def test_delete_of_an_unknown_store(delete, registry):
    with pytest.raises(NotFound) as info:
        delete("ghost")
    assert "ghost" in info.value.message and "--ignore-not-found" in info.value.hint
    assert delete("ghost", ignore_not_found=True) is None


def test_delete_record_whose_namespace_is_gone(delete, registry):
    registry.put_store(Store(name="shop", type="woocommerce", cluster=CLUSTER, namespace="store-shop",
                             release="shop", url=""))
    delete()
    assert registry.get_store(CLUSTER, "shop") is None


# -- refresh / sync ----------------------------------------------------------------------------
def _labelled(kube, name, url):
    kube.add_namespace(f"store-{name}", {MANAGED_BY: "urumi", LABEL_NAME: name, LABEL_TYPE: "medusa"},
                       {ANNOTATION_URL: url, "urumi.dev/env": "prod",
                        "urumi.dev/created-at": "2030-02-02T00:00:00Z"})
    kube.objects[f"store-{name}"] = ready_objects(name)


def test_sync_rebuilds_records_from_labelled_namespaces(kube, registry):
    _labelled(kube, "alpha", "https://alpha.example.com/")
    _labelled(kube, "beta", "https://beta.example.com/")
    kube.objects["store-beta"]["jobs"] = [job("beta-setup", release="beta", state="running")]
    registry.put_store(Store(name="stale", type="woocommerce", cluster=CLUSTER, namespace="store-stale",
                             release="stale", url=""))
    found, notes = refresh_stores(registry=registry, kube=kube, cluster=CLUSTER, rebuild=True)
    assert [(s.name, s.type, s.url, s.env, s.created_at, s.status) for s in found] == [
        ("alpha", "medusa", "https://alpha.example.com/", "prod", "2030-02-02T00:00:00Z", "ready"),
        ("beta", "medusa", "https://beta.example.com/", "prod", "2030-02-02T00:00:00Z", "provisioning"),
    ]
    assert "setup" in found[1].message
    assert [s.name for s in registry.list_stores(CLUSTER)] == ["alpha", "beta"]
    assert found[0].ready_at


def test_sync_sets_a_corrupt_registry_aside_and_rebuilds_it(kube, registry):
    _labelled(kube, "alpha", "https://alpha.example.com/")
    registry.path.parent.mkdir(parents=True)
    registry.path.write_text('{"stores": {"1": {"na')
    found, notes = refresh_stores(registry=registry, kube=kube, cluster=CLUSTER, rebuild=True)
    assert [s.name for s in found] == ["alpha"]
    assert any("rebuilding" in note for note in notes)
    aside = list(registry.path.parent.glob("registry.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"stores": {"1": {"na'
    assert [s.name for s in registry.list_stores()] == ["alpha"]
    json.loads(registry.path.read_text())


def test_refresh_without_rebuild_reports_a_corrupt_registry(kube, registry):
    registry.path.parent.mkdir(parents=True)
    registry.path.write_text("{not json")
    with pytest.raises(RegistryCorrupt):
        refresh_stores(registry=registry, kube=kube, cluster=CLUSTER)


def test_refresh_forgets_stores_whose_namespace_vanished(kube, registry):
    _labelled(kube, "alpha", "https://alpha.example.com/")
    registry.put_store(Store(name="gone", type="woocommerce", cluster=CLUSTER, namespace="store-gone",
                             release="gone", url=""))
    found, notes = refresh_stores(registry=registry, kube=kube, cluster=CLUSTER)
    assert [s.name for s in found] == ["alpha"]
    assert [s.name for s in registry.list_stores()] == ["alpha"]
    assert any("gone" in note and "removed" in note for note in notes)


def test_credentials_come_from_the_secret(create, kube, registry):
    create()
    creds = queries.credentials("shop", kube=kube, registry=registry, cluster=CLUSTER)
    assert creds["password"] == kube.secrets[("store-shop", "store-credentials")]["admin-password"]
    with pytest.raises(NotFound):
        queries.credentials("ghost", kube=kube, registry=registry, cluster=CLUSTER)


def test_statefulset_pod_stuck_on_the_previous_template_is_replaced_on_retry():
    """StatefulSets never replace a never-ready pod of an older revision ("forced rollback")."""
    import time as _time

    from urumi_cli.actions.recovery import replace_stuck_statefulset_pods as _replace_stuck_statefulset_pods
    from fakes import RecordingReporter

    def pod(name, revision, ready):
        return {"metadata": {"name": name, "labels": {"controller-revision-hash": revision},
                             "ownerReferences": [{"kind": "StatefulSet", "name": "shop-mariadb"}]},
                "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}

    class Kube:
        deleted: list = []

        def list_objects(self, resource, namespace, selector):
            assert selector == "app.kubernetes.io/instance=shop"
            if resource == "statefulsets":
                return [{"metadata": {"name": "shop-mariadb", "generation": 2},
                         "status": {"observedGeneration": 2, "updateRevision": "rev-new"}}]
            return [pod("shop-mariadb-0", "rev-old", ready=False), pod("shop-mariadb-1", "rev-old", ready=True),
                    pod("shop-mariadb-2", "rev-new", ready=False)]

        def delete_pod(self, namespace, name):
            self.deleted.append((namespace, name))

    kube = Kube()
    _replace_stuck_statefulset_pods(kube, "store-shop", "shop", _time.monotonic() + 30, RecordingReporter())
    # Only the pod that is both on the old template and not ready: a ready old pod rolls normally.
    assert kube.deleted == [("store-shop", "shop-mariadb-0")]


def test_refresh_lists_each_resource_once_across_namespaces(kube, registry):
    for name in ("alpha", "beta", "gamma"):
        _labelled(kube, name, f"https://{name}.example.com/")
    kube.objects["store-beta"]["jobs"] = [job("beta-setup", release="beta", state="running")]
    found, _ = refresh_stores(registry=registry, kube=kube, cluster=CLUSTER)
    assert [(s.name, s.status) for s in found] == [("alpha", "ready"), ("beta", "provisioning"), ("gamma", "ready")]
    calls = kube.called("list_objects")
    assert len(calls) == 4 and {c[2] for c in calls} == {""}  # 4 lists in all, not 4 per store


def test_refresh_falls_back_to_each_namespace_without_cluster_wide_rights(kube, registry, monkeypatch):
    from urumi_cli.errors import Forbidden

    for name in ("alpha", "beta"):
        _labelled(kube, name, f"https://{name}.example.com/")
    real = kube.list_objects

    def namespaced_only(resource, namespace, selector=None):
        if not namespace:
            raise Forbidden("the API of context 'kind-urumi' refused the request: forbidden")
        return real(resource, namespace, selector)

    monkeypatch.setattr(kube, "list_objects", namespaced_only)
    found, _ = refresh_stores(registry=registry, kube=kube, cluster=CLUSTER)
    assert [(s.name, s.status) for s in found] == [("alpha", "ready"), ("beta", "ready")]


# -- issue 16 and 10: what the real programs showed --------------------------------------------
def test_a_retry_without_f_applies_the_values_files_of_the_earlier_create(create, helm, kube, registry, tmp_path):
    values = tmp_path / "mine.yaml"
    values.write_text("web:\n  replicas: 1\n")
    seen = []
    helm.on_upgrade = lambda release, info: seen.append([Path(p).read_text() for p in info["values_files"][2:]])

    def fail(release, info):
        seen.append([Path(p).read_text() for p in info["values_files"][2:]])
        raise OperationFailed("helm failed: boom")

    helm.on_upgrade = fail
    with pytest.raises(OperationFailed):
        create(values_files=(str(values),))
    values.unlink()  # the user's file is gone by the time they retry
    helm.on_upgrade = lambda release, info: seen.append([Path(p).read_text() for p in info["values_files"][2:]])
    helm.releases["shop"] = Release("shop", "store-shop", "failed", 1)
    create()
    assert seen == [["web:\n  replicas: 1\n"], ["web:\n  replicas: 1\n"]]
    # kept in a Secret of the store's namespace, never in the registry
    assert ("store-shop", "urumi-user-values") in kube.secrets
    assert "replicas" not in registry.path.read_text()


def test_a_new_f_replaces_the_kept_values(create, helm, kube, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("a: 1\n")
    second.write_text("b: 2\n")
    create(values_files=(str(first),))
    create(values_files=(str(second),))
    assert kube.secrets[("store-shop", "urumi-user-values")] == {"00.yaml": "b: 2\n"}


def test_rerun_of_a_ready_store_whose_pods_broke_records_the_truth_with_diagnostics(create, kube, registry):
    create()
    assert registry.get_store(CLUSTER, "shop").status == "ready"
    broken = ready_objects()
    broken["pods"][0] = pod("shop-web-abc", ready=False, waiting="CrashLoopBackOff")
    kube.objects["store-shop"] = broken
    with pytest.raises(OperationFailed) as info:
        create()
    assert "CrashLoopBackOff" in info.value.message
    assert info.value.details and "shop-web-abc" in info.value.details
    record = registry.get_store(CLUSTER, "shop")
    assert record.status == "failed" and "CrashLoopBackOff" in record.message


def test_a_failed_helm_test_pod_does_not_fail_the_store(create, helm, registry):
    objs = ready_objects()
    test_pod = pod("shop-test-order", ready=False, component="setup")
    test_pod["metadata"]["annotations"] = {"helm.sh/hook": "test"}
    test_pod["status"]["phase"] = "Failed"
    test_pod["status"]["containerStatuses"] = [{"name": "t", "state": {"terminated": {"exitCode": 1}}}]
    objs["pods"].append(test_pod)
    helm.objects_on_install = objs
    result = create()
    assert result.store.status == "ready"


def test_describe_leaves_out_warnings_about_objects_gone_or_ready_since(create, kube, registry):
    create()
    objs = kube.objects["store-shop"]
    objs["pods"][0]["status"]["conditions"][0]["lastTransitionTime"] = "2030-01-01T00:05:00Z"
    objs["events"] = [
        event("old-pod", kind="Pod", obj="shop-web-old", reason="BackOff", message="gone pod"),
        event("early", kind="Pod", obj="shop-web-abc", reason="Unhealthy", message="probe before ready",
              when="2030-01-01T00:01:00Z"),
        event("late", kind="Pod", obj="shop-web-abc", reason="Unhealthy", message="probe after ready",
              when="2030-01-01T00:09:00Z"),
        event("ing", kind="Ingress", obj="shop", reason="Sync", message="ingress says so"),
    ]
    info = queries.describe_store("shop", registry=registry, kube=kube, cluster=CLUSTER)
    text = "\n".join(info["diagnostics"])
    assert "gone pod" not in text and "probe before ready" not in text
    assert "probe after ready" in text and "ingress says so" in text
