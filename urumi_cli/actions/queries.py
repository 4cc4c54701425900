"""Read-only questions about stores: list, get, describe, credentials; and `store test`."""

from __future__ import annotations

from dataclasses import dataclass

from urumi_cli.actions import contract
from urumi_cli.actions.contract import SECRET_NAME
from urumi_cli.actions.diagnostics import diagnose, explained, job_cause
from urumi_cli.actions.engines import engines
from urumi_cli.actions.refresh import _objects_by_namespace, refresh_stores
from urumi_cli.actions.waiting import evaluate
from urumi_cli.errors import NotFound
from urumi_cli.models import Store, Target


@dataclass
class Listing:
    stores: list[Store]
    elsewhere: dict[str, int]  # context -> stores this machine knows there, when `stores` is one context's


def list_stores(*, registry, cluster: str | None) -> Listing:
    """The registry's stores of `cluster` (None: every cluster), fast: no cluster call."""
    everything = registry.list_stores(None)
    if cluster is None:
        return Listing(everything, {})
    elsewhere: dict[str, int] = {}
    for store in everything:
        if store.cluster != cluster:
            elsewhere[store.cluster] = elsewhere.get(store.cluster, 0) + 1
    return Listing([s for s in everything if s.cluster == cluster], elsewhere)


def get_store(name: str, *, registry, kube, cluster: str) -> Store:
    stores, _ = refresh_stores(registry=registry, kube=kube, cluster=cluster, names=[name])
    if not stores:
        raise NotFound(f"store {name} not found in cluster {cluster}", "list stores with `urumi store list`")
    return stores[0]


def describe_store(name: str, *, registry, kube, cluster: str) -> dict:
    store = get_store(name, registry=registry, kube=kube, cluster=cluster)
    result = evaluate(_objects_by_namespace(kube, {store.namespace: store.release})[store.namespace])
    described = store.to_json()
    if result.failed_job and result.failure and described["message"] == result.failure:
        # e.g. a record rebuilt by `store sync`, which reads no logs
        described["message"] = explained(result.failure, job_cause(kube, store.namespace, result.failed_job))
    return {
        **described,
        "components": [{"name": c.name, "ready": c.ready, "detail": c.failed or c.detail} for c in result.components],
        "diagnostics": diagnose(kube, store.namespace, store.release, limit=15),
    }


def credentials(name: str, *, kube, registry, cluster: str) -> dict:
    namespace = contract.namespace_for(name)
    ns = contract.require_store_namespace(kube, name, cluster)
    data = kube.read_secret(namespace, SECRET_NAME)
    if data is None:
        raise NotFound(f"store {name} has no {SECRET_NAME} Secret in {namespace}",
                       "it was not created by urumi; read the chart's NOTES for its Secret")
    record = registry.get_store(cluster, name)
    url = record.url if record else contract.store_from_namespace(ns, cluster).url
    engine = engines().get(contract.store_type_of(ns))
    return {"name": name, "url": url, "admin_url": engine.admin_url(url) if engine else "",
            "username": data.get("admin-username", ""), "password": data.get("admin-password", "")}


def store_address(name: str, *, admin: bool, kube, cluster: str) -> dict:
    """Where the store (or its admin, at the engine's admin path) answers, as its namespace says."""
    ns = contract.require_store_namespace(kube, name, cluster)
    url = contract.store_from_namespace(ns, cluster).url
    if not url:
        raise NotFound(f"store {name} has no URL recorded on namespace {ns['metadata']['name']}",
                       f"re-run `urumi store create --name {name}` to record it")
    engine = engines().get(contract.store_type_of(ns))
    if admin:
        if engine is None:
            raise NotFound(f"store {name} has an unknown type {contract.store_type_of(ns)!r}: no admin page known",
                           "open the storefront without --admin")
        url = engine.admin_url(url)
    return {"name": name, "url": url, "admin": admin}


def test_store(name: str, *, helm, kube, target: Target, timeout_s: float, reporter) -> str:
    """The release's helm tests (storefront, a real order); their output."""
    contract.require_store_namespace(kube, name, target.context)
    reporter.step("test", f"helm test {name}")
    try:
        text = helm.test(name, namespace=contract.namespace_for(name), target=target, timeout_s=timeout_s)
    except BaseException:
        reporter.done("test", f"helm test {name} failed", ok=False)
        raise
    reporter.done("test", f"helm test {name} passed")
    return text
