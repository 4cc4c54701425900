"""`urumi store create` as an ordered list of small steps, like kind's create.

    check cluster -> prepare namespace -> recover release -> apply chart -> repair stuck pods -> wait

Each step reports one status line. The runner at the bottom is the one place that records a
failure: whichever step raises, the store's record says which step failed and why.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from urumi_cli import config
from urumi_cli.actions import contract, events, guardrails, recovery, values
from urumi_cli.actions.contract import LABEL_NAME, MANAGED_BY, SECRET_NAME, USER_VALUES_SECRET, now_iso
from urumi_cli.actions.diagnostics import diagnose, explained, job_cause
from urumi_cli.actions.engines import EngineSpec, engine_for
from urumi_cli.actions.locking import store_lock
from urumi_cli.actions.waiting import StoreFailed, wait_until_ready
from urumi_cli.errors import Conflict, Interrupted, LimitReached, OperationFailed, TimedOut, UrumiError, UsageError
from urumi_cli.models import Store, StoreStatus, Target


@dataclass(frozen=True)
class CreateOptions:
    name: str
    type: str  # an engine name (a StoreType is one too)
    target: Target
    env: str = "local"
    domain: str = config.LOCAL_DOMAIN
    timeout_s: float = config.DEFAULT_TIMEOUT_S
    wait: bool = True
    values_files: tuple[str, ...] = ()
    owner: str = ""  # the namespace's urumi.dev/owner label
    limits: guardrails.Limits | None = None  # checked when this create makes a new namespace


@dataclass
class CreateResult:
    store: Store
    created: bool  # False when an existing ready store was confirmed unchanged
    ready_observed_at: float | None = None
    notes: list[str] = field(default_factory=list)


# What create does with the release it found (decided once, after the cluster check).
APPLY = "apply"      # helm upgrade --install: new store, failed store, pending release, or new -f values
WAIT = "wait"        # a deployed release still coming up (--no-wait, a lost registry, a Ctrl-C): wait for it
CONFIRM = "confirm"  # a ready store re-created: confirm from the cluster, change nothing


def plan_for(record: Store | None, release, values_given: bool) -> str:
    if values_given or release is None or release.status != "deployed":
        return APPLY
    if record is not None and record.status == StoreStatus.FAILED.value:
        return APPLY
    if record is not None and record.status == StoreStatus.READY.value:
        return CONFIRM
    return WAIT


@dataclass
class CreateRun:
    """What the steps of one create share."""

    opts: CreateOptions
    engine: EngineSpec
    registry: object
    helm: object
    kube: object
    reporter: object
    clock: Callable[[], float]
    deadline: float
    chart: str
    overlay: str
    record: Store | None = None  # what the registry knew before this run
    namespace_obj: dict | None = None
    release: object = None  # adapters.helm.Release, or None
    plan: str = APPLY
    store: Store | None = None  # the record this run wrote, once it wrote one
    ready_observed_at: float | None = None
    applied_release: Future | None = None  # helm's answer on the release, asked for while pods start

    @property
    def name(self) -> str:
        return self.opts.name

    @property
    def namespace(self) -> str:
        return contract.namespace_for(self.opts.name)

    def remaining(self, floor: float) -> float:
        return max(floor, self.deadline - self.clock())

    def update(self, **changes) -> None:
        if self.store is None and self.record is None:
            return  # nothing recorded yet: a failure before the record is not the store's
        changes["updated_at"] = now_iso()
        updated = self.registry.update_store(self.opts.target.context, self.name, **changes)
        if updated is None and self.store is not None:
            # Another process's refresh dropped the record in the instant between our first write
            # and the namespace's creation: write what this run knows again.
            updated = self.registry.put_store(replace(self.store, **changes))
        self.store = updated or self.store


# -- the steps ---------------------------------------------------------------------------------
def check_cluster(run: CreateRun) -> None:
    cluster, kube = run.opts.target.context, run.kube
    run.reporter.step("cluster", f"checking cluster {cluster}")
    kube.server_version()
    ns = contract.managed_namespace(kube.get_namespace(run.namespace), run.name)
    if ns is not None:
        ns_type = contract.store_type_of(ns)
        if ns_type and ns_type != run.engine.name:
            raise Conflict(f"store {run.name} already exists in the cluster with type {ns_type}",
                           f"use another name, or delete it first: urumi store delete {run.name}")
        if ns["metadata"].get("deletionTimestamp"):
            _wait_namespace_gone(run)
            ns = None
    run.namespace_obj = ns
    run.release = run.helm.status(run.name, namespace=run.namespace, target=run.opts.target) if ns else None
    run.plan = plan_for(run.record, run.release, bool(run.opts.values_files))
    found = ""
    if run.release is not None:
        state = "already deployed" if run.plan in (WAIT, CONFIRM) else run.release.status
        found = f"; release {run.name} {state} (revision {run.release.revision})"
    run.reporter.done("cluster", f"cluster {cluster} reachable{found}")


def _wait_namespace_gone(run: CreateRun) -> None:
    run.reporter.step("namespace", f"namespace {run.namespace} is still terminating from an earlier delete; waiting")
    last = run.kube.wait_namespace_gone(run.namespace, run.deadline)
    if last is not None:
        raise TimedOut(f"namespace {run.namespace} is still terminating",
                       "wait for the earlier delete to finish (`urumi store delete` shows why it is stuck)",
                       details=contract.namespace_conditions(last))
    run.reporter.done("namespace", f"namespace {run.namespace} is gone")


def prepare_namespace(run: CreateRun) -> None:
    opts, kube = run.opts, run.kube
    now = now_iso()
    run.store = Store(
        name=opts.name, type=run.engine.name, cluster=opts.target.context, namespace=run.namespace,
        release=opts.name, url=contract.store_url(opts.name, opts.env, opts.domain),
        status=StoreStatus.PROVISIONING.value, message="installing", env=opts.env,
        created_at=run.record.created_at if run.record else now, updated_at=now,
        owner=opts.owner or (run.record.owner if run.record else ""),
    )
    run.registry.put_store(run.store)
    run.reporter.step("namespace", f"namespace {run.namespace}")
    labels = contract.namespace_labels(opts.name, run.engine.name, opts.owner)
    if run.namespace_obj is None:
        kube.create_namespace(run.namespace, labels)
    else:
        kube.patch_namespace_labels(run.namespace, labels)
    kube.annotate_namespace(run.namespace, contract.namespace_annotations(run.store))
    owned = {MANAGED_BY: "urumi", LABEL_NAME: opts.name}
    fresh = kube.create_secret_if_absent(run.namespace, SECRET_NAME,
                                         run.engine.credentials(opts.name, opts.domain), owned)
    if opts.values_files:  # kept so that a retry without -f applies them again
        kube.put_secret(run.namespace, USER_VALUES_SECRET, values.read_user_values(opts.values_files), owned)
    run.reporter.done("namespace", f"namespace {run.namespace} labelled, "
                                   f"{'new' if fresh else 'existing'} credentials Secret")


def check_limits(run: CreateRun) -> None:
    run.reporter.step("limits", "checking the store limits")
    guardrails.check(run.kube, run.opts.limits, name=run.name, owner=run.opts.owner, cluster=run.opts.target.context)
    run.reporter.done("limits", "within the store limits")


def claim_slot(run: CreateRun) -> None:
    """Another CLI may have taken the last slot between our count and our namespace: count again."""
    try:
        guardrails.claim(run.kube, run.opts.limits, name=run.name, owner=run.opts.owner,
                         cluster=run.opts.target.context)
    except LimitReached:
        guardrails.release_namespace(run.kube, run.registry, name=run.name, cluster=run.opts.target.context)
        run.store = run.record = None  # nothing of this store is left to record
        raise


def _limited(run: CreateRun) -> bool:
    return run.namespace_obj is None and run.opts.limits is not None and run.opts.limits.any


def recover_release(run: CreateRun) -> None:
    recovery.recover_release(run.helm, run.release, namespace=run.namespace, target=run.opts.target,
                             reporter=run.reporter)


def apply_chart(run: CreateRun) -> None:
    opts = run.opts
    run.reporter.step("helm", f"helm upgrade --install {opts.name} ({run.engine.name}, {opts.env})")
    with tempfile.TemporaryDirectory(prefix="urumi-values-") as tmp:
        generated = Path(tmp) / "urumi-values.yaml"
        generated.write_text(values.generated_values(opts.name, opts.domain))
        user = list(opts.values_files) or values.saved_user_values(run.kube, run.namespace, Path(tmp))
        run.helm.upgrade_install(opts.name, run.chart, namespace=run.namespace, target=opts.target,
                                 values_files=[run.overlay, str(generated), *user], timeout_s=run.remaining(30.0))
    run.reporter.done("helm", f"helm applied {run.engine.name} chart"
                              + (" with your earlier values files" if user and not opts.values_files else ""))


def repair_stuck_pods(run: CreateRun) -> None:
    recovery.replace_stuck_statefulset_pods(run.kube, run.namespace, run.name, run.deadline, run.reporter)


def wait_ready(run: CreateRun) -> None:
    since = time.time() - 1.0
    # The revision for the store's event log, known once helm has applied: asked now, while the
    # pods come up, so the outcome is written without a helm call between ready (or failed) and exit.
    run.applied_release = _in_background(_current_release, run)
    run.ready_observed_at = wait_until_ready(run.kube, namespace=run.namespace, release=run.name,
                                             deadline=run.deadline, reporter=run.reporter, since_epoch=since)
    if run.plan != CONFIRM:
        now = now_iso()
        run.update(status=StoreStatus.READY.value, message="", ready_at=now)


@dataclass(frozen=True)
class Step:
    name: str
    doing: str  # "<failed|interrupted> while <doing>" in the record
    run: Callable[[CreateRun], None]
    applies: Callable[[CreateRun], bool] = lambda run: True


STEPS = (
    Step("check cluster", "checking the cluster", check_cluster),
    Step("check limits", "checking the store limits", check_limits, _limited),
    Step("prepare namespace", "preparing the namespace", prepare_namespace, lambda r: r.plan != CONFIRM),
    Step("claim slot", "claiming a slot under the store limits", claim_slot, _limited),
    Step("recover release", "recovering the release", recover_release,
         lambda r: r.plan == APPLY and recovery.needs_recovery(r.release)),
    Step("apply chart", "running helm", apply_chart, lambda r: r.plan == APPLY),
    Step("repair stuck pods", "replacing stuck pods", repair_stuck_pods,
         lambda r: r.plan == APPLY and (r.record is not None or r.release is not None)),
    Step("wait", "waiting for the store", wait_ready, lambda r: r.opts.wait),
)


# -- the runner --------------------------------------------------------------------------------
def create_store(opts: CreateOptions, *, registry, helm, kube, reporter, locks_dir: Path,
                 clock=time.monotonic) -> CreateResult:
    engine = engine_for(opts.type)
    chart, overlay = _check_inputs(opts, engine)
    with store_lock(locks_dir, opts.target, opts.name, timeout_s=opts.timeout_s, reporter=reporter):
        run = CreateRun(opts=opts, engine=engine, registry=registry, helm=helm, kube=kube, reporter=reporter,
                        clock=clock, deadline=clock() + opts.timeout_s, chart=chart, overlay=overlay,
                        record=registry.get_store(opts.target.context, opts.name))
        if run.record and run.record.type != engine.name:
            raise Conflict(f"store {opts.name} already exists with type {run.record.type}",
                           f"use another name, or delete it first: urumi store delete {opts.name}")
        for step in STEPS:
            if step.applies(run):
                _run_step(run, step)
        if not opts.wait:
            run.update(message="installed; not waiting (--no-wait)")
        notes = []
        if opts.wait and run.plan != CONFIRM:
            notes = [n for n in [_record_outcome(run, events.CREATED, events.OK, release=run.applied_release)] if n]
        store = run.store or run.record
        return CreateResult(store, created=run.plan != CONFIRM, ready_observed_at=run.ready_observed_at,
                            notes=notes)


def _in_background(fn, *args) -> Future:
    """fn(*args) in a daemon thread: it never holds the process's exit."""
    future: Future = Future()

    def work():
        try:
            future.set_result(fn(*args))
        except BaseException as err:  # delivered to whoever asks for the result
            future.set_exception(err)

    threading.Thread(target=work, name=f"urumi-{fn.__name__}", daemon=True).start()
    return future


