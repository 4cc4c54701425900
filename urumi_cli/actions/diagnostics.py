"""Why a store is not ready: failing pods with their failing container's exit code and last log
lines, and the warning events that concern the store's current objects.

Printed under a failed create and by `urumi store describe`. Events outlive the objects they
were about (old pods, earlier revisions' ReplicaSets, probes that failed during a start that then
succeeded): those are history, not diagnostics, and are left out.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from urumi_cli.readiness import (
    INSTANCE_LABEL,
    condition_since,
    event_time,
    is_hook,
    is_pod_ready,
    pod_failure,
    statefulset_progress,
)

LOG_LINES = 12
# Kinds whose objects urumi lists: an event about one that no longer exists is stale.
TRACKED = {"Pod": "pods", "Deployment": "deployments", "StatefulSet": "statefulsets", "Job": "jobs",
           "ReplicaSet": "replicasets", "PersistentVolumeClaim": "persistentvolumeclaims"}


def failed_container(pod: dict) -> tuple[str, int, str, bool] | None:
    """(container, exit code, reason, previous) of the container that made `pod` fail, or None.
    `previous` is True when the failure is the last run of a container that was restarted."""
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            for state_key, previous in (("state", False), ("lastState", True)):
                term = (cs.get(state_key) or {}).get("terminated") or {}
                if term and term.get("exitCode", 0) != 0:
                    return cs.get("name", "?"), int(term.get("exitCode", 0)), term.get("reason") or "Error", previous
    return None


def job_cause(kube, namespace: str, job: str) -> str | None:
    """The last line the failing container of `job`'s newest failed pod printed: the charts'
    scripts end a failure with one line that says why (e.g. "setup: step download failed: ...")."""
    try:
        pods = [p for p in kube.list_objects("pods", namespace, f"job-name={job}")
                if (p.get("status") or {}).get("phase") == "Failed" and failed_container(p)]
        if not pods:
            return None
        pod = max(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "")
        container, _code, _reason, previous = failed_container(pod)
        log = kube.read_log(namespace, pod["metadata"]["name"], container=container, tail_lines=LOG_LINES,
                            previous=previous)
    except Exception:  # the cause is a bonus: never hide the failure itself
        return None
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1][:300] if lines else None


def explained(failure: str, cause: str | None) -> str:
    """A store's reason: Kubernetes' failure, then what the failed script said last."""
    return f"{failure}; its log ends: {cause}" if cause else failure


def _container_lines(kube, namespace: str, pod: dict) -> list[str]:
    found = failed_container(pod)
    if found is None:
        return []
    container, code, reason, previous = found
    name = pod["metadata"]["name"]
    lines = [f"pod {name}: container {container} exited with code {code} ({reason})"]
    try:
        log = kube.read_log(namespace, name, container=container, tail_lines=LOG_LINES, previous=previous)
    except Exception as err:  # no logs (node gone, container removed): say so, keep the rest
        return lines + [f"  (no logs: {err})"]
    tail = [line for line in log.splitlines() if line.strip()][-LOG_LINES:]
    return lines + [f"  | {line}" for line in tail] if tail else lines + ["  (the container printed nothing)"]


def _current(objects: dict[str, list[dict]]) -> dict[str, dict]:
    return {o["metadata"].get("uid"): o for items in objects.values() for o in items if o["metadata"].get("uid")}


def _settled_since(obj: dict, kind: str) -> float | None:
    """When a ready object became ready (epoch seconds): warnings before then are over."""
    if kind == "Pod":
        return condition_since(obj, "Ready") or None
    if kind == "Job":
        return condition_since(obj, "Complete") or condition_since(obj, "SuccessCriteriaMet") or None
    if kind == "Deployment":
        return condition_since(obj, "Available") or None
    if kind == "StatefulSet":
        return float("inf") if statefulset_progress(obj)[0] else None
    return None


def _current_warning(event: dict, current: dict[str, dict]) -> bool:
    if event.get("type") != "Warning":
        return False
    involved = event.get("involvedObject") or event.get("regarding") or {}
    kind = involved.get("kind")
    if kind not in TRACKED:
        return True  # Ingress, Service, Namespace...: urumi does not list them, keep what they say
    obj = current.get(involved.get("uid"))
    if obj is None:
        return False  # about an object that is gone: an earlier pod or revision
    settled = _settled_since(obj, kind)
    return settled is None or event_time(event) > settled


def diagnose(kube, namespace: str, release: str | None = None, limit: int = 10) -> list[str]:
    """Failing pods (with their failing container's logs) and current warning events."""
    lines: list[str] = []
    try:
        selector = f"{INSTANCE_LABEL}={release}" if release else None
        # Seven lists at once: a failed create prints this before it exits.
        resources = sorted(set(TRACKED.values()))
        with ThreadPoolExecutor(max_workers=len(resources) + 1) as pool:
            listed = {r: pool.submit(kube.list_objects, r, namespace, selector) for r in resources}
            all_events = pool.submit(kube.list_objects, "events", namespace)
            objects = {r: future.result() for r, future in listed.items()}
        pods = [p for p in objects["pods"] if not is_hook(p)]
        failed_job_pods: dict[str, dict] = {}
        for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
            reason = pod_failure(pod)
            phase = (pod.get("status") or {}).get("phase")
            job = (pod["metadata"].get("labels") or {}).get("job-name")
            if job and phase == "Failed":
                failed_job_pods[job] = pod  # the newest attempt of each Job speaks for all of them
            elif reason:
                lines.append(f"pod {pod['metadata']['name']}: {reason}")
                lines += _container_lines(kube, namespace, pod)
            elif phase == "Pending" or not is_pod_ready(pod) and phase != "Succeeded":
                lines.append(f"pod {pod['metadata']['name']}: {phase}, not ready")
                lines += _container_lines(kube, namespace, pod)
        for pod in failed_job_pods.values():
            lines += _container_lines(kube, namespace, pod) or [f"pod {pod['metadata']['name']}: Failed"]
        current = _current(objects)
        events = sorted(all_events.result(), key=event_time)
        for event in [e for e in events if _current_warning(e, current)][-limit:]:
            obj = event.get("involvedObject") or {}
            lines.append(f"event {event.get('reason')} on {(obj.get('kind') or '').lower()}/{obj.get('name')}: "
                         f"{(event.get('message') or '').strip()}")
    except Exception as err:  # diagnostics must never hide the original failure
        lines.append(f"(could not collect diagnostics: {err})")
    return lines
