"""Day-2 actions with the fakes: the store's event log (optimistic concurrency), history,
rollback and upgrade with its automatic rollback; and how create feeds the event log."""

from __future__ import annotations

import json
import threading

import pytest
import yaml

from fakes import RecordingReporter, deployment, event, job, pod, ready_objects, statefulset
from urumi_cli.actions import events
from urumi_cli.actions.contract import EVENTS_CONFIGMAP, USER_VALUES_SECRET
from urumi_cli.actions.create import CreateOptions, create_store
from urumi_cli.actions.history import store_history, utc_time
from urumi_cli.actions.rollback import RollbackOptions, last_good_revision, rollback_store
from urumi_cli.actions.upgrade import UpgradeOptions, upgrade_store
from urumi_cli.actions.waiting import Snapshot, evaluate
from urumi_cli.adapters.helm import Release
from urumi_cli.adapters.registry import Registry
from urumi_cli.errors import (
    EXIT_ROLLED_BACK, Conflict, NotFound, OperationFailed, RolledBack, UsageError,
)
from urumi_cli.models import Target

pytestmark = pytest.mark.timeout(30)
TARGET = Target(context="kind-urumi")
NS = "store-shop"


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "home" / "registry.json")


@pytest.fixture
def make_store(registry, helm, kube, reporter, tmp_path):
    """A ready store made by the real create action (so its event log starts as create writes it)."""
    def run(name="shop", **opts):
        options = CreateOptions(name=name, type="woocommerce", target=TARGET, timeout_s=20, **opts)
        return create_store(options, registry=registry, helm=helm, kube=kube, reporter=reporter,
                            locks_dir=tmp_path / "locks")
    return run


@pytest.fixture
def upgrade(registry, helm, kube, reporter, tmp_path):
    def run(name="shop", **opts):
        options = UpgradeOptions(name=name, target=TARGET, timeout_s=opts.pop("timeout_s", 20), **opts)
        return upgrade_store(options, registry=registry, helm=helm, kube=kube, reporter=reporter,
                             locks_dir=tmp_path / "locks")
    return run


@pytest.fixture
def rollback(registry, helm, kube, reporter, tmp_path):
    def run(name="shop", **opts):
        options = RollbackOptions(name=name, target=TARGET, timeout_s=opts.pop("timeout_s", 20), **opts)
        return rollback_store(options, registry=registry, helm=helm, kube=kube, reporter=reporter,
                              locks_dir=tmp_path / "locks")
    return run


def crashing_objects(release="shop", web_pod="web-new") -> dict:
    """What a revision whose web image cannot start looks like: a new pod in CrashLoopBackOff."""
    objects = ready_objects(release)
    objects["deployments"] = [deployment(f"{release}-web", ready=False, release=release)]
    objects["pods"] = [pod(f"{release}-{web_pod}", ready=False, waiting="CrashLoopBackOff", release=release),
                       pod(f"{release}-mariadb-0", release=release, component="database")]
    return objects


def logged(kube, name="shop") -> list[tuple]:
    return [(e["action"], e["result"], e["revision"]) for e in events.read_events(kube, name)]


