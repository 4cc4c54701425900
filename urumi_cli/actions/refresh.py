"""Reconcile the local registry with the cluster: `store list --refresh`, `store sync`, and the
live `store list --watch` (list-then-watch, no polling).

A store's status is a pure function of its namespace and its workloads (actions/waiting.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

from urumi_cli.actions import contract
from urumi_cli.actions.contract import LABEL_NAME, STORE_SELECTOR, now_iso
from urumi_cli.actions.waiting import Snapshot, evaluate
from urumi_cli.adapters.watching import ResourceStreams
from urumi_cli.errors import ClusterUnreachable, Forbidden, RegistryCorrupt
from urumi_cli.models import Store, StoreStatus
from urumi_cli.readiness import INSTANCE_LABEL

STATUS_RESOURCES = ("deployments", "statefulsets", "jobs", "pods")


def _objects_by_namespace(kube, releases: dict[str, str]) -> dict[str, Snapshot]:
    """The workloads of each store namespace (namespace -> release). For several stores, one list
    per resource across all namespaces, so `store list --refresh` costs the same API calls for 4
    stores as for 400; per namespace for one store, or where listing across namespaces is denied."""
    if len(releases) > 1:
        try:
            everything = Snapshot()
            for resource in STATUS_RESOURCES:
                everything.apply(resource, "LIST", kube.list_objects(resource, "", INSTANCE_LABEL))
            return _split(everything, releases)
        except Forbidden:  # no cluster-wide list permission: ask each namespace instead
            pass
    snaps = {ns: Snapshot() for ns in releases}
    for ns, release in releases.items():
        for resource in STATUS_RESOURCES:
            snaps[ns].apply(resource, "LIST", kube.list_objects(resource, ns, f"{INSTANCE_LABEL}={release}"))
    return snaps


def _split(everything: Snapshot, releases: dict[str, str]) -> dict[str, Snapshot]:
    """One cluster-wide snapshot -> one per store namespace, holding only that store's release."""
    grouped: dict[str, dict[str, list]] = {ns: {r: [] for r in STATUS_RESOURCES} for ns in releases}
    for resource in STATUS_RESOURCES:
        for item in everything.items(resource):
            meta = item["metadata"]
            ns = meta.get("namespace")
            if ns in releases and (meta.get("labels") or {}).get(INSTANCE_LABEL) == releases[ns]:
                grouped[ns][resource].append(item)
    snaps = {ns: Snapshot() for ns in releases}
    for ns, lists in grouped.items():
        for resource, items in lists.items():
            snaps[ns].apply(resource, "LIST", items)
    return snaps


def status_from_cluster(snap: Snapshot, ns: dict) -> tuple[str, str]:
    if ns["metadata"].get("deletionTimestamp"):
        return StoreStatus.DELETING.value, "namespace terminating"
    result = evaluate(snap)
    if result.failure:
        return StoreStatus.FAILED.value, result.failure
    if result.ready:
        return StoreStatus.READY.value, ""
    waiting = ", ".join(f"{c.name} ({c.detail})" for c in result.components if not c.ready)
    return StoreStatus.PROVISIONING.value, f"waiting for {waiting}" if waiting else "no workloads yet"


def _reconciled(namespaces: list[dict], snaps: dict[str, Snapshot], known: dict[str, Store],
                cluster: str) -> list[Store]:
    found = []
    for ns in namespaces:
        name = ns["metadata"]["labels"][LABEL_NAME]
        store = known.get(name) or contract.store_from_namespace(ns, cluster)
        owner = (ns["metadata"].get("labels") or {}).get(contract.LABEL_OWNER, "")
        if store.owner != owner:  # the label is the truth (another machine may have set it)
            store = replace(store, owner=owner)
        status, message = status_from_cluster(snaps[ns["metadata"]["name"]], ns)
        # A recorded reason may extend the cluster's with what the failed Job printed last (create
        # read its log): still the same failure, keep the longer one.
        if store.status == status and (store.message == message or (message and store.message or "")
                                       .startswith(f"{message}; ")):
            found.append(store)
            continue
        changes = {"status": status, "message": message, "updated_at": now_iso()}
        if status == StoreStatus.READY.value and not store.ready_at:
            changes["ready_at"] = changes["updated_at"]
        found.append(replace(store, **changes))
    return sorted(found, key=lambda s: s.name)


def _store_namespaces(namespaces: list[dict], names: list[str] | None) -> list[dict]:
    return [ns for ns in namespaces if (ns["metadata"].get("labels") or {}).get(LABEL_NAME)
            and (not names or ns["metadata"]["labels"][LABEL_NAME] in names)]


def refresh_stores(*, registry, kube, cluster: str, names: list[str] | None = None,
                   rebuild: bool = False) -> tuple[list[Store], list[str]]:
    """Reconcile records with the cluster. rebuild=True (sync) replaces the cluster's records."""
    notes: list[str] = []
    namespaces = _store_namespaces(kube.list_namespaces(STORE_SELECTOR), names)
    try:
        known = {s.name: s for s in registry.list_stores(cluster)}
    except RegistryCorrupt as err:
        if not rebuild:
            raise
        notes.append(f"{err.message}; rebuilding it from the cluster")  # sync is the way back
        known = {}
    releases = {ns["metadata"]["name"]: ns["metadata"]["labels"][LABEL_NAME] for ns in namespaces}
    found = _reconciled(namespaces, _objects_by_namespace(kube, releases), known, cluster)
    if rebuild:
        registry.replace_cluster_stores(cluster, found)
    else:
        found_names = {s.name for s in found}
        gone = [name for name in known if (names is None or name in names) and name not in found_names]
        notes += [f"store {name} no longer exists in the cluster; removed its record" for name in gone]
        registry.upsert_stores(cluster, found, remove=gone)
    return found, notes + registry.notices


def watch_stores(*, registry, kube, cluster: str, max_wait_s: float = 1.0) -> Iterator[list[Store]]:
    """Every store of the cluster, again after each change: one list-then-watch stream of the
    store namespaces and one per workload kind across namespaces. Records follow the cluster."""
    selectors = {"namespaces": STORE_SELECTOR, **{r: INSTANCE_LABEL for r in STATUS_RESOURCES}}
    snap = Snapshot()
    with ResourceStreams(kube, "", selectors) as streams:
        while True:
            item = streams.get(timeout=max_wait_s)
            changed = False
            while item is not None:  # one evaluation per burst of events
                if item.kind == "ERROR":
                    raise ClusterUnreachable(f"lost the Kubernetes API while watching stores: {item.error}",
                                             "check the cluster with `urumi cluster status`")
                snap.apply(item.resource, item.kind, item.obj)
                changed = True
                item = streams.get(timeout=0)
            if not changed or len(snap.listed) < len(selectors):
                continue
            namespaces = _store_namespaces(snap.items("namespaces"), None)
            releases = {ns["metadata"]["name"]: ns["metadata"]["labels"][LABEL_NAME] for ns in namespaces}
            known = {s.name: s for s in registry.list_stores(cluster)}
            found = _reconciled(namespaces, _split(snap, releases), known, cluster)
            found_names = {s.name for s in found}
            registry.upsert_stores(cluster, found, remove=[n for n in known if n not in found_names])
            yield found
