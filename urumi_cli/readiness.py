"""Readiness as pure functions of Kubernetes objects (plain dicts), so it is unit-testable.

Ready means the Pod's Ready condition, not phase == Running. A Deployment is done when the
controller observed the latest generation and updated == available == desired replicas. Jobs end
with Complete or Failed (Kubernetes 1.31+ sets SuccessCriteriaMet / FailureTarget first).
"""

from __future__ import annotations

from dataclasses import dataclass

# Waiting reasons that will not fix themselves: fail within seconds instead of running out the clock.
FATAL_WAITING_REASONS = (
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",  # pullPolicy Never and the image is not on the node: it never will be
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
)
COMPONENT_LABEL = "app.kubernetes.io/component"
INSTANCE_LABEL = "app.kubernetes.io/instance"


def _conditions(obj: dict) -> dict[str, dict]:
    return {c.get("type"): c for c in ((obj.get("status") or {}).get("conditions") or [])}


def _true(obj: dict, kind: str) -> bool:
    return (_conditions(obj).get(kind) or {}).get("status") == "True"


def component_of(obj: dict) -> str:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(COMPONENT_LABEL) or "other"


def is_pod_ready(pod: dict) -> bool:
    return _true(pod, "Ready")


def pod_failure(pod: dict) -> str | None:
    """A reason this pod will never become ready on its own, or None."""
    status = pod.get("status") or {}
    if status.get("phase") == "Failed" and not _owned_by_job(pod):
        return f"pod failed: {status.get('reason') or 'Failed'} {status.get('message') or ''}".strip()
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in FATAL_WAITING_REASONS:
                message = (waiting.get("message") or "").strip()
                detail = f"{reason}: {message}" if message else reason
                return f"container {cs.get('name')}: {detail}"
    return None


# The scheduler found no node with room for a pod (its requests exceed what is free). On a kind
# node nothing adds room but a deleted store or another store's setup Job ending (seconds to
# minutes), so past this grace the store fails with the scheduler's message instead of running
# out the clock (10 min by default).
UNSCHEDULABLE_GRACE_S = 90.0
CAPACITY_MESSAGES = ("Insufficient ", "Too many pods")


def pod_unschedulable(pod: dict) -> tuple[float, str] | None:
    """(since when, epoch seconds; the scheduler's message) if no node has room for the pod."""
    cond = _conditions(pod).get("PodScheduled") or {}
    if cond.get("status") != "False" or cond.get("reason") != "Unschedulable":
        return None
    message = (cond.get("message") or "").strip()
    if not any(text in message for text in CAPACITY_MESSAGES):
        return None
    return parse_time(cond.get("lastTransitionTime")), message


def is_hook(obj: dict) -> bool:
    """Helm hook objects (`helm test` pods): not part of a store's readiness."""
    return "helm.sh/hook" in ((obj.get("metadata") or {}).get("annotations") or {})


def parse_time(stamp: str | None) -> float:
    """An RFC 3339 timestamp of the API as epoch seconds; 0.0 when absent or unreadable."""
    if not stamp:
        return 0.0
    from datetime import datetime

    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def event_time(event: dict) -> float:
    meta = event.get("metadata") or {}
    return parse_time(event.get("lastTimestamp") or event.get("eventTime") or meta.get("creationTimestamp"))


def condition_since(obj: dict, kind: str) -> float:
    """When condition `kind` last became True (epoch seconds), 0.0 if it is not True."""
    cond = _conditions(obj).get(kind) or {}
    return parse_time(cond.get("lastTransitionTime")) if cond.get("status") == "True" else 0.0


def _owned_by_job(obj: dict) -> bool:
    return any(ref.get("kind") == "Job" for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def deployment_progress(dep: dict) -> tuple[bool, str]:
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    desired = spec.get("replicas", 1)
    generation = (dep.get("metadata") or {}).get("generation", 0)
    observed = status.get("observedGeneration", 0)
    updated = status.get("updatedReplicas", 0) or 0
    available = status.get("availableReplicas", 0) or 0
    ready = observed >= generation and updated == desired and available == desired
    if ready:
        return True, f"{available}/{desired} ready"
    progressing = _conditions(dep).get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return False, f"progress deadline exceeded: {progressing.get('message', '')}"
    return False, f"{available}/{desired} ready"


def statefulset_progress(sts: dict) -> tuple[bool, str]:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    desired = spec.get("replicas", 1)
    generation = (sts.get("metadata") or {}).get("generation", 0)
    observed = status.get("observedGeneration", 0)
    ready_replicas = status.get("readyReplicas", 0) or 0
    updated = status.get("updatedReplicas", 0) or 0
    revisions_match = status.get("currentRevision") == status.get("updateRevision") or updated == desired
    ready = observed >= generation and ready_replicas == desired and revisions_match
    return ready, f"{ready_replicas}/{desired} ready"


@dataclass(frozen=True)
class JobState:
    done: bool
    failed: bool
    detail: str


def job_state(job: dict) -> JobState:
    conds = _conditions(job)
    for kind in ("Failed", "FailureTarget"):
        cond = conds.get(kind) or {}
        if cond.get("status") == "True":
            reason = cond.get("reason") or kind
            message = (cond.get("message") or "").strip()
            return JobState(True, True, f"job failed: {reason}" + (f": {message}" if message else ""))
    for kind in ("Complete", "SuccessCriteriaMet"):
        if (conds.get(kind) or {}).get("status") == "True":
            return JobState(True, False, "completed")
    status = job.get("status") or {}
    if status.get("failed"):
        return JobState(False, False, f"running, {status['failed']} failed attempt(s)")
    return JobState(False, False, "running" if status.get("active") else "starting")


# FailedCreate with these is an optimistic-lock conflict (several pods of one namespace charged to
# its ResourceQuota at once: "Operation cannot be fulfilled on resourcequotas ...: the object has
# been modified"); the controller creates the pod again within seconds.
TRANSIENT_MESSAGES = ("the object has been modified",)


def event_failure(event: dict) -> str | None:
    """FailedCreate (quota, Pod Security) means pods will never exist: report it at once."""
    if event.get("type") != "Warning":
        return None
    if event.get("reason") in ("FailedCreate", "FailedCreatePodSandBox", "BackoffLimitExceeded"):
        message = (event.get("message") or event.get("note") or "").strip()
        if any(text in message for text in TRANSIENT_MESSAGES):
            return None
        obj = event.get("involvedObject") or event.get("regarding") or {}
        name = f"{(obj.get('kind') or '').lower()}/{obj.get('name')}"
        return f"{event.get('reason')} on {name}: {message}"
    return None
