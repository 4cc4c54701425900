"""list-then-watch, the merged streams, and wait_until_ready, over a scripted ResourceSource."""

from __future__ import annotations

import functools
import queue
import threading
import time

import pytest

from fakes import END, deployment, event, job, pod, ready_objects
from urumi_cli.actions.waiting import wait_until_ready
from urumi_cli.adapters import watching as kube_mod
from urumi_cli.adapters.watching import ApiDenied, Gone, ResourceStreams, TransientApiError, list_then_watch
from urumi_cli.errors import ClusterUnreachable, OperationFailed, TimedOut

pytestmark = pytest.mark.timeout(30)
WAITED = ("deployments", "statefulsets", "jobs", "pods", "events")


def _collect(out: queue.Queue, count: int, timeout: float = 5.0) -> list:
    items, ends = [], time.monotonic() + timeout
    while len(items) < count and time.monotonic() < ends:
        try:
            items.append(out.get(timeout=0.05))
        except queue.Empty:
            pass
    return items


def _run_loop(source, resource="pods", **kwargs):
    out, stop = queue.Queue(), threading.Event()
    thread = threading.Thread(target=list_then_watch, args=(source, resource, "store-shop", "sel", out, stop),
                              kwargs=kwargs, daemon=True)
    thread.start()
    return out, stop, thread


# -- list_then_watch ---------------------------------------------------------------------------
def test_gone_triggers_a_fresh_list_and_watch_from_its_version(source):
    source.script_list("pods", ([pod("a", ready=False)], "10"), ([pod("a", ready=True)], "20"))
    source.push("pods", Gone())
    out, stop, thread = _run_loop(source)
    items = _collect(out, 2)
    stop.set()
    thread.join(2)
    assert [i.kind for i in items] == ["LIST", "LIST"]
    assert items[0].obj[0]["status"]["conditions"][0]["status"] == "False"
    assert items[1].obj[0]["status"]["conditions"][0]["status"] == "True"
    assert source.lists_of("pods") >= 2
    assert source.watch_calls[0] == ("pods", "10")
    assert ("pods", "20") in source.watch_calls
    assert not thread.is_alive()