# -- the event log -----------------------------------------------------------------------------
def test_the_first_event_creates_the_config_map_and_later_ones_append(kube):
    kube.add_namespace(NS, {})
    events.record_event(kube, "shop", events.new_event("created", revision=1, time="2026-12-02T01:00:00Z"))
    events.record_event(kube, "shop", events.new_event("upgraded", revision=2, message="x" * 1000))
    cm = kube.config_maps[(NS, EVENTS_CONFIGMAP)]
    assert cm["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "urumi", "urumi.dev/store-name": "shop"}
    stored = json.loads(cm["data"]["events.json"])
    assert [(e["action"], e["revision"]) for e in stored] == [("created", 1), ("upgraded", 2)]
    assert stored[0]["time"] == "2026-12-02T01:00:00Z" and len(stored[1]["message"]) == events.MAX_MESSAGE
    assert [c[0] for c in kube.calls].count("create_config_map") == 1


def test_the_log_keeps_the_newest_events_only(kube):
    kube.add_namespace(NS, {})
    for i in range(events.MAX_EVENTS + 5):
        events.record_event(kube, "shop", events.new_event("upgraded", revision=i))
    revisions = [e["revision"] for e in events.read_events(kube, "shop")]
    assert revisions == list(range(5, events.MAX_EVENTS + 5))


def test_a_writer_that_wins_the_race_is_kept_and_ours_is_retried(kube):
    kube.add_namespace(NS, {})
    events.record_event(kube, "shop", events.new_event("created", revision=1))
    real_replace, raced = kube.replace_config_map, []

    def replace_after_another_writer(namespace, name, data, labels, resource_version):
        if not raced:  # another machine appends between our read and our write
            raced.append(True)
            other = events._parse(kube.config_maps[(namespace, name)])
            other.append(events.new_event("backed-up"))
            real_replace(namespace, name, {"events.json": json.dumps(other)}, labels, resource_version)
        return real_replace(namespace, name, data, labels, resource_version)

    kube.replace_config_map = replace_after_another_writer
    events.record_event(kube, "shop", events.new_event("upgraded", revision=2))
    assert [a for a, _, _ in logged(kube)] == ["created", "backed-up", "upgraded"]
    assert len(kube.called("replace_config_map")) == 3  # the other's, our 409, our retry


def test_two_writers_creating_the_log_at_once_both_land(kube):
    kube.add_namespace(NS, {})
    start = threading.Barrier(2)

    def write(action):
        start.wait()
        events.record_event(kube, "shop", events.new_event(action))

    threads = [threading.Thread(target=write, args=(a,)) for a in ("upgraded", "backed-up")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a for a, _, _ in logged(kube)) == ["backed-up", "upgraded"]


def test_a_log_that_always_changes_under_us_gives_up_with_a_conflict(kube):
    kube.add_namespace(NS, {})
    events.record_event(kube, "shop", events.new_event("created"))
    kube.replace_config_map = lambda *args: (_ for _ in ()).throw(
        events.ConflictError("the object has been modified"))
    with pytest.raises(Conflict, match="kept changing"):
        events.record_event(kube, "shop", events.new_event("upgraded"))


def test_no_namespace_is_not_found_and_record_quietly_returns_a_note(kube):
    with pytest.raises(NotFound, match="store-shop"):
        events.record_event(kube, "shop", events.new_event("created"))
    note = events.record_quietly(kube, "shop", events.new_event("created"))
    assert note.startswith("could not record the created event of store shop")


def test_an_unreadable_log_is_started_again(kube):
    kube.add_namespace(NS, {})
    kube.create_config_map(NS, EVENTS_CONFIGMAP, {"events.json": "{not json"}, {})
    assert events.read_events(kube, "shop") == []
    events.record_event(kube, "shop", events.new_event("upgraded"))
    assert logged(kube) == [("upgraded", "ok", None)]


def test_failed_revisions_are_the_ones_whose_last_outcome_failed():
    log = [events.new_event("create-failed", result="failed", revision=1),
           events.new_event("created", revision=1),  # a re-run of create saw revision 1 become ready
           events.new_event("upgrade-failed", result="failed", revision=2),
           events.new_event("backed-up", result="failed", revision=3)]  # not an outcome of a revision
    assert events.failed_revisions(log) == {2}


def test_last_good_revision_skips_failed_and_unfinished_ones():
    revisions = [Release("shop", NS, "superseded", 1), Release("shop", NS, "superseded", 2),
                 Release("shop", NS, "failed", 3), Release("shop", NS, "deployed", 4)]
    log = [events.new_event("upgrade-failed", result="failed", revision=2)]
    assert last_good_revision(revisions, log, below=4) == 1
    assert last_good_revision(revisions, [], below=4) == 2
    assert last_good_revision(revisions, [], below=5) == 4
    assert last_good_revision(revisions[:1], [], below=1) is None


# -- create feeds the log ----------------------------------------------------------------------
def test_create_records_created_with_the_revision(make_store, kube):
    make_store()
    assert logged(kube) == [("created", "ok", 1)]
    make_store()  # a ready store confirmed: nothing happened, nothing recorded
    assert logged(kube) == [("created", "ok", 1)]


def test_a_failed_create_records_why(make_store, kube, helm):
    helm.objects_on_install = crashing_objects()
    with pytest.raises(OperationFailed):
        make_store()
    [event] = events.read_events(kube, "shop")
    assert (event["action"], event["result"], event["revision"]) == ("create-failed", "failed", 1)
    assert "CrashLoopBackOff" in event["message"]


# -- history -----------------------------------------------------------------------------------
def test_history_has_the_revisions_and_the_events(make_store, upgrade, kube, helm):
    make_store()
    upgrade(versions=(("woocommerce", "11.0.2"),))
    history = store_history("shop", kube=kube, helm=helm, target=TARGET, reporter=RecordingReporter())
    assert [(r["revision"], r["status"], r["description"]) for r in history["revisions"]] == [
        (1, "superseded", "Install complete"), (2, "deployed", "Upgrade complete")]
    assert history["revisions"][0]["updated"] == "2026-12-02T01:00:00Z"
    assert history["revisions"][0]["chart"] == "woocommerce-0.1.0"
    assert [(e["action"], e["revision"]) for e in history["events"]] == [("created", 1), ("upgraded", 2)]
    assert set(history["events"][0]) == {"time", "action", "result", "revision", "message"}


def test_history_of_an_unknown_store_is_not_found(kube, helm):
    with pytest.raises(NotFound, match="store shop not found"):
        store_history("shop", kube=kube, helm=helm, target=TARGET, reporter=RecordingReporter())
    assert helm.calls == []


@pytest.mark.parametrize("stamp, shown", [
    ("2026-12-02T01:21:52.06621312Z", "2026-12-02T01:21:52Z"),
    ("2026-12-02T02:21:52.5+01:00", "2026-12-02T01:21:52Z"),
    ("2026-12-02T01:21:52Z", "2026-12-02T01:21:52Z"),
    ("", ""), ("yesterday", "yesterday"),
])
def test_helm_times_are_shown_in_utc_to_the_second(stamp, shown):
    assert utc_time(stamp) == shown


# -- rollback ----------------------------------------------------------------------------------
def test_rollback_goes_to_the_last_good_revision_and_waits(make_store, upgrade, rollback, helm, kube, registry):
    make_store()
    upgrade(versions=(("woocommerce", "11.0.2"),))
    result = rollback()
    assert (result.from_revision, result.to_revision, result.revision) == (2, 1, 3)
    assert helm.called("rollback") == [("rollback", "shop", 1)]
    assert logged(kube)[-1] == ("rolled-back", "ok", 3)
    assert registry.get_store("kind-urumi", "shop").status == "ready"


def test_rollback_skips_a_revision_urumi_saw_fail(make_store, upgrade, rollback, helm, kube):
    make_store()
    upgrade(versions=(("woocommerce", "11.0.2"),))  # revision 2: good
    helm.objects_on_install = crashing_objects()
    with pytest.raises(RolledBack):
        upgrade(versions=(("wordpress", "broken"),))  # revision 3 failed; rolled back to 2 as revision 4
    helm.objects_on_install = ready_objects("shop")
    result = rollback()
    assert result.to_revision == 2  # revision 3 was "superseded" to helm, but it never worked


def test_rollback_to_a_revision_that_does_not_exist_is_usage(make_store, rollback, helm):
    make_store()
    with pytest.raises(UsageError) as info:
        rollback(revision=7)
    assert "no revision 7" in info.value.message and "choose one of 1" in info.value.hint
    assert helm.called("rollback") == []


def test_rollback_without_an_earlier_good_revision_is_not_found(make_store, rollback, helm):
    make_store()
    with pytest.raises(NotFound, match="no earlier revision that worked"):
        rollback()
    assert helm.called("rollback") == []


def test_a_rollback_that_does_not_become_ready_fails_and_says_so(make_store, upgrade, rollback, helm, kube,
                                                                 registry):
    make_store()
    upgrade(versions=(("woocommerce", "11.0.2"),))
    helm.revision_objects[("shop", 1)] = crashing_objects()  # revision 1 cannot start any more
    with pytest.raises(OperationFailed) as info:
        rollback()
    assert "CrashLoopBackOff" in info.value.message and info.value.details
    assert logged(kube)[-1] == ("rollback-failed", "failed", 3)
    assert registry.get_store("kind-urumi", "shop").status == "failed"


def test_rollback_of_an_unknown_store_is_not_found(rollback, helm):
    with pytest.raises(NotFound):
        rollback()
    assert helm.calls == []


# -- upgrade -----------------------------------------------------------------------------------
def _values_given(helm) -> dict:
    """What the last upgrade_install was given, merged as helm merges -f files."""
    return helm.revision_values[("shop", helm.releases["shop"].revision)]


def test_upgrade_applies_the_kept_values_plus_the_new_version_and_keeps_them(make_store, upgrade, helm, kube,
                                                                             registry, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("setup:\n  currency: EUR\n")
    make_store(values_files=(str(mine),))
    result = upgrade(versions=(("wordpress", "7.0.5-php8.3-apache"),))
    assert (result.upgraded, result.from_revision, result.revision) == (True, 1, 2)
    given = _values_given(helm)
    assert given["web"]["image"]["tag"] == "7.0.5-php8.3-apache"
    assert given["setup"]["currency"] == "EUR"  # the -f file of the create is still applied
    assert given["store"]["name"] == "shop" and given["existingSecret"] == "store-credentials"
    kept = kube.secrets[(NS, USER_VALUES_SECRET)]
    assert [yaml.safe_load(text) for _, text in sorted(kept.items())] == [
        {"setup": {"currency": "EUR"}}, {"web": {"image": {"tag": "7.0.5-php8.3-apache"}}}]
    assert logged(kube)[-1] == ("upgraded", "ok", 2)
    assert registry.get_store("kind-urumi", "shop").status == "ready"


def test_upgrade_keeps_the_domain_the_store_was_created_with(registry, helm, kube, reporter, tmp_path, upgrade):
    options = CreateOptions(name="shop", type="woocommerce", target=TARGET, timeout_s=20, env="prod",
                            domain="example.com")
    create_store(options, registry=registry, helm=helm, kube=kube, reporter=reporter, locks_dir=tmp_path / "locks")
    upgrade()
    assert _values_given(helm)["domain"] == "example.com"
    assert helm.called("upgrade_install")[-1][3][0].endswith("values-prod.yaml")


def test_a_failed_upgrade_is_rolled_back_and_the_store_serves_again(make_store, upgrade, helm, kube, registry):
    make_store()
    helm.objects_on_install = crashing_objects()
    with pytest.raises(RolledBack) as info:
        upgrade(versions=(("wordpress", "7.0.5-kwok-fail"),))
    err = info.value
    assert err.exit_code == EXIT_ROLLED_BACK == 6
    assert "CrashLoopBackOff" in err.message and "rolled back automatically to revision 1" in err.message
    assert err.result.to_json()["rolled_back_to"] == 1 and err.result.revision == 3
    assert helm.called("rollback") == [("rollback", "shop", 1)]
    assert kube.objects[NS] == ready_objects("shop")  # revision 1's objects are back
    assert logged(kube) == [("created", "ok", 1), ("upgrade-failed", "failed", 2), ("rolled-back", "ok", 3)]
    assert registry.get_store("kind-urumi", "shop").status == "ready"
    assert USER_VALUES_SECRET not in {n for _, n in kube.secrets}  # the failed version is not kept


def test_the_old_revisions_crashing_pod_does_not_fail_the_rollback(make_store, upgrade, helm, kube):
    make_store()
    helm.objects_on_install = crashing_objects()

    def rollback_leaving_the_crashing_pod(release, *, namespace, target, revision=None, timeout_s=300):
        FakeHelmRollback(release, namespace=namespace, target=target, revision=revision, timeout_s=timeout_s)
        # the Deployment controller has not yet removed the bad revision's pod
        kube.objects[NS]["pods"].append(crashing_objects()["pods"][0])

    FakeHelmRollback = helm.rollback
    helm.rollback = rollback_leaving_the_crashing_pod
    with pytest.raises(RolledBack):
        upgrade(versions=(("wordpress", "7.0.5-kwok-fail"),))


def test_an_upgrade_that_cannot_be_rolled_back_says_so(make_store, upgrade, helm, kube, registry):
    helm.objects_on_install = crashing_objects()
    with pytest.raises(OperationFailed):
        make_store()  # revision 1 never worked
    helm.objects_on_install = crashing_objects(web_pod="web-newer")  # revision 2's own pod crashes too
    with pytest.raises(OperationFailed) as info:
        upgrade(versions=(("wordpress", "7.0.6"),))
    assert not isinstance(info.value, RolledBack)
    assert "not rolled back: it has no earlier revision that worked" in info.value.message
    assert "shop-web-newer" in info.value.message  # failed fast on the new pod, not at the deadline
    assert helm.called("rollback") == []
    assert registry.get_store("kind-urumi", "shop").status == "failed"


def test_dry_run_shows_the_values_diff_and_changes_nothing(make_store, upgrade, helm, kube, registry, tmp_path):
    make_store()
    before = (registry.path.read_bytes(), dict(kube.config_maps), len(helm.called("upgrade_install")))
    more = tmp_path / "more.yaml"
    more.write_text("setup:\n  currency: EUR\n")
    result = upgrade(versions=(("woocommerce", "11.0.2"),), values_files=(str(more),), dry_run=True)
    assert result.dry_run and not result.upgraded and result.revision is None
    assert result.changes == [
        {"key": "setup.currency", "current": None, "proposed": "EUR"},
        {"key": "setup.woocommerceVersion", "current": None, "proposed": "11.0.2"},
    ]
    assert (registry.path.read_bytes(), dict(kube.config_maps), len(helm.called("upgrade_install"))) == before


def test_an_unknown_component_is_refused_before_helm_runs(make_store, upgrade, helm):
    make_store()
    with pytest.raises(UsageError) as info:
        upgrade(versions=(("medusa", "2.0.0"),))
    assert "not a component of a woocommerce store" in info.value.message
    assert "woocommerce, storefront, wordpress, mariadb" in info.value.hint
    assert len(helm.called("upgrade_install")) == 1


def test_an_unreadable_values_file_is_refused_before_the_cluster_is_asked(upgrade, kube, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        upgrade(values_files=(str(tmp_path / "missing.yaml"),))
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(UsageError, match="not a YAML mapping"):
        upgrade(values_files=(str(bad),))
    assert kube.calls == []


def test_values_the_chart_refuses_leave_the_store_as_it_was(make_store, upgrade, helm, registry):
    make_store()

    def schema_says_no(release, info):
        raise UsageError("the chart rejected the values: - web.image.tag: Invalid type")

    helm.on_upgrade = schema_says_no
    with pytest.raises(UsageError):
        upgrade(versions=(("wordpress", "x"),))
    assert helm.called("rollback") == []
    assert registry.get_store("kind-urumi", "shop").status == "ready"


def test_evaluate_ignores_the_failures_of_pods_and_jobs_being_replaced():
    snap = Snapshot()
    old_pod = pod("shop-web-old", ready=False, waiting="CrashLoopBackOff")
    old_job = job("shop-setup-2", state="failed")
    snap.apply("deployments", "LIST", [deployment("shop-web")])
    snap.apply("statefulsets", "LIST", [statefulset("shop-mariadb")])
    snap.apply("jobs", "LIST", [old_job, job("shop-setup-3")])
    snap.apply("pods", "LIST", [old_pod, pod("shop-web-new")])
    snap.apply("events", "LIST", [])
    assert evaluate(snap).failure is not None
    result = evaluate(snap, ignore_uids=frozenset({old_pod["metadata"]["uid"], old_job["metadata"]["uid"]}))
    assert result.failure is None and result.ready


def test_a_quota_refusal_while_the_previous_jobs_pod_terminates_is_waited_out():
    """Seen on kind: a rollback recreates the good revision's setup Job while the failed revision's
    setup pod still terminates and holds its quota; the Job controller creates the pod once it is
    gone. A refusal after that is the store's failure."""
    from urumi_cli.readiness import parse_time

    refused_at = "2030-01-01T00:00:10Z"
    leaving = pod("shop-setup-2-abc", component="setup")
    leaving["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:09Z"
    snap = Snapshot()
    snap.apply("deployments", "LIST", [deployment("shop-web")])
    snap.apply("statefulsets", "LIST", [statefulset("shop-mariadb")])
    snap.apply("jobs", "LIST", [job("shop-setup-1", state="running")])
    snap.apply("pods", "LIST", [leaving, pod("shop-web-abc")])
    snap.apply("events", "LIST", [event(kind="Job", obj="shop-setup-1", when=refused_at)])
    assert evaluate(snap).failure is None

    snap.apply("pods", "DELETED", leaving, now_epoch=parse_time(refused_at) + 0.5)
    assert evaluate(snap).failure is None  # refused before that pod was gone

    snap.apply("events", "MODIFIED", event(kind="Job", obj="shop-setup-1", when="2030-01-01T00:00:20Z", rv="2"))
    assert "exceeded quota" in evaluate(snap).failure


def test_a_quota_refusal_with_nothing_leaving_fails_at_once():
    snap = Snapshot()
    for resource, items in ready_objects().items():
        snap.apply(resource, "LIST", items)
    snap.apply("events", "ADDED", event())
    assert evaluate(snap).failure.startswith("FailedCreate on replicaset/shop-web-123")


# -- through the CLI ---------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path, runner, kube, helm):
    from test_cli import Cli

    return Cli(tmp_path, runner, kube, helm)


def _make_via_cli(cli):
    made = cli("store", "create", "--name", "shop", "-o", "json")
    assert made.exit_code == 0, made.output


def test_cli_history_json_shape(cli):
    _make_via_cli(cli)
    result = cli("store", "history", "shop", "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"name", "revisions", "events"}
    assert set(data["revisions"][0]) == {"revision", "status", "chart", "app_version", "updated", "description"}
    assert [e["action"] for e in data["events"]] == ["created"]


def test_cli_history_table_shows_both_parts(cli):
    _make_via_cli(cli)
    result = cli("store", "history", "shop")
    assert result.exit_code == 0, result.output
    for words in ("Revisions", "Install complete", "woocommerce-0.1.0", "Events", "created"):
        assert words in result.stdout


def test_cli_history_of_an_unknown_store_is_exit_4(cli):
    result = cli("store", "history", "nope", "-o", "json")  # no progress lines: the error is all of stderr
    assert result.exit_code == 4 and result.stdout == ""
    assert result.stderr.startswith("error: store nope not found") and result.stderr.count("\n") == 1


def test_cli_upgrade_rolled_back_is_exit_6_with_the_outcome_on_stdout(cli, helm):
    _make_via_cli(cli)
    helm.objects_on_install = crashing_objects()
    result = cli("store", "upgrade", "shop", "--set-version", "wordpress=7.0.5-kwok-fail", "-o", "json")
    assert result.exit_code == 6, result.output
    outcome = json.loads(result.stdout)
    assert outcome == {"name": "shop", "dry_run": False, "upgraded": False, "from_revision": 1, "revision": 3,
                       "rolled_back_to": 1, "reason": outcome["reason"], "changes": []}
    assert "CrashLoopBackOff" in outcome["reason"]
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "rolled back automatically to revision 1" in line and "Traceback" not in result.stderr


def test_cli_upgrade_dry_run_prints_the_diff_table(cli, helm):
    _make_via_cli(cli)
    result = cli("store", "upgrade", "shop", "--set-version", "woocommerce=11.0.2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "setup.woocommerceVersion" in result.stdout and "(unset)" in result.stdout and "11.0.2" in result.stdout
    assert len(helm.called("upgrade_install")) == 1


@pytest.mark.parametrize("value, words", [
    ("wordpress", "invalid --set-version 'wordpress'"),
    ("=1.0", "invalid --set-version '=1.0'"),
    ("wordpress=a b", "invalid version 'a b' for wordpress"),
    ("wordpress=$(id)", "invalid version '$(id)'"),
])
def test_cli_upgrade_bad_set_version_is_one_line_exit_2(cli, value, words):
    result = cli("store", "upgrade", "shop", "--set-version", value)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {words}") and result.stderr.count("\n") == 1
    assert cli.kube.calls == [] and cli.helm.calls == []


def test_cli_rollback_json_and_its_revision_checks(cli):
    _make_via_cli(cli)
    assert cli("store", "upgrade", "shop", "--set-version", "woocommerce=11.0.2").exit_code == 0
    result = cli("store", "rollback", "shop", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"name": "shop", "from_revision": 2, "to_revision": 1, "revision": 3,
                                         "status": "ready"}
    zero = cli("store", "rollback", "shop", "--to", "0")
    assert zero.exit_code == 2 and zero.stderr.count("error:") == 1
    missing = cli("store", "rollback", "shop", "--to", "9")
    assert missing.exit_code == 2 and "no revision 9" in missing.stderr


def test_an_upgrade_that_worked_is_not_failed_by_a_lost_event(make_store, upgrade, kube, registry):
    make_store()

    def api_gone(*args):
        from urumi_cli.errors import ClusterUnreachable

        raise ClusterUnreachable("the Kubernetes API failed: 503")

    kube.replace_config_map = api_gone
    result = upgrade(versions=(("woocommerce", "11.0.2"),))
    assert result.upgraded and result.notes == [
        "could not record the upgraded event of store shop: the Kubernetes API failed: 503"]
    assert registry.get_store("kind-urumi", "shop").status == "ready"


def test_a_release_locked_by_another_helm_is_not_rolled_back(make_store, upgrade, helm, registry):
    make_store()

    def locked(release, info):
        raise Conflict("release shop is locked by another helm operation")

    helm.on_upgrade = locked
    with pytest.raises(Conflict):
        upgrade(versions=(("woocommerce", "11.0.2"),))
    assert helm.called("rollback") == []
    assert registry.get_store("kind-urumi", "shop").status == "ready"


def test_without_a_good_revision_a_timeout_stays_a_timeout(make_store, upgrade, helm):
    from urumi_cli.errors import EXIT_TIMEOUT, TimedOut

    helm.objects_on_install = crashing_objects()
    with pytest.raises(OperationFailed):
        make_store()
    never = crashing_objects(web_pod="web-slow")
    never["pods"][0]["status"]["containerStatuses"] = []  # not crashing: just never ready
    helm.objects_on_install = never
    with pytest.raises(TimedOut) as info:
        upgrade(versions=(("woocommerce", "11.0.2"),), timeout_s=1)
    assert info.value.exit_code == EXIT_TIMEOUT and "not rolled back" in info.value.message


def _kept(kube) -> list[dict]:
    return [yaml.safe_load(text) for _, text in sorted((kube.read_secret(NS, USER_VALUES_SECRET) or {}).items())]


def test_a_rollback_brings_back_the_kept_files_of_that_revision(make_store, upgrade, rollback, helm, kube,
                                                               tmp_path):
    eur, gbp = tmp_path / "eur.yaml", tmp_path / "gbp.yaml"
    eur.write_text("setup:\n  currency: EUR\n")
    gbp.write_text("setup:\n  currency: GBP\n")
    make_store(values_files=(str(eur),))
    upgrade(values_files=(str(gbp),))
    assert _kept(kube) == [{"setup": {"currency": "EUR"}}, {"setup": {"currency": "GBP"}}]
    result = rollback()
    assert result.to_revision == 1 and result.notes == []
    assert _kept(kube) == [{"setup": {"currency": "EUR"}}]
    upgrade()  # a plain upgrade starts from what runs now, not from the upgrade that was undone
    assert _values_given(helm)["setup"]["currency"] == "EUR"
    assert rollback(revision=2).to_revision == 2  # and forward again: revision 2's files come back
    assert _kept(kube)[-1] == {"setup": {"currency": "GBP"}}


def test_a_rollback_to_a_revision_urumi_has_no_files_of_says_so(make_store, upgrade, rollback, kube, helm):
    make_store()
    upgrade(versions=(("woocommerce", "11.0.2"),))
    kube.secrets.pop((NS, "urumi-user-values-history"))  # e.g. made by a urumi before this record existed
    result = rollback()
    assert result.notes == ["the values files kept for store shop are unchanged: urumi has no record of "
                            "revision 1's; pass -f to the next upgrade to set them"]
    assert _kept(kube) == [{"setup": {"woocommerceVersion": "11.0.2"}}]


def test_the_per_revision_record_forgets_revisions_helm_no_longer_has(kube):
    from urumi_cli.actions import values

    kube.add_namespace(NS, {})
    values.record_revision_user_values(kube, NS, "shop", {1: {}, 2: {"00.yaml": "a: 1\n"}}, live={1, 2})
    assert values.revision_user_values(kube, NS, 1) == {} and values.revision_user_values(kube, NS, 2) == {
        "00.yaml": "a: 1\n"}
    values.record_revision_user_values(kube, NS, "shop", {3: {"00.yaml": "b: 2\n"}}, live={2, 3})
    assert values.revision_user_values(kube, NS, 1) is None
    assert values.revision_user_values(kube, NS, 3) == {"00.yaml": "b: 2\n"}


def test_the_values_diff_names_a_changed_credential_but_never_prints_it():
    from urumi_cli.actions.values import values_diff

    current = {"smtp": {"password": "old-pw", "host": "a"}, "apiToken": "t1", "existingSecret": "store-credentials"}
    proposed = {"smtp": {"password": "new-pw", "host": "b"}, "apiToken": "t1", "existingSecret": "store-credentials"}
    assert values_diff(current, proposed) == [
        {"key": "smtp.host", "current": "a", "proposed": "b"},
        {"key": "smtp.password", "current": "(hidden)", "proposed": "(hidden)"}]
    assert values_diff({}, {"db": {"rootPassword": "x"}}) == [
        {"key": "db.rootPassword", "current": None, "proposed": "(hidden)"}]


def test_an_upgrade_first_recovers_a_release_an_interrupted_helm_left_pending(make_store, upgrade, helm, kube):
    make_store()
    upgrade(versions=(("woocommerce", "11.0.2"),))
    # a Ctrl-C'd upgrade left revision 3 pending (helm's lock on the release)
    helm.releases["shop"] = Release("shop", NS, "pending-upgrade", 3)
    helm.revisions["shop"].append(Release("shop", NS, "pending-upgrade", 3))
    result = upgrade(versions=(("storefront", "4.6.3"),))
    assert helm.called("rollback") == [("rollback", "shop", 2)]  # to the last revision that worked
    assert result.upgraded and result.revision == 5
    assert _values_given(helm)["setup"] == {"woocommerceVersion": "11.0.2", "storefrontVersion": "4.6.3"}