def _current_release(run: CreateRun):
    try:
        return run.helm.status(run.name, namespace=run.namespace, target=run.opts.target)
    except UrumiError:
        return None


def _record_outcome(run: CreateRun, action: str, result: str, message: str = "", *,
                    release: Future | None = None) -> str | None:
    """The store's event log gets the revision and its outcome (helm's history cannot tell a
    revision that never became ready from one that did). A note, never an error, if that fails.
    `release`: helm's answer already asked for (a failure asks for it while it is explained)."""
    found = release.result() if release is not None else _current_release(run)
    event = events.new_event(action, result=result, revision=found.revision if found else None, message=message)
    return events.record_quietly(run.kube, run.name, event)


def _explain_failure(run: CreateRun, err: UrumiError, pool: ThreadPoolExecutor) -> None:
    """The failed wait's diagnostics and the failed Job's last log line, fetched at once: a user
    (or a script) waits for the exit, and each is a few API round trips."""
    details = pool.submit(diagnose, run.kube, run.namespace, run.name) if err.details is None else None
    failed_job = err.failed_job if isinstance(err, StoreFailed) else None
    cause = pool.submit(job_cause, run.kube, run.namespace, failed_job) if failed_job else None
    if details is not None:
        err.details = "\n".join(details.result()) or None
    if cause is not None:
        # What the Job's script said last: the reason a user needs, in the record too.
        err.message = explained(err.message, cause.result())


