"""`urumi store upgrade`: helm upgrade with the store's own values (the overlay, urumi's generated
file, the -f files kept from create) plus the new ones, the same watch and fail-fast as create,
and on failure an automatic rollback to the last good revision.

    read the store -> (recover a release a killed helm left) -> values -> [--dry-run: diff, stop]
    -> helm upgrade -> wait -> keep the new values
                          \\-> failed: record why -> roll back to the last good revision -> wait

The outcome of each attempt is recorded in the store's event log (actions/events.py).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from urumi_cli import config
from urumi_cli.actions import contract, events, recovery, values
from urumi_cli.actions.contract import LABEL_NAME, MANAGED_BY, USER_VALUES_SECRET
from urumi_cli.actions.engines import engine_for
from urumi_cli.actions.locking import store_lock
from urumi_cli.actions.rollback import (
    current_uids, last_good_revision, mark, revision_now, roll_back_and_wait, wait_rollout,
)
from urumi_cli.errors import (
    ClusterUnreachable, Conflict, Interrupted, NotFound, OperationFailed, RolledBack, UrumiError, UsageError,
)
from urumi_cli.models import StoreStatus, Target


@dataclass(frozen=True)
class UpgradeOptions:
    name: str
    target: Target
    versions: tuple[tuple[str, str], ...] = ()  # (component, version) from --set-version
    values_files: tuple[str, ...] = ()
    dry_run: bool = False
    timeout_s: float = config.DEFAULT_TIMEOUT_S


@dataclass
class UpgradeResult:
    name: str
    from_revision: int
    revision: int | None  # the revision the store runs now (None for a dry run)
    changes: list[dict] = field(default_factory=list)  # values_diff() rows
    dry_run: bool = False
    upgraded: bool = False
    rolled_back_to: int | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)  # for the user, not part of the JSON

    def to_json(self) -> dict:
        return {"name": self.name, "dry_run": self.dry_run, "upgraded": self.upgraded,
                "from_revision": self.from_revision, "revision": self.revision,
                "rolled_back_to": self.rolled_back_to, "reason": self.reason, "changes": self.changes}


def _check_versions(opts: UpgradeOptions, versions_allowed: dict[str, str], store_type: str) -> None:
    unknown = [name for name, _ in opts.versions if name not in versions_allowed]
    if unknown:
        raise UsageError(f"--set-version {unknown[0]} is not a component of a {store_type} store",
                         f"choose one of: {', '.join(versions_allowed)}")


def upgrade_store(opts: UpgradeOptions, *, registry, helm, kube, reporter, locks_dir: Path,
                  clock=time.monotonic) -> UpgradeResult:
    name, target = opts.name, opts.target
    namespace = contract.namespace_for(name)
    deadline = clock() + opts.timeout_s
    values.merged_files(list(opts.values_files))  # every -f file readable YAML, before anything is asked
    with store_lock(locks_dir, target, name, timeout_s=opts.timeout_s, reporter=reporter):
        reporter.step("cluster", f"reading store {name}")
        ns = contract.require_store_namespace(kube, name, target.context)
        store = contract.store_from_namespace(ns, target.context)
        engine = engine_for(store.type)
        _check_versions(opts, engine.versions, engine.name)
        release = helm.status(name, namespace=namespace, target=target)
        if release is None:
            raise NotFound(f"store {name} has no helm release in cluster {target.context}",
                           f"create it again: urumi store create --type {engine.name} --name {name}")
        reporter.done("cluster", f"store {name} ({engine.name}) at revision {release.revision} ({release.status})")
        if recovery.needs_recovery(release) and not opts.dry_run:
            recovery.recover_release(helm, release, namespace=namespace, target=target, reporter=reporter)
            release = helm.status(name, namespace=namespace, target=target)
            if release is None:  # it never worked and recovery removed it: installing is create's job
                raise NotFound(f"store {name} had only a release left behind by an interrupted helm, now removed",
                               f"install it again: urumi store create --type {engine.name} --name {name}")
        chart = config.charts_dir() / engine.name
        with tempfile.TemporaryDirectory(prefix="urumi-values-") as tmp:
            folder = Path(tmp)
            generated = folder / "urumi-values.yaml"
            generated.write_text(values.generated_values(name, contract.domain_of(store.url, name)))
            kept = values.saved_user_values(kube, namespace, folder)
            new_files = list(opts.values_files)
            if opts.versions:
                pinned = folder / "versions.yaml"
                pinned.write_text(yaml.safe_dump(values.versions_values(dict(opts.versions), engine.versions)))
                new_files.append(str(pinned))
            files = [str(chart / f"values-{store.env}.yaml"), str(generated), *kept, *new_files]
            if opts.dry_run:
                reporter.step("diff", "comparing the deployed values with the new ones")
                changes = values.values_diff(helm.get_values(name, namespace=namespace, target=target),
                                             values.merged_files(files))
                reporter.done("diff", f"{len(changes)} value(s) would change; nothing changed (--dry-run)")
                return UpgradeResult(name, release.revision, None, changes=changes, dry_run=True)
            run = _Upgrade(opts, helm=helm, kube=kube, registry=registry, reporter=reporter, clock=clock,
                           deadline=deadline, release=release)
            return run.apply(str(chart), files, keep=[*kept, *new_files])


@dataclass
class _Upgrade:
    opts: UpgradeOptions
    helm: object
    kube: object
    registry: object
    reporter: object
    clock: object
    deadline: float
    release: object  # the release before the upgrade
    live: set = field(default_factory=set)  # the revisions helm has
    kept_before: dict = field(default_factory=dict)  # the kept -f files before the upgrade

    @property
    def name(self) -> str:
        return self.opts.name

    def apply(self, chart: str, files: list[str], *, keep: list[str]) -> UpgradeResult:
        name, target = self.name, self.opts.target
        namespace = contract.namespace_for(name)
        revisions = self.helm.history(name, namespace=namespace, target=target)
        self.live = {r.revision for r in revisions}
        self.kept_before = self.kube.read_secret(namespace, USER_VALUES_SECRET) or {}
        fallback = last_good_revision(revisions, events.read_events(self.kube, name), below=self.release.revision + 1)
        ignore = current_uids(self.kube, namespace, name)
        since = time.time() - 1.0
        before = self.registry.get_store(target.context, name)
        mark(self.registry, target, name, StoreStatus.PROVISIONING, "upgrading")
        try:
            self.reporter.step("helm", f"helm upgrade {name}")
            self.helm.upgrade_install(name, chart, namespace=namespace, target=target, values_files=files,
                                      timeout_s=max(30.0, self.deadline - self.clock()))
            revision = revision_now(self.helm, name, target)
            self.reporter.done("helm", f"helm applied revision {revision}")
            wait_rollout(self.kube, name=name, deadline=self.deadline, reporter=self.reporter, ignore_uids=ignore,
                         since_epoch=since, clock=self.clock)
        except (UsageError, Conflict):
            # The chart's schema refused the values, or another helm holds the release: helm made
            # no revision, the store is as it was.
            if before is not None:
                self.registry.update_store(target.context, name, status=before.status, message=before.message)
            raise
        except (KeyboardInterrupt, Interrupted):
            mark(self.registry, target, name, StoreStatus.FAILED, "interrupted while upgrading")
            raise Interrupted(f"interrupted while upgrading store {name}",
                              f"roll it back with `urumi store rollback {name}`, or upgrade again") from None
        except UrumiError as err:
            raise self._fall_back(err, fallback) from None
        # The store runs the new revision either way: a lost record is a note, not a failed upgrade.
        notes = []
        try:
            self._keep_values(keep, revision)
        except UrumiError as err:
            notes.append(f"could not keep the values files of store {name} for later upgrades: {err.message}")
        notes.append(events.record_quietly(self.kube, name, events.new_event(
            events.UPGRADED, revision=revision, message=f"from revision {self.release.revision}")))
        mark(self.registry, target, name, StoreStatus.READY, "")
        return UpgradeResult(name, self.release.revision, revision, upgraded=True, notes=[n for n in notes if n])

    def _keep_values(self, paths: list[str], revision: int | None) -> None:
        """The -f files and versions of a successful upgrade are the store's values from now on
        (a create retry or the next upgrade applies them again); each revision's are recorded, so
        a rollback to it brings its files back."""
        data = {f"{i:02d}.yaml": Path(path).read_text() for i, path in enumerate(paths)}
        if data != self.kept_before:
            self.kube.put_secret(contract.namespace_for(self.name), USER_VALUES_SECRET, data,
                                 {MANAGED_BY: "urumi", LABEL_NAME: self.name})
        self._record_kept(revision, data)

    def _record_kept(self, revision: int | None, data: dict[str, str]) -> None:
        """This revision's kept files, and those of the revision before the upgrade if urumi had
        no record of it yet (a store made by create, whose files are the ones kept before)."""
        namespace = contract.namespace_for(self.name)
        snapshots = {}
        if values.revision_user_values(self.kube, namespace, self.release.revision) is None:
            snapshots[self.release.revision] = self.kept_before
        if revision:
            snapshots[revision] = data
        values.record_revision_user_values(self.kube, namespace, self.name, snapshots,
                                           live=self.live | set(snapshots))

    def _fall_back(self, err: UrumiError, fallback: int | None) -> UrumiError:
        """Roll back after a failed upgrade; the error to raise says whether that worked."""
        name, target = self.name, self.opts.target
        failed_revision = revision_now(self.helm, name, target)
        events.record_quietly(self.kube, name, events.new_event(
            events.UPGRADE_FAILED, result=events.FAILED, revision=failed_revision, message=err.message))
        if isinstance(err, ClusterUnreachable) or fallback is None:
            why = "the cluster is unreachable" if fallback is not None else "it has no earlier revision that worked"
            mark(self.registry, target, name, StoreStatus.FAILED, f"upgrade failed: {err.message}")
            # The same kind of error (a timeout stays exit 5, a lost cluster exit 3), saying more.
            kind = type(err) if type(err).__init__ is UrumiError.__init__ else OperationFailed
            return kind(f"upgrade of store {name} failed: {err.message}; not rolled back: {why}",
                        f"see `urumi store history {name}`, then `urumi store rollback {name} --to N`",
                        details=err.details)
        self.reporter.step("upgrade", "upgrade")
        self.reporter.done("upgrade", f"upgrade to revision {failed_revision} failed: {err.message}; "
                                      f"rolling back to revision {fallback}", ok=False)
        # The rollback gets a deadline of its own: the upgrade may have spent all of the first.
        deadline = self.clock() + self.opts.timeout_s
        try:
            revision = roll_back_and_wait(name, to=fallback, target=target, helm=self.helm, kube=self.kube,
                                          reporter=self.reporter, deadline=deadline, clock=self.clock)
        except UrumiError as again:
            events.record_quietly(self.kube, name, events.new_event(
                events.ROLLBACK_FAILED, result=events.FAILED, revision=revision_now(self.helm, name, target),
                message=f"automatic rollback to revision {fallback}: {again.message}"))
            mark(self.registry, target, name, StoreStatus.FAILED,
                 f"upgrade failed, and the rollback to revision {fallback} too: {again.message}")
            return OperationFailed(
                f"upgrade of store {name} failed ({err.message}) and the automatic rollback to revision "
                f"{fallback} failed too: {again.message}",
                f"see `urumi store describe {name}` and `urumi store history {name}`",
                details="\n".join(filter(None, [err.details, again.details])) or None)
        events.record_quietly(self.kube, name, events.new_event(
            events.ROLLED_BACK, revision=revision,
            message=f"automatically, to revision {fallback}, after the upgrade to revision {failed_revision} failed"))
        # The failed upgrade kept nothing; the files kept are the fallback revision's, as recorded.
        fallback_files = values.revision_user_values(self.kube, contract.namespace_for(name), fallback)
        if fallback_files is not None and fallback_files != self.kept_before:
            self.kube.put_secret(contract.namespace_for(name), USER_VALUES_SECRET, fallback_files,
                                 {MANAGED_BY: "urumi", LABEL_NAME: name})
        self._record_kept(revision, self.kept_before if fallback_files is None else fallback_files)
        mark(self.registry, target, name, StoreStatus.READY, "")
        result = UpgradeResult(name, self.release.revision, revision, rolled_back_to=fallback, reason=err.message)
        rolled = RolledBack(f"upgrade of store {name} failed: {err.message}; rolled back automatically to "
                            f"revision {fallback} (now revision {revision}) and the store is ready again",
                            f"see `urumi store history {name}`; fix the version or values and upgrade again",
                            details=err.details)
        rolled.result = result  # the command prints it for -o json before the error line
        return rolled
