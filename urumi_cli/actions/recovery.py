"""Bring a release that a killed helm (or a killed urumi) left behind back to a state helm can
upgrade, and replace StatefulSet pods stuck on a failed template.

The per-store lock is held while these run, so no urumi process is driving the release: a
pending or uninstalling state is a leftover, never an operation in progress.

| state left behind                               | recovery                                   |
|-------------------------------------------------|--------------------------------------------|
| no release Secret yet                           | none: the upgrade installs                 |
| pending-install (revision 1, nothing deployed)  | uninstall, then install                    |
| pending-upgrade / pending-rollback, with an      | roll back to the last deployed/superseded  |
|   earlier deployed revision                     |   revision, then upgrade                   |
| pending-upgrade / pending-rollback, without one | uninstall, then install                    |
| uninstalling (killed during a delete's recovery)| uninstall again, then install              |
| failed, deployed, superseded                    | none: helm upgrades them                   |
"""

from __future__ import annotations

import time

from urumi_cli.readiness import INSTANCE_LABEL, is_pod_ready

PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
LEFT_BEHIND = PENDING + ("uninstalling",)
GOOD = ("deployed", "superseded")


def needs_recovery(release) -> bool:
    return release is not None and release.status in LEFT_BEHIND


def recover_release(helm, release, *, namespace: str, target, reporter) -> None:
    reporter.step("recover", f"recovering release {release.name} left {release.status} by an interrupted helm")
    good = []
    if release.status in ("pending-upgrade", "pending-rollback"):
        good = [r.revision for r in helm.history(release.name, namespace=namespace, target=target)
                if r.status in GOOD and r.revision < release.revision]
    if good:
        helm.rollback(release.name, namespace=namespace, target=target, revision=good[-1])
        done = f"rolled release {release.name} back to revision {good[-1]}"
    else:  # it never worked: start over (the namespace, its Secrets and kept volumes stay)
        helm.uninstall(release.name, namespace=namespace, target=target)
        done = f"removed release {release.name} left {release.status}; installing again"
    reporter.done("recover", done)


def replace_stuck_statefulset_pods(kube, namespace: str, release: str, deadline: float, reporter,
                                   settle_s: float = 10.0) -> None:
    """A StatefulSet never replaces a pod that failed to become ready with an older template
    ("forced rollback", kubernetes docs): after a retry with fixed values it would wait forever.
    Delete such pods, the documented manual step, once the controller has seen the new spec."""
    selector = f"{INSTANCE_LABEL}={release}"
    settle_until = min(deadline, time.monotonic() + settle_s)
    while True:
        sets = kube.list_objects("statefulsets", namespace, selector)
        if all((s.get("status") or {}).get("observedGeneration", 0) >= s["metadata"].get("generation", 0)
               for s in sets) or time.monotonic() >= settle_until:
            break
        time.sleep(0.1)
    pods = kube.list_objects("pods", namespace, selector)
    for sts in sets:
        update_revision = (sts.get("status") or {}).get("updateRevision")
        if not update_revision:
            continue
        for pod in pods:
            meta = pod["metadata"]
            owned = any(ref.get("kind") == "StatefulSet" and ref.get("name") == sts["metadata"]["name"]
                        for ref in meta.get("ownerReferences") or [])
            stale = (meta.get("labels") or {}).get("controller-revision-hash") != update_revision
            if owned and stale and not is_pod_ready(pod) and not meta.get("deletionTimestamp"):
                reporter.step("stuck", f"replacing pod {meta['name']} stuck on the previous template")
                kube.delete_pod(namespace, meta["name"])
                reporter.done("stuck", f"replaced pod {meta['name']} stuck on the previous template")
