"""Wait for a store's workloads by watching them, and explain what is wrong when they fail.

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
    is_pod_ready,
    job_state,
    pod_failure,
    statefulset_progress,
)


@dataclass
class Snapshot:
    """What is known of a store's objects; evaluated by pure functions."""

    objects: dict[str, dict[str, dict]] = field(default_factory=dict)  # resource -> name -> obj
    listed: set = field(default_factory=set)

    def apply(self, resource: str, kind: str, obj) -> None:
        if kind == "LIST":
            self.objects[resource] = {o["metadata"]["name"]: o for o in obj}
            self.listed.add(resource)
        elif kind in ("ADDED", "MODIFIED"):
            self.objects.setdefault(resource, {})[obj["metadata"]["name"]] = obj
        elif kind == "DELETED":
            self.objects.setdefault(resource, {}).pop(obj["metadata"]["name"], None)

    def items(self, resource: str) -> list[dict]:
        return list(self.objects.get(resource, {}).values())


@dataclass
class Evaluation:
    components: list[ComponentState]
    ready: bool
    failure: str | None


def _event_time(event: dict) -> float:
    from datetime import datetime

    stamp = event.get("lastTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get(
        "creationTimestamp")
    if not stamp:
        return 0.0
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def evaluate(snap: Snapshot, *, since_epoch: float = 0.0) -> Evaluation:
    comps: dict[str, ComponentState] = {}
    failure = None

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
        state = job_state(job)
        add(component_of(job), state.done and not state.failed, state.detail)
        if state.failed:
            comp(component_of(job)).failed = state.detail
            failure = failure or f"{component_of(job)}: {job['metadata']['name']}: {state.detail}"
    for pod in snap.items("pods"):
        reason = pod_failure(pod)
        if reason:
            name = component_of(pod)
            comp(name).failed = reason
            comp(name).ready = False
            failure = failure or f"{name}: pod {pod['metadata']['name']}: {reason}"
    for event in snap.items("events"):
        reason = event_failure(event)
        if reason and _event_time(event) >= since_epoch:
            failure = failure or reason
    ordered = sorted(comps.values(), key=lambda c: (COMPONENT_ORDER.index(c.name)
                                                    if c.name in COMPONENT_ORDER else 99, c.name))
    for st in ordered:
        if st.ready:
            st.detail = st.detail or "ready"
    workloads = snap.items("deployments") + snap.items("statefulsets") + snap.items("jobs")
    ready = bool(workloads) and all(c.ready for c in ordered) and failure is None
    return Evaluation(ordered, ready, failure)


def wait_until_ready(
    source: ResourceSource,
    *,
    namespace: str,
    release: str,
    deadline: float,
    reporter,
    since_epoch: float,
    clock=time.monotonic,
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
                raise TimedOut(
                    f"store not ready before the timeout; still waiting for: {_pending(last)}",
                    "raise --timeout, or inspect with `urumi store describe`",
                )
            item = streams.get(timeout=min(remaining, 1.0))
            if item is None:
                continue
            if item.kind == "ERROR":
                raise ClusterUnreachable(f"lost the Kubernetes API while waiting: {item.error}",
                                         "check the cluster with `urumi cluster status`, then re-run the command")
            snap.apply(item.resource, item.kind, item.obj)
            # Drain what else is already queued before evaluating: one evaluation per burst.
            while (more := streams.get(timeout=0)) is not None:
                if more.kind == "ERROR":
                    raise ClusterUnreachable(f"lost the Kubernetes API while waiting: {more.error}",
                                             "check the cluster with `urumi cluster status`, then re-run")
                snap.apply(more.resource, more.kind, more.obj)
            if len(snap.listed) < len(selectors):
                continue
            last = evaluate(snap, since_epoch=since_epoch)
            reporter.components(last.components)
            if last.failure:
                raise OperationFailed(last.failure, "see `urumi store describe` for events and pod states")
            if last.ready:
                return clock()


def _pending(last: Evaluation | None) -> str:
    if last is None:
        return "the first listing of the store's objects"
    waiting = [f"{c.name} ({c.detail})" for c in last.components if not c.ready]
    return ", ".join(waiting) or "workloads to appear"


def diagnose(kube, namespace: str, release: str | None = None, limit: int = 10) -> list[str]:
    """Recent warning events and failing pods: printed by describe and under a failed create."""
    lines: list[str] = []
    try:
        selector = f"{INSTANCE_LABEL}={release}" if release else None
        for pod in kube.list_objects("pods", namespace, selector):
            reason = pod_failure(pod)
            phase = (pod.get("status") or {}).get("phase")
            if reason:
                lines.append(f"pod {pod['metadata']['name']}: {reason}")
            elif phase == "Pending" or not is_pod_ready(pod) and phase != "Succeeded":
                lines.append(f"pod {pod['metadata']['name']}: {phase}, not ready")
        events = sorted(kube.list_objects("events", namespace), key=_event_time)
        for event in [e for e in events if e.get("type") == "Warning"][-limit:]:
            obj = event.get("involvedObject") or {}
            lines.append(f"event {event.get('reason')} on {(obj.get('kind') or '').lower()}/{obj.get('name')}: "
                         f"{(event.get('message') or '').strip()}")
    except Exception as err:  # diagnostics must never hide the original failure
        lines.append(f"(could not collect diagnostics: {err})")
    return lines
