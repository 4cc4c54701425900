"""`store logs`: which pods and containers, --tail/--since, and --follow across container
restarts and pod replacements (a pod watch decides what to follow); the adapter's log stream is
tested against the local API server in test_kube_client.py."""

from __future__ import annotations

import copy
import json
import queue
import threading
import time

import pytest

from fakes import FakeKube
from urumi_cli.actions.contract import LABEL_NAME, LABEL_TYPE, MANAGED_BY
from urumi_cli.actions.logs import LogOptions, started_containers, store_logs
from urumi_cli.errors import NotFound
from urumi_cli.models import Target
from urumi_cli.readiness import COMPONENT_LABEL, INSTANCE_LABEL

pytestmark = pytest.mark.timeout(30)
TARGET = Target(context="kind-urumi")
NS = "store-shop"


def running_pod(name, component, *containers, restarts=0, uid=None, init=(), waiting=()) -> dict:
    def status(c, state):
        return {"name": c, "restartCount": restarts, "state": state}

    return {"metadata": {"name": name, "uid": uid or f"uid-{name}", "resourceVersion": "5",
                         "creationTimestamp": "2026-12-02T01:00:00Z",
                         "labels": {INSTANCE_LABEL: "shop", COMPONENT_LABEL: component}},
            "status": {"phase": "Running",
                       "initContainerStatuses": [status(c, {"terminated": {"exitCode": 0}}) for c in init],
                       "containerStatuses": [status(c, {"running": {}}) for c in containers]
                       + [status(c, {"waiting": {"reason": "ContainerCreating"}}) for c in waiting]}}


class WatchedKube(FakeKube):
    """FakeKube whose pod watch replays the events a test pushes (FakeKube's own is a quiet server)."""

    def __init__(self):
        super().__init__()
        self.pod_events: "queue.Queue[tuple[str, dict]]" = queue.Queue()

    def watch(self, resource, namespace, selector, resource_version, timeout_s, field_selector=None):
        ends = time.monotonic() + 0.2
        while resource == "pods" and not self.closed.is_set() and time.monotonic() < ends:
            try:
                kind, obj = self.pod_events.get(timeout=0.01)
            except queue.Empty:
                continue
            self.objects[NS]["pods"] = [p for p in self.objects[NS]["pods"]
                                        if p["metadata"]["name"] != obj["metadata"]["name"]] + [obj]
            yield kind, copy.deepcopy(obj)
        self.closed.wait(0.01)


@pytest.fixture
def kube():
    k = WatchedKube()
    k.add_namespace(NS, {MANAGED_BY: "urumi", LABEL_NAME: "shop", LABEL_TYPE: "woocommerce"})
    k.objects[NS] = {"pods": [running_pod("shop-web-1", "web", "wordpress", init=("wordpress-core",)),
                              running_pod("shop-mariadb-0", "database", "mariadb", waiting=("sidecar",))]}
    k.logs[(NS, "shop-web-1", "wordpress-core")] = "copied core"
    k.logs[(NS, "shop-web-1", "wordpress")] = "GET / 200\nGET /shop 200\nPOST /checkout 200"
    k.logs[(NS, "shop-mariadb-0", "mariadb")] = "ready for connections"
    yield k
    k.closed.set()


def lines_of(kube, **opts):
    return [(line.pod, line.container, line.text)
            for line in store_logs(LogOptions(name="shop", target=TARGET, **opts), kube=kube)]


def test_every_started_container_of_every_component_in_order(kube):
    assert lines_of(kube) == [
        ("shop-mariadb-0", "mariadb", "ready for connections"),  # database comes before web
        ("shop-web-1", "wordpress-core", "copied core"),  # init containers have logs too
        ("shop-web-1", "wordpress", "GET / 200"), ("shop-web-1", "wordpress", "GET /shop 200"),
        ("shop-web-1", "wordpress", "POST /checkout 200")]
    assert not [c for c in kube.called("stream_log") if c[3] == "sidecar"]  # waiting: nothing to read


def test_component_tail_and_since_reach_the_api(kube):
    assert lines_of(kube, component="web", tail=1, since_s=90.5) == [
        ("shop-web-1", "wordpress-core", "copied core"), ("shop-web-1", "wordpress", "POST /checkout 200")]
    assert {c[2] for c in kube.called("stream_log")} == {"shop-web-1"}
    assert {(c[4], c[5], c[6]) for c in kube.called("stream_log")} == {(False, 91, 1)}


def test_no_pod_of_that_component_is_not_found(kube):
    with pytest.raises(NotFound) as info:
        lines_of(kube, component="cache")
    assert info.value.message == "store shop has no pods of component cache"
    assert "urumi store describe shop" in info.value.hint


def test_an_unknown_store_is_not_found(kube):
    with pytest.raises(NotFound, match="store other not found"):
        list(store_logs(LogOptions(name="other", target=TARGET), kube=kube))


def test_started_containers_skips_waiting_ones_and_counts_restarts():
    pod = running_pod("p", "web", "app", restarts=3, init=("init",), waiting=("late",))
    assert started_containers(pod) == [("init", 3), ("app", 3)]
    assert started_containers({"metadata": {}}) == []


