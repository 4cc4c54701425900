"""Readiness as pure functions of plain dicts."""

from __future__ import annotations

import pytest

from urumi_cli.readiness import (
    FATAL_WAITING_REASONS,
    component_of,
    deployment_progress,
    event_failure,
    is_pod_ready,
    job_state,
    pod_failure,
    statefulset_progress,
)


def _pod(phase="Running", ready=None, containers=(), init=(), owner=None, **status):
    conditions = [] if ready is None else [{"type": "Ready", "status": "True" if ready else "False"}]
    meta = {"name": "p", "ownerReferences": [{"kind": owner, "name": "o"}] if owner else []}
    return {"metadata": meta, "status": {"phase": phase, "conditions": conditions,
                                         "containerStatuses": list(containers),
                                         "initContainerStatuses": list(init), **status}}


def _waiting(name, reason, message=""):
    return {"name": name, "ready": False, "state": {"waiting": {"reason": reason, "message": message}}}


# -- pods --------------------------------------------------------------------------------------
def test_running_pod_without_ready_condition_is_not_ready():
    assert not is_pod_ready(_pod(phase="Running", ready=False))
    assert not is_pod_ready(_pod(phase="Running"))


def test_ready_condition_decides_not_phase():
    assert is_pod_ready(_pod(phase="Running", ready=True))
    assert not is_pod_ready({"status": {"conditions": [{"type": "ContainersReady", "status": "True"}]}})


@pytest.mark.parametrize("reason", FATAL_WAITING_REASONS)
def test_fatal_waiting_reasons_are_failures(reason):
    failure = pod_failure(_pod(phase="Pending", ready=False, containers=[_waiting("wordpress", reason, "nope")]))
    assert failure == f"container wordpress: {reason}: nope"


def test_fatal_reason_in_an_init_container_is_a_failure():
    failure = pod_failure(_pod(phase="Pending", ready=False,
                               init=[_waiting("wait-for-db", "ImagePullBackOff")],
                               containers=[_waiting("wordpress", "PodInitializing")]))
    assert failure == "container wait-for-db: ImagePullBackOff"


@pytest.mark.parametrize("reason", ["ContainerCreating", "PodInitializing", None])
def test_transient_waiting_is_not_a_failure(reason):
    assert pod_failure(_pod(phase="Pending", ready=False, containers=[_waiting("web", reason)])) is None


def test_failed_pod_is_a_failure_unless_a_job_owns_it():
    failed = _pod(phase="Failed", reason="Evicted", message="The node was low on memory.")
    assert pod_failure(failed) == "pod failed: Evicted The node was low on memory."
    assert pod_failure(_pod(phase="Failed", owner="Job")) is None  # the Job decides (backoffLimit)


def test_component_label():
    assert component_of({"metadata": {"labels": {"app.kubernetes.io/component": "web"}}}) == "web"
    assert component_of({"metadata": {}}) == "other"


# -- deployments -------------------------------------------------------------------------------
def _dep(generation=2, observed=2, desired=2, updated=2, available=2, conditions=()):
    return {"metadata": {"generation": generation}, "spec": {"replicas": desired},
            "status": {"observedGeneration": observed, "updatedReplicas": updated,
                       "availableReplicas": available, "conditions": list(conditions)}}


def test_deployment_ready():
    assert deployment_progress(_dep()) == (True, "2/2 ready")


@pytest.mark.parametrize(
    "dep",
    [_dep(observed=1),  # the controller has not seen the new spec yet: old replicas count for nothing
     _dep(updated=1),  # rollout in progress
     _dep(available=1),
     _dep(desired=3)],
)
def test_deployment_not_ready(dep):
    ready, _ = deployment_progress(dep)
    assert not ready


def test_deployment_missing_status_is_not_ready():
    assert deployment_progress({"metadata": {"generation": 1}, "spec": {"replicas": 1}}) == (False, "0/1 ready")


def test_deployment_progress_deadline_is_reported():
    dep = _dep(available=0, conditions=[{"type": "Progressing", "status": "False",
                                         "reason": "ProgressDeadlineExceeded", "message": "rs timed out"}])
    ready, detail = deployment_progress(dep)
    assert not ready and "progress deadline exceeded" in detail and "rs timed out" in detail


# -- statefulsets ------------------------------------------------------------------------------
def _sts(generation=1, observed=1, ready=1, updated=1, current="a", update="a"):
    return {"metadata": {"generation": generation}, "spec": {"replicas": 1},
            "status": {"observedGeneration": observed, "readyReplicas": ready, "updatedReplicas": updated,
                       "currentRevision": current, "updateRevision": update}}


def test_statefulset_ready():
    assert statefulset_progress(_sts()) == (True, "1/1 ready")


