"""Wait for a store's workloads by watching them; readiness of the whole store from a Snapshot.

One list-then-watch stream per resource type in the store's namespace (pods, deployments,
statefulsets, jobs, events), merged into one queue: a state change is seen within milliseconds,
and the deadline is the caller's, not a sleep interval's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from urumi_cli.adapters.watching import ResourceSource, ResourceStreams
from urumi_cli.errors import ClusterUnreachable, OperationFailed, TimedOut
from urumi_cli.models import COMPONENT_ORDER, ComponentState
from urumi_cli.readiness import (
    INSTANCE_LABEL,
    component_of,
    deployment_progress,
    event_failure,
    event_time,
    UNSCHEDULABLE_GRACE_S,
    is_hook,
    job_state,
    pod_failure,
    pod_unschedulable,
    statefulset_progress,
)


@dataclass
class Snapshot:
    """What is known of a store's objects; evaluated by pure functions."""

    objects: dict[str, dict[str, dict]] = field(default_factory=dict)  # resource -> name -> obj
    listed: set = field(default_factory=set)
    pod_gone_epoch: float = 0.0  # when the last pod was seen deleted (its quota is free from then)

    def apply(self, resource: str, kind: str, obj, *, now_epoch: float | None = None) -> None:
        if kind == "LIST":
            self.objects[resource] = {o["metadata"]["name"]: o for o in obj}
            self.listed.add(resource)
        elif kind in ("ADDED", "MODIFIED"):
            self.objects.setdefault(resource, {})[obj["metadata"]["name"]] = obj
        elif kind == "DELETED":
            self.objects.setdefault(resource, {}).pop(obj["metadata"]["name"], None)
            if resource == "pods":
                self.pod_gone_epoch = time.time() if now_epoch is None else now_epoch

    def items(self, resource: str) -> list[dict]:
        return list(self.objects.get(resource, {}).values())


# Event times have whole seconds: one second early is still "before that pod was gone".
EVENT_CLOCK_SLACK_S = 1.0


def is_quota_refusal(event: dict) -> bool:
    return "exceeded quota" in (event.get("message") or event.get("note") or "")


@dataclass
class Evaluation:
    components: list[ComponentState]
    ready: bool
    failure: str | None
    failed_job: str | None = None  # the Job whose failure is `failure`: its pods' logs say why
    recheck: bool = False  # a pod waits for room on a node: evaluate again as time passes


class StoreFailed(OperationFailed):
    """A store's workload failed for good; `failed_job` names the Job when one did."""

    def __init__(self, message: str, hint: str | None = None, *, failed_job: str | None = None):
        super().__init__(message, hint)
        self.failed_job = failed_job