def test_follow_keeps_reading_across_a_restart_and_a_replacement(kube):
    opts = LogOptions(name="shop", target=TARGET, component="web", follow=True, tail=1)
    got: "queue.Queue[tuple]" = queue.Queue()

    def consume():
        for line in store_logs(opts, kube=kube):
            got.put((line.pod, line.container, line.text))
            if line.text == "STOP":
                return  # closing the generator stops its watch

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()

    def next_lines(n):
        return sorted(got.get(timeout=10) for _ in range(n))

    assert next_lines(2) == [("shop-web-1", "wordpress", "POST /checkout 200"),  # --tail 1 for what ran before
                             ("shop-web-1", "wordpress-core", "copied core")]
    kube.logs[(NS, "shop-web-1", "wordpress")] += "\nGET /cart 200"  # a live line
    assert next_lines(1) == [("shop-web-1", "wordpress", "GET /cart 200")]

    # the container crashes and restarts: the new run is followed from its first line
    kube.new_container_run(NS, "shop-web-1", "wordpress", "booting again\nready")
    kube.pod_events.put(("MODIFIED", running_pod("shop-web-1", "web", "wordpress", restarts=1)))
    assert next_lines(2) == [("shop-web-1", "wordpress", "booting again"), ("shop-web-1", "wordpress", "ready")]

    # the pod is replaced by a new one (another uid, another name)
    kube.logs[(NS, "shop-web-2", "wordpress")] = "new pod\nSTOP"
    kube.pod_events.put(("ADDED", running_pod("shop-web-2", "web", "wordpress")))
    assert next_lines(2) == [("shop-web-2", "wordpress", "STOP"), ("shop-web-2", "wordpress", "new pod")]
    consumer.join(timeout=10)
    assert not consumer.is_alive()
    follows = [(c[2], c[3], c[6]) for c in kube.called("stream_log")]
    # only what ran before the command got --tail; each run was opened once
    assert sorted(follows, key=str) == sorted([("shop-web-1", "wordpress", 1), ("shop-web-1", "wordpress", None),
                                               ("shop-web-1", "wordpress-core", 1), ("shop-web-2", "wordpress", None)],
                                              key=str)


# -- through the CLI ---------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path, runner, kube, helm):
    from test_cli import Cli

    return Cli(tmp_path, runner, kube, helm)


def test_cli_text_lines_are_prefixed_and_json_is_one_object_per_line(cli):
    text = cli("store", "logs", "shop", "-c", "database")
    assert text.exit_code == 0, text.output
    assert text.stdout == "[shop-mariadb-0/mariadb] ready for connections\n"
    as_json = cli("store", "logs", "shop", "-c", "database", "-o", "json")
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [
        {"pod": "shop-mariadb-0", "container": "mariadb", "component": "database", "line": "ready for connections"}]


def test_cli_markup_in_a_log_line_is_printed_as_it_is(cli, kube):
    kube.logs[(NS, "shop-mariadb-0", "mariadb")] = "[red]not markup[/red] [/x]"
    result = cli("store", "logs", "shop", "-c", "database")
    assert result.stdout == "[shop-mariadb-0/mariadb] [red]not markup[/red] [/x]\n"


@pytest.mark.parametrize("args, words", [
    (("-c", "nope"), "unknown component 'nope'"),
    (("-o", "yaml"), "unknown output format 'yaml' for logs"),
    (("--since", "0"), "invalid duration '0'"),
])
def test_cli_bad_input_is_one_line_exit_2(cli, args, words):
    result = cli("store", "logs", "shop", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {words}") and result.stderr.count("\n") == 1
    assert cli.kube.calls == []


def test_cli_no_pods_is_exit_4(cli):
    result = cli("store", "logs", "shop", "-c", "cache")
    assert result.exit_code == 4 and "no pods of component cache" in result.stderr


def test_cli_a_container_the_api_refuses_is_noted_and_the_others_shown(cli, kube):
    from urumi_cli.errors import OperationFailed

    refused = OperationFailed('the Kubernetes API rejected the request: 400 no logs found for container "mariadb"')
    kube.log_errors[(NS, "shop-mariadb-0", "mariadb")] = refused
    result = cli("store", "logs", "shop")
    assert result.exit_code == 0, result.output
    assert "[shop-web-1/wordpress] GET / 200" in result.stdout
    assert "no log of shop-mariadb-0/mariadb: the Kubernetes API rejected the request: 400" in result.stderr
    only = cli("store", "logs", "shop", "-c", "database")  # nothing could be read at all: a failure
    assert only.exit_code == 1
    assert "no log of shop-mariadb-0/mariadb" in only.stderr
    assert only.stderr.splitlines()[-1].startswith("error: could not read any log of store shop (1 container(s))")


def test_follow_reports_a_container_the_api_refuses_and_keeps_following(kube):
    from urumi_cli.errors import OperationFailed

    kube.log_errors[(NS, "shop-web-1", "wordpress-core")] = OperationFailed("400 no logs found")
    kube.logs[(NS, "shop-web-1", "wordpress")] = "STOP"
    got = []
    for line in store_logs(LogOptions(name="shop", target=TARGET, component="web", follow=True), kube=kube):
        got.append((line.container, line.text, line.unreadable))
        if len(got) == 2:
            break
    assert sorted(got) == [("wordpress", "STOP", False), ("wordpress-core", "400 no logs found", True)]