@pytest.mark.parametrize("sts", [_sts(ready=0), _sts(observed=0, generation=1),
                                 _sts(current="a", update="b", updated=0)])
def test_statefulset_not_ready(sts):
    assert statefulset_progress(sts)[0] is False


# -- jobs --------------------------------------------------------------------------------------
def _job(*conds, **status):
    return {"status": {"conditions": [{"type": t, "status": "True", **extra} for t, extra in conds], **status}}


def test_job_complete_and_success_criteria_met():
    for conds in ([("Complete", {})], [("SuccessCriteriaMet", {})]):
        state = job_state(_job(*conds))
        assert state.done and not state.failed


@pytest.mark.parametrize("kind", ["Failed", "FailureTarget"])
def test_job_failed_and_failure_target(kind):
    state = job_state(_job((kind, {"reason": "BackoffLimitExceeded", "message": "reached the limit"})))
    assert state.done and state.failed
    assert state.detail == "job failed: BackoffLimitExceeded: reached the limit"


def test_failure_wins_over_success_conditions():
    state = job_state(_job(("SuccessCriteriaMet", {}), ("FailureTarget", {"reason": "DeadlineExceeded"})))
    assert state.failed


def test_condition_with_status_false_does_not_count():
    job = {"status": {"conditions": [{"type": "Failed", "status": "False"}, {"type": "Complete", "status": "False"}],
                      "active": 1}}
    state = job_state(job)
    assert not state.done and not state.failed and state.detail == "running"


def test_running_job_with_failed_attempts_is_still_running():
    state = job_state({"status": {"active": 1, "failed": 2}})
    assert not state.done and not state.failed and "2 failed" in state.detail


def test_new_job_is_starting():
    assert job_state({}).detail == "starting"


# -- events ------------------------------------------------------------------------------------
def test_failed_create_event_is_a_failure():
    ev = {"type": "Warning", "reason": "FailedCreate", "message": 'pods "web-1" is forbidden: exceeded quota\n',
          "involvedObject": {"kind": "ReplicaSet", "name": "shop-web-5d9"}}
    assert event_failure(ev) == 'FailedCreate on replicaset/shop-web-5d9: pods "web-1" is forbidden: exceeded quota'


def test_events_v1_shape_is_understood():
    ev = {"type": "Warning", "reason": "FailedCreate", "note": "violates PodSecurity",
          "regarding": {"kind": "Job", "name": "shop-setup"}}
    assert event_failure(ev) == "FailedCreate on job/shop-setup: violates PodSecurity"


@pytest.mark.parametrize("ev", [
    {"type": "Normal", "reason": "FailedCreate", "involvedObject": {}},
    {"type": "Warning", "reason": "BackOff", "involvedObject": {"kind": "Pod", "name": "p"}},
    {"type": "Warning", "reason": "FailedScheduling", "involvedObject": {"kind": "Pod", "name": "p"}},
])
def test_other_events_are_not_failures(ev):
    assert event_failure(ev) is None


def test_quota_update_conflict_is_transient_not_a_failure():
    """Several pods charged to one ResourceQuota at once: the controller retries within seconds."""
    ev = {"type": "Warning", "reason": "FailedCreate",
          "message": 'Error creating: pods "shop-web-5d9-x" is forbidden: failed quota: store-quota: Operation cannot '
                     'be fulfilled on resourcequotas "store-quota": the object has been modified; please apply your '
                     'changes to the latest version and try again',
          "involvedObject": {"kind": "ReplicaSet", "name": "shop-web-5d9"}}
    assert event_failure(ev) is None
    exceeded = dict(ev, message='pods "shop-web-5d9-x" is forbidden: exceeded quota: store-quota')
    assert event_failure(exceeded) is not None


# -- pods the node has no room for ---------------------------------------------------------------
def _unschedulable(message, reason="Unschedulable", since="2026-01-01T00:00:00Z"):
    pod = _pod(phase="Pending")
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": reason,
                                    "message": message, "lastTransitionTime": since}]
    return pod


def test_a_pod_without_room_on_any_node_is_unschedulable_since_its_condition():
    from urumi_cli.readiness import parse_time, pod_unschedulable

    msg = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found."
    assert pod_unschedulable(_unschedulable(msg)) == (parse_time("2026-01-01T00:00:00Z"), msg)
    assert pod_unschedulable(_unschedulable("0/1 nodes are available: 1 Too many pods.")) is not None


@pytest.mark.parametrize("message", ["0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
                                     "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."])
def test_other_scheduling_waits_are_not_about_room(message):
    from urumi_cli.readiness import pod_unschedulable

    assert pod_unschedulable(_unschedulable(message)) is None  # volumes bind, labels are the user's
    assert pod_unschedulable(_pod(phase="Pending")) is None