def test_a_server_ended_watch_resumes_from_the_last_version_without_listing(source):
    source.script_list("pods", ([], "10"))
    source.push("pods", ("ADDED", pod("a", rv="11")), ("BOOKMARK", {"metadata": {"resourceVersion": "15"}}), END)
    out, stop, thread = _run_loop(source)
    items = _collect(out, 2)
    deadline = time.monotonic() + 2
    while len(source.watch_calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(2)
    assert [i.kind for i in items] == ["LIST", "ADDED"]
    assert items[0].obj == [] and items[1].obj["metadata"]["name"] == "a"
    assert source.watch_calls[:2] == [("pods", "10"), ("pods", "15")]  # bookmarks advance, are not forwarded
    assert source.lists_of("pods") == 1


def test_repeated_transient_errors_end_with_an_error_item(source):
    source.script_list("pods", TransientApiError("connection reset"))
    out, stop, thread = _run_loop(source, backoff_s=0.001)
    thread.join(3)
    stop.set()
    assert not thread.is_alive(), "kept retrying forever"
    items = list(out.queue)
    assert [i.kind for i in items] == ["ERROR"]
    assert isinstance(items[0].error, TransientApiError)
    assert source.lists_of("pods") == kube_mod.MAX_CONSECUTIVE_FAILURES


def test_one_transient_error_is_retried(source):
    source.script_list("pods", TransientApiError("reset"), ([pod("a")], "3"))
    out, stop, thread = _run_loop(source, backoff_s=0.001)
    items = _collect(out, 1)
    stop.set()
    thread.join(2)
    assert [i.kind for i in items] == ["LIST"]
    assert source.lists_of("pods") == 2


def test_access_denied_is_not_retried(source):
    source.script_list("pods", ApiDenied("pods is forbidden"))
    out, stop, thread = _run_loop(source, backoff_s=0.001)
    thread.join(3)
    stop.set()
    assert not thread.is_alive()
    assert [i.kind for i in out.queue] == ["ERROR"]
    assert source.lists_of("pods") == 1


def test_streams_merge_resources_and_stop_on_exit(source):
    source.script_list("pods", ([pod("p")], "1"))
    source.script_list("jobs", ([job("j")], "1"))
    with ResourceStreams(source, "store-shop", {"pods": "x", "jobs": "x"}) as streams:
        got = {streams.get(timeout=2).resource, streams.get(timeout=2).resource}
        assert got == {"pods", "jobs"}
        threads = streams.threads
    for thread in threads:
        thread.join(2)
        assert not thread.is_alive()


# -- wait_until_ready --------------------------------------------------------------------------
def _script(source, objs, rv="1"):
    for resource in WAITED:
        source.script_list(resource, (objs.get(resource, []), rv))


def _wait(source, reporter, *, timeout=20.0, since_epoch=0.0):
    return wait_until_ready(source, namespace="store-shop", release="shop", deadline=time.monotonic() + timeout,
                            reporter=reporter, since_epoch=since_epoch)


def test_ready_from_the_first_lists(source, reporter):
    _script(source, ready_objects())
    before = time.monotonic()
    assert _wait(source, reporter) >= before
    assert {c.name: c.ready for c in reporter.last_components} == {"database": True, "web": True, "setup": True}


def test_gone_relists_and_the_final_state_comes_from_the_new_list(source, reporter):
    objs = ready_objects()
    _script(source, {**objs, "deployments": []})
    source.lists["deployments"] = [([deployment(ready=False)], "5"), ([deployment(ready=True)], "9")]
    source.push("deployments", Gone())
    _wait(source, reporter, timeout=5)  # no event says "ready": only the second list can
    assert source.lists_of("deployments") == 2
    assert {c.name: c.ready for c in reporter.last_components}["web"] is True


def test_image_pull_failure_fails_fast_with_the_reason(source, reporter):
    objs = ready_objects()
    objs["deployments"] = [deployment(ready=False)]
    objs["pods"] = [pod("shop-web-abc", ready=False)]
    _script(source, objs)
    threading.Timer(0.2, source.push, args=("pods", ("MODIFIED", pod("shop-web-abc", ready=False,
                                                                      waiting="ErrImagePull", rv="2")))).start()
    started = time.monotonic()
    with pytest.raises(OperationFailed) as info:
        _wait(source, reporter, timeout=60)
    assert time.monotonic() - started < 5
    assert "ErrImagePull" in info.value.message
    assert "shop-web-abc" in info.value.message


def test_crash_looping_init_container_fails(source, reporter):
    objs = ready_objects()
    objs["pods"] = [pod("shop-mariadb-0", ready=False, component="database", init_waiting="CrashLoopBackOff")]
    _script(source, objs)
    with pytest.raises(OperationFailed) as info:
        _wait(source, reporter)
    assert "CrashLoopBackOff" in info.value.message and "database" in info.value.message


def test_failed_job_fails_naming_the_job(source, reporter):
    objs = ready_objects()
    objs["jobs"] = [job("shop-setup", state="failed")]
    _script(source, objs)
    with pytest.raises(OperationFailed) as info:
        _wait(source, reporter)
    assert "shop-setup" in info.value.message
    assert "BackoffLimitExceeded" in info.value.message


def test_new_failed_create_event_fails(source, reporter):
    objs = ready_objects()
    objs["deployments"] = [deployment(ready=False)]
    _script(source, objs)
    threading.Timer(0.1, source.push, args=("events", ("ADDED", event(when="2035-01-01T00:00:00Z")))).start()
    with pytest.raises(OperationFailed) as info:
        _wait(source, reporter, since_epoch=time.time())
    assert "FailedCreate" in info.value.message and "exceeded quota" in info.value.message


def test_failed_create_event_older_than_the_attempt_is_ignored(source, reporter):
    objs = ready_objects()
    objs["events"] = [event(when="2001-01-01T00:00:00Z")]
    _script(source, objs)
    _wait(source, reporter, since_epoch=time.time())  # returns: the old quota event is history


def test_lost_api_gives_cluster_unreachable_before_the_deadline(source, reporter, monkeypatch):
    monkeypatch.setattr(kube_mod, "list_then_watch", functools.partial(list_then_watch, backoff_s=0.001))
    _script(source, ready_objects())
    source.lists["pods"] = [TransientApiError("connection refused")]
    started = time.monotonic()
    with pytest.raises(ClusterUnreachable) as info:
        _wait(source, reporter, timeout=60)
    assert time.monotonic() - started < 5
    assert "connection refused" in info.value.message
    assert source.lists_of("pods") == kube_mod.MAX_CONSECUTIVE_FAILURES


def test_deadline_names_what_is_still_waiting(source, reporter):
    objs = ready_objects()
    objs["deployments"] = [deployment(ready=False)]
    objs["jobs"] = [job(state="running")]
    _script(source, objs)
    started = time.monotonic()
    with pytest.raises(TimedOut) as info:
        _wait(source, reporter, timeout=0.6)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 3
    message = info.value.message
    assert "web (0/1 ready)" in message and "setup (running)" in message
    assert "database" not in message


def test_deadline_before_the_first_listing(source, reporter):
    source.script_list("pods", TransientApiError("slow"))
    with pytest.raises(TimedOut) as info:
        _wait(source, reporter, timeout=0.3)
    assert "first listing" in info.value.message


def test_returns_promptly_after_the_last_ready_event(source, reporter):
    objs = ready_objects()
    objs["deployments"] = [deployment(ready=False)]
    _script(source, objs)
    made_available = []

    def finish():
        made_available.append(time.monotonic())
        source.push("deployments", ("MODIFIED", deployment(ready=True, rv="2")))

    threading.Timer(0.5, finish).start()
    returned = _wait(source, reporter)
    assert made_available, "returned before the deployment was ready"
    assert 0 <= returned - made_available[0] < 0.3


def _no_room(name="shop-web-abc", since=None):
    p = pod(name, ready=False)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since if since is not None else time.time()))
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "lastTransitionTime": stamp,
                                  "message": "0/1 nodes are available: 1 Insufficient cpu."}]
    return p


