"""`urumi store delete`: uninstall the release, delete the namespace (volumes and Secrets go with
it), wait until it is gone, forget the record. urumi never strips finalizers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from urumi_cli import config
from urumi_cli.actions import contract
from urumi_cli.actions.contract import now_iso
from urumi_cli.actions.locking import store_lock
from urumi_cli.errors import NotFound, TimedOut
from urumi_cli.models import Store, StoreStatus, Target


@dataclass(frozen=True)
class DeleteOptions:
    name: str
    target: Target
    timeout_s: float = config.DEFAULT_DELETE_TIMEOUT_S
    ignore_not_found: bool = False


def delete_store(opts: DeleteOptions, *, registry, helm, kube, reporter, locks_dir: Path,
                 clock=time.monotonic) -> Store | None:
    deadline = clock() + opts.timeout_s
    cluster = opts.target.context
    namespace = contract.namespace_for(opts.name)
    with store_lock(locks_dir, opts.target, opts.name, timeout_s=opts.timeout_s, reporter=reporter):
        record = registry.get_store(cluster, opts.name)
        ns = contract.managed_namespace(kube.get_namespace(namespace), opts.name)
        if record is None and ns is None:
            if opts.ignore_not_found:
                return None
            raise NotFound(f"store {opts.name} not found in cluster {cluster}",
                           "list stores with `urumi store list`; pass --ignore-not-found in scripts")
        if record is not None:
            registry.update_store(cluster, opts.name, status=StoreStatus.DELETING.value, message="deleting",
                                  updated_at=now_iso())
        if ns is not None:
            reporter.step("helm", f"helm uninstall {opts.name}")
            if helm.status(opts.name, namespace=namespace, target=opts.target) is not None:
                helm.uninstall(opts.name, namespace=namespace, target=opts.target,
                               timeout_s=max(10.0, deadline - clock()))
            reporter.done("helm", f"release {opts.name} uninstalled")
            reporter.step("namespace", f"deleting namespace {namespace} (volumes and secrets go with it)")
            kube.delete_namespace(namespace)
            last = kube.wait_namespace_gone(namespace, deadline)
            if last is not None:
                registry.update_store(cluster, opts.name, message="namespace stuck terminating",
                                      updated_at=now_iso())
                reporter.done("namespace", f"namespace {namespace} still terminating", ok=False)
                raise TimedOut(
                    f"namespace {namespace} did not finish deleting within {opts.timeout_s:.0f}s",
                    "urumi never strips finalizers; fix what the conditions below name, then re-run delete",
                    details=contract.namespace_conditions(last),
                )
            reporter.done("namespace", f"namespace {namespace} deleted")
        registry.remove_store(cluster, opts.name)
        return record or Store(name=opts.name, type="", cluster=cluster, namespace=namespace, release=opts.name,
                               url="", status=StoreStatus.DELETING.value)
