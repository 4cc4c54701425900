"""`urumi store rollback`: helm rollback to a revision that worked, then the same watch and
fail-fast as create. `roll_back_and_wait` is also what a failed upgrade falls back on.

"Worked" is helm's word (a revision that was deployed: deployed or superseded) corrected by
urumi's events: helm marks a revision deployed as soon as it applied it, whether or not its pods
ever became ready; urumi's event log (actions/events.py) remembers the ones that did not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from urumi_cli import config
from urumi_cli.actions import contract, events, recovery, values
from urumi_cli.actions.contract import LABEL_NAME, MANAGED_BY, USER_VALUES_SECRET
from urumi_cli.actions.contract import now_iso
from urumi_cli.actions.diagnostics import diagnose
from urumi_cli.actions.locking import store_lock
from urumi_cli.actions.waiting import wait_until_ready
from urumi_cli.errors import NotFound, UrumiError, UsageError
from urumi_cli.models import StoreStatus, Target
from urumi_cli.readiness import INSTANCE_LABEL

GOOD = recovery.GOOD  # helm states of a revision that was once live


@dataclass(frozen=True)
class RollbackOptions:
    name: str
    target: Target
    revision: int | None = None  # None: the last good revision before the current one
    timeout_s: float = config.DEFAULT_TIMEOUT_S


@dataclass
class RollbackResult:
    name: str
    from_revision: int
    to_revision: int
    revision: int  # the new revision helm made for the rollback
    status: str
    notes: list[str] = field(default_factory=list)


def last_good_revision(revisions, store_events, *, below: int) -> int | None:
    """The newest revision under `below` that was live and that urumi did not see fail."""
    failed = events.failed_revisions(store_events)
    good = [r.revision for r in revisions if r.revision < below and r.status in GOOD and r.revision not in failed]
    return max(good) if good else None


def current_uids(kube, namespace: str, release: str) -> frozenset:
    """The pods and Jobs there before a rollout: their failures belong to the revision being left."""
    selector = f"{INSTANCE_LABEL}={release}"
    return frozenset(obj["metadata"].get("uid") for resource in ("pods", "jobs")
                     for obj in kube.list_objects(resource, namespace, selector))


def wait_rollout(kube, *, name: str, deadline: float, reporter, ignore_uids: frozenset, since_epoch: float,
                 clock) -> None:
    """After helm changed the release: replace StatefulSet pods stuck on the old template, then
    wait as create does; a failure carries the failing pods and events as details."""
    namespace = contract.namespace_for(name)
    try:
        recovery.replace_stuck_statefulset_pods(kube, namespace, name, deadline, reporter)
        wait_until_ready(kube, namespace=namespace, release=name, deadline=deadline, reporter=reporter,
                         since_epoch=since_epoch, clock=clock, ignore_uids=ignore_uids)
    except UrumiError as err:
        if err.details is None:
            err.details = "\n".join(diagnose(kube, namespace, name)) or None
        raise


def roll_back_and_wait(name: str, *, to: int, target: Target, helm, kube, reporter, deadline: float,
                       clock=time.monotonic) -> int:
    """helm rollback to revision `to` and wait until the store is ready; the new revision."""
    namespace = contract.namespace_for(name)
    ignore = current_uids(kube, namespace, name)
    since = time.time() - 1.0
    reporter.step("rollback", f"helm rollback {name} to revision {to}")
    helm.rollback(name, namespace=namespace, target=target, revision=to, timeout_s=max(30.0, deadline - clock()))
    revision = revision_now(helm, name, target) or 0
    reporter.done("rollback", f"rolled back to revision {to} (as revision {revision})")
    wait_rollout(kube, name=name, deadline=deadline, reporter=reporter, ignore_uids=ignore, since_epoch=since,
                 clock=clock)
    return revision


def revision_now(helm, name: str, target: Target) -> int | None:
    """The release's revision for an event, None if helm cannot say (the failure may be the API's)."""
    try:
        release = helm.status(name, namespace=contract.namespace_for(name), target=target)
    except UrumiError:
        return None
    return release.revision if release else None


def mark(registry, target: Target, name: str, status: StoreStatus, message: str) -> None:
    """The registry caches what the cluster just showed (a store it does not know stays unknown
    until `store sync`)."""
    changes = {"status": status.value, "message": message[:500], "updated_at": now_iso()}
    if status is StoreStatus.READY:
        record = registry.get_store(target.context, name)
        if record is not None and not record.ready_at:
            changes["ready_at"] = changes["updated_at"]
    registry.update_store(target.context, name, **changes)


def rollback_store(opts: RollbackOptions, *, registry, helm, kube, reporter, locks_dir: Path,
                   clock=time.monotonic) -> RollbackResult:
    name, target = opts.name, opts.target
    namespace = contract.namespace_for(name)
    deadline = clock() + opts.timeout_s
    with store_lock(locks_dir, target, name, timeout_s=opts.timeout_s, reporter=reporter):
        reporter.step("cluster", f"reading the history of store {name}")
        contract.require_store_namespace(kube, name, target.context)
        revisions = helm.history(name, namespace=namespace, target=target)
        if not revisions:
            raise NotFound(f"store {name} has no helm release in cluster {target.context}",
                           f"create it again: urumi store create --name {name}")
        current = revisions[-1]
        store_events = events.read_events(kube, name)
        to = opts.revision or last_good_revision(revisions, store_events, below=current.revision)
        known = [r.revision for r in revisions]
        if to is None:
            raise NotFound(f"store {name} has no earlier revision that worked (revisions: "
                           f"{', '.join(map(str, known))})", f"see `urumi store history {name}`; pass --to REVISION")
        if to not in known:
            raise UsageError(f"store {name} has no revision {to}",
                             f"choose one of {', '.join(map(str, known))} (`urumi store history {name}`)")
        reporter.done("cluster", f"store {name} is at revision {current.revision} ({current.status}); "
                                 f"rolling back to revision {to}")
        mark(registry, target, name, StoreStatus.PROVISIONING, f"rolling back to revision {to}")
        try:
            revision = roll_back_and_wait(name, to=to, target=target, helm=helm, kube=kube, reporter=reporter,
                                          deadline=deadline, clock=clock)
        except (KeyboardInterrupt, UrumiError) as err:
            message = getattr(err, "message", "interrupted")
            events.record_quietly(kube, name, events.new_event(
                events.ROLLBACK_FAILED, result=events.FAILED, revision=revision_now(helm, name, target),
                message=f"rollback to revision {to}: {message}"))
            mark(registry, target, name, StoreStatus.FAILED, f"rollback to revision {to} failed: {message}")
            raise
        # The store is back either way: a lost record is a note, not a failed rollback.
        try:
            notes = [restore_kept_values(kube, name, to=to, revision=revision, live=set(known) | {revision})]
        except UrumiError as err:
            notes = [f"could not set the kept values files of store {name} to revision {to}'s: {err.message}"]
        notes.append(events.record_quietly(kube, name, events.new_event(
            events.ROLLED_BACK, revision=revision, message=f"from revision {current.revision} to {to}")))
        mark(registry, target, name, StoreStatus.READY, "")
        return RollbackResult(name, current.revision, to, revision, StoreStatus.READY.value,
                              notes=[n for n in notes if n])


def restore_kept_values(kube, name: str, *, to: int, revision: int, live: set[int]) -> str | None:
    """The kept -f files become those of the revision rolled back to, so the next upgrade or
    create retry starts from what runs; a note when urumi has no record of that revision's."""
    namespace = contract.namespace_for(name)
    files = values.revision_user_values(kube, namespace, to)
    if files is None:
        return (f"the values files kept for store {name} are unchanged: urumi has no record of revision {to}'s; "
                "pass -f to the next upgrade to set them")
    kube.put_secret(namespace, USER_VALUES_SECRET, files, {MANAGED_BY: "urumi", LABEL_NAME: name})
    values.record_revision_user_values(kube, namespace, name, {revision: files}, live=live)
    return None