def evaluate(snap: Snapshot, *, since_epoch: float = 0.0, ignore_uids: frozenset = frozenset(),
             now_epoch: float | None = None) -> Evaluation:
    """ignore_uids: pods and Jobs of an earlier revision (an upgrade or rollback replaces them; a
    crashing pod of the revision being left must not fail the wait for the one coming)."""
    comps: dict[str, ComponentState] = {}
    failure = None
    failed_job = None
    recheck = False
    now_epoch = time.time() if now_epoch is None else now_epoch

    def comp(name: str) -> ComponentState:
        return comps.setdefault(name, ComponentState(name=name, ready=True, detail=""))

    def add(name: str, ready: bool, detail: str) -> None:
        st = comp(name)
        st.ready = st.ready and ready
        st.detail = f"{st.detail}, {detail}" if st.detail else detail

    for dep in snap.items("deployments"):
        ok, detail = deployment_progress(dep)
        add(component_of(dep), ok, detail)
    for sts in snap.items("statefulsets"):
        ok, detail = statefulset_progress(sts)
        add(component_of(sts), ok, detail)
    for job in snap.items("jobs"):
        if job["metadata"].get("uid") in ignore_uids:
            continue
        state = job_state(job)
        add(component_of(job), state.done and not state.failed, state.detail)
        if state.failed:
            comp(component_of(job)).failed = state.detail
            if failure is None:
                failure = f"{component_of(job)}: {job['metadata']['name']}: {state.detail}"
                failed_job = job["metadata"]["name"]
    for pod in snap.items("pods"):
        # `helm test` pods (a failed test is not a failed store), and the leaving revision's pods
        if is_hook(pod) or pod["metadata"].get("uid") in ignore_uids:
            continue
        reason = pod_failure(pod)
        if reason:
            name = component_of(pod)
            comp(name).failed = reason
            comp(name).ready = False
            failure = failure or f"{name}: pod {pod['metadata']['name']}: {reason}"
        unschedulable = pod_unschedulable(pod)
        if unschedulable:
            since, message = unschedulable
            waited = now_epoch - max(since, since_epoch)
            if waited >= UNSCHEDULABLE_GRACE_S:
                failure = failure or (f"{component_of(pod)}: pod {pod['metadata']['name']} found no node with room "
                                      f"for {waited:.0f}s: {message} (free CPU/memory, e.g. delete a store, "
                                      "then re-run the create)")
            else:
                recheck = True
    # A terminating pod still holds its share of the ResourceQuota: a quota refusal while one goes
    # (an upgrade's or rollback's Job replaced, say) is retried by its controller once it is gone.
    # Only a refusal after that is the store's failure.
    terminating = any(pod["metadata"].get("deletionTimestamp") for pod in snap.items("pods"))
    for event in snap.items("events"):
        reason = event_failure(event)
        if not reason or event_time(event) < since_epoch:
            continue
        if is_quota_refusal(event) and (terminating or event_time(event) <= snap.pod_gone_epoch + EVENT_CLOCK_SLACK_S):
            continue
        failure = failure or reason
    ordered = sorted(comps.values(), key=lambda c: (COMPONENT_ORDER.index(c.name)
                                                    if c.name in COMPONENT_ORDER else 99, c.name))
    for st in ordered:
        if st.ready:
            st.detail = st.detail or "ready"
    workloads = snap.items("deployments") + snap.items("statefulsets") + snap.items("jobs")
    ready = bool(workloads) and all(c.ready for c in ordered) and failure is None
    return Evaluation(ordered, ready, failure, failed_job, recheck)


def wait_until_ready(
    source: ResourceSource,
    *,
    namespace: str,
    release: str,
    deadline: float,
    reporter,
    since_epoch: float,
    clock=time.monotonic,
    ignore_uids: frozenset = frozenset(),
) -> float:
    """Block until every workload of `release` is ready and its setup Job completed.

    Returns the monotonic time at which readiness was observed. Raises OperationFailed at the
    first unrecoverable reason, TimedOut at the deadline, ClusterUnreachable if the API is lost.
    """
    selector = f"{INSTANCE_LABEL}={release}"
    selectors = {"deployments": selector, "statefulsets": selector, "jobs": selector, "pods": selector,
                 "events": None}
    snap = Snapshot()
    last = None
    with ResourceStreams(source, namespace, selectors) as streams:
        while True:
            remaining = deadline - clock()
            if remaining <= 0:
                raise TimedOut(f"store not ready before the timeout; still waiting for: {_pending(last)}",
                               "inspect it with `urumi store describe`")
            item = streams.get(timeout=min(remaining, 1.0))
            if item is None:
                if last is not None and last.recheck:  # nothing changes while a pod waits for room
                    last = evaluate(snap, since_epoch=since_epoch)
                    if last.failure:
                        raise StoreFailed(last.failure, "see `urumi store describe` for events and pod states")
                continue
            # Apply what else is already queued before evaluating: one evaluation per burst.
            while item is not None:
                if item.kind == "ERROR":
                    raise ClusterUnreachable(f"lost the Kubernetes API while waiting: {item.error}",
                                             "check the cluster with `urumi cluster status`, then re-run")
                snap.apply(item.resource, item.kind, item.obj)
                item = streams.get(timeout=0)
            if len(snap.listed) < len(selectors):
                continue
            last = evaluate(snap, since_epoch=since_epoch, ignore_uids=ignore_uids)
            reporter.components(last.components)
            if last.failure:
                raise StoreFailed(last.failure, "see `urumi store describe` for events and pod states",
                                  failed_job=last.failed_job)
            if last.ready:
                return clock()


def _pending(last: Evaluation | None) -> str:
    if last is None:
        return "the first listing of the store's objects"
    waiting = [f"{c.name} ({c.detail})" for c in last.components if not c.ready]
    return ", ".join(waiting) or "workloads to appear"