def test_a_pod_the_node_has_no_room_for_fails_after_the_grace_not_at_the_deadline(source, reporter, monkeypatch):
    from urumi_cli.actions import waiting

    monkeypatch.setattr(waiting, "UNSCHEDULABLE_GRACE_S", 1.5)
    objs = ready_objects()
    objs["deployments"] = [deployment(ready=False)]
    objs["pods"] = [_no_room()]
    _script(source, objs)  # no further event arrives: the wait itself must notice the time passing
    started = time.monotonic()
    with pytest.raises(OperationFailed) as info:
        _wait(source, reporter, timeout=60, since_epoch=time.time() - 1)
    assert 0.5 < time.monotonic() - started < 10
    assert "Insufficient cpu" in info.value.message and "shop-web-abc" in info.value.message
    assert "no node with room" in info.value.message


def test_no_room_counts_from_this_attempt_not_from_the_pods_first_wait(source, reporter, monkeypatch):
    from urumi_cli.actions import waiting

    monkeypatch.setattr(waiting, "UNSCHEDULABLE_GRACE_S", 30)
    objs = ready_objects()
    objs["deployments"] = [deployment(ready=False)]
    objs["pods"] = [_no_room(since=time.time() - 3600)]  # waiting since an hour: a re-run gets its own grace
    _script(source, objs)
    threading.Timer(1.0, source.push, args=("pods", ("MODIFIED", pod("shop-web-abc", ready=True, rv="2")))).start()
    threading.Timer(1.1, source.push, args=("deployments", ("MODIFIED", deployment(ready=True, rv="2")))).start()
    _wait(source, reporter, timeout=20, since_epoch=time.time())