def _run_step(run: CreateRun, step: Step) -> None:
    """Run one step; on failure record which step failed and why (the only place that does)."""
    try:
        step.run(run)
    except (KeyboardInterrupt, Interrupted):
        if step.run is wait_ready:  # helm finished; pods may still come up: keep the status
            run.update(message="interrupted while waiting; re-run create to keep waiting")
        elif step.run is not check_cluster:
            run.update(status=StoreStatus.FAILED.value, message=f"interrupted while {step.doing}")
        raise Interrupted(f"interrupted while {step.doing} for store {run.name}",
                          f"re-run `urumi store create --type {run.engine.name} --name {run.name}` to finish") from None
    except UrumiError as err:
        if step.run in (check_cluster, check_limits):
            raise  # the cluster, the name or a limit is the problem, not the store: its record stays as it was
        if isinstance(err, LimitReached):
            raise  # claim_slot gave the namespace back: there is no store to mark failed
        with ThreadPoolExecutor(max_workers=3) as pool:
            # before the namespace exists there is nowhere to write the outcome
            release = run.applied_release or (pool.submit(_current_release, run)
                                              if step.run is not prepare_namespace else None)
            if step.run is wait_ready:
                _explain_failure(run, err, pool)
            run.update(status=StoreStatus.FAILED.value, message=err.message[:500])
            if release is not None:
                _record_outcome(run, events.CREATE_FAILED, events.FAILED, err.message, release=release)
        raise


def _check_inputs(opts: CreateOptions, engine: EngineSpec) -> tuple[str, str]:
    if opts.env == "prod" and opts.domain == config.LOCAL_DOMAIN:
        raise UsageError("--env prod needs --domain", "e.g. --env prod --domain example.com")
    chart = config.charts_dir() / engine.name
    if not (chart / "Chart.yaml").is_file():
        raise OperationFailed(f"chart for {engine.name} not found at {chart}",
                              "reinstall urumi, or set URUMI_CHARTS_DIR to the charts directory")
    for path in opts.values_files:
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise UsageError(f"values file {path} does not exist or is not readable", "pass a readable YAML file")
    return str(chart), str(chart / f"values-{opts.env}.yaml")
