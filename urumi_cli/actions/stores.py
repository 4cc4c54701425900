"""Store lifecycle: create, delete, list, get, sync, credentials, test, describe.

The cluster is the source of truth: namespaces carry urumi's labels and annotations, so a lost
registry can be rebuilt from them. The registry records what this machine last saw and is
updated before and after every long step, never while a lock is held across helm.
"""

from __future__ import annotations

import os
import secrets
import string
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from urumi_cli import config
from urumi_cli.actions.waiting import diagnose, evaluate, Snapshot, wait_until_ready
from urumi_cli.adapters.helm import PENDING_STATES
from urumi_cli.errors import Forbidden
from urumi_cli.adapters.locks import file_lock
from urumi_cli.errors import (
    Conflict,
    Interrupted,
    NotFound,
    RegistryCorrupt,
    OperationFailed,
    TimedOut,
    UrumiError,
    UsageError,
)
from urumi_cli.models import Store, StoreStatus, StoreType, Target
from urumi_cli.readiness import INSTANCE_LABEL, is_pod_ready

MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NAME = "urumi.dev/store-name"
LABEL_ID = "urumi.dev/store-id"
LABEL_TYPE = "urumi.dev/store-type"
ANNOTATION_URL = "urumi.dev/url"
ANNOTATION_ENV = "urumi.dev/env"
ANNOTATION_CREATED = "urumi.dev/created-at"
SECRET_NAME = "store-credentials"
# Every pod of both charts meets `restricted` (charts/README.md): enforce it, so a values override
# that asks for more privilege fails at admission (a FailedCreate urumi reports) instead of running.
POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def namespace_for(name: str) -> str:
    return f"store-{name}"


def store_url(name: str, env: str, domain: str) -> str:
    scheme = "https" if env == "prod" else "http"
    return f"{scheme}://{name}.{domain}/"


@dataclass(frozen=True)
class CreateOptions:
    name: str
    type: StoreType
    target: Target
    env: str = "local"
    domain: str = config.LOCAL_DOMAIN
    timeout_s: float = config.DEFAULT_TIMEOUT_S
    wait: bool = True
    values_files: tuple[str, ...] = ()


@dataclass
class CreateResult:
    store: Store
    created: bool  # False when an existing ready store was returned unchanged
    ready_observed_at: float | None = None
    notes: list[str] = field(default_factory=list)


def generate_credentials(store_type: StoreType, name: str, domain: str) -> dict[str, str]:
    """Every secret urumi hands to a chart, from `secrets`. Stored only in a Kubernetes Secret."""
    alphabet = string.ascii_letters + string.digits

    def token(n: int = 24) -> str:
        return "".join(secrets.choice(alphabet) for _ in range(n))

    data = {"admin-password": token(24)}
    if store_type is StoreType.WOOCOMMERCE:
        data["admin-username"] = "admin"
        data["db-password"] = token(24)
        data["db-root-password"] = token(24)
        for key in ("auth-key", "secure-auth-key", "logged-in-key", "nonce-key",
                    "auth-salt", "secure-auth-salt", "logged-in-salt", "nonce-salt"):
            data[key] = secrets.token_urlsafe(48)
    else:
        data["admin-username"] = f"admin@{name}.{domain}"
        data["postgres-password"] = token(24)
        data["jwt-secret"] = secrets.token_urlsafe(48)
        data["cookie-secret"] = secrets.token_urlsafe(48)
    return data


def _chart_files(opts: CreateOptions) -> tuple[str, str]:
    chart = config.charts_dir() / opts.type.value
    overlay = chart / f"values-{opts.env}.yaml"
    if not (chart / "Chart.yaml").is_file():
        raise OperationFailed(f"chart for {opts.type.value} not found at {chart}",
                              "reinstall urumi, or set URUMI_CHARTS_DIR to the charts directory")
    return str(chart), str(overlay)


def _generated_values(opts: CreateOptions) -> str:
    import yaml

    # No secret in here: only the name of the Secret urumi created in the namespace.
    values = {"store": {"name": opts.name}, "domain": opts.domain, "existingSecret": SECRET_NAME}
    return yaml.safe_dump(values, sort_keys=False)


def _store_lock(locks_dir: Path, target: Target, name: str, *, timeout_s: float, reporter):
    path = locks_dir / f"store-{target.context}--{name}.lock".replace("/", "_")

    def waiting() -> None:
        reporter.step("lock", f"waiting for another urumi process working on store {name}")

    return file_lock(path, timeout_s=timeout_s, on_wait=waiting, what=f"the lock of store {name}")


def _managed_namespace(ns: dict | None, name: str) -> dict | None:
    if ns is None:
        return None
    labels = ns["metadata"].get("labels") or {}
    if labels.get(MANAGED_BY) != "urumi" or labels.get(LABEL_NAME) != name:
        raise Conflict(f"namespace {ns['metadata']['name']} exists and is not managed by urumi for store {name}",
                       "choose another store name, or remove that namespace yourself")
    return ns


def _wait_namespace_gone(kube, namespace: str, deadline: float, reporter) -> None:
    reporter.step("namespace", f"namespace {namespace} is still terminating from an earlier delete; waiting")
    last = kube.wait_namespace_gone(namespace, deadline)
    if last is not None:
        raise TimedOut(f"namespace {namespace} is still terminating",
                       "wait for the earlier delete to finish (`urumi store delete` shows why it is stuck)",
                       details=_namespace_conditions(last))
    reporter.done("namespace", f"namespace {namespace} is gone")


def _namespace_conditions(ns: dict) -> str:
    conds = (ns.get("status") or {}).get("conditions") or []
    lines = [f"{c.get('type')}={c.get('status')}: {c.get('message', '')}".strip() for c in conds]
    return "\n".join(lines) or f"phase {(ns.get('status') or {}).get('phase', 'unknown')}, no conditions"


def create_store(opts: CreateOptions, *, registry, helm, kube, reporter, locks_dir: Path,
                 clock=time.monotonic) -> CreateResult:
    started = clock()
    deadline = started + opts.timeout_s
    cluster = opts.target.context
    namespace = namespace_for(opts.name)
    if opts.env == "prod" and opts.domain == config.LOCAL_DOMAIN:
        raise UsageError("--env prod needs --domain", "e.g. --env prod --domain example.com")
    chart, overlay = _chart_files(opts)
    for path in opts.values_files:
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise UsageError(f"values file {path} does not exist or is not readable", "pass a readable YAML file")

    with _store_lock(locks_dir, opts.target, opts.name, timeout_s=opts.timeout_s, reporter=reporter):
        existing = registry.get_store(cluster, opts.name)
        if existing and existing.type != opts.type.value:
            raise Conflict(f"store {opts.name} already exists with type {existing.type}",
                           f"use another name, or delete it first: urumi store delete {opts.name}")

        reporter.step("cluster", f"checking cluster {cluster}")
        kube.server_version()
        ns = _managed_namespace(kube.get_namespace(namespace), opts.name)
        if ns is not None:
            ns_type = (ns["metadata"].get("labels") or {}).get(LABEL_TYPE)
            if ns_type and ns_type != opts.type.value:
                raise Conflict(f"store {opts.name} already exists in the cluster with type {ns_type}",
                               f"use another name, or delete it first: urumi store delete {opts.name}")
            if ns["metadata"].get("deletionTimestamp"):
                _wait_namespace_gone(kube, namespace, deadline, reporter)
                ns = None
        reporter.done("cluster", f"cluster {cluster} reachable")

        release = helm.status(opts.name, namespace=namespace, target=opts.target) if ns else None
        if (existing and existing.status == StoreStatus.READY.value and release and release.status == "deployed"
                and not opts.values_files):
            # Idempotent re-run: confirm from the cluster instead of trusting the record.
            ready_at = wait_until_ready(kube, namespace=namespace, release=opts.name, deadline=deadline,
                                        reporter=reporter, since_epoch=time.time())
            return CreateResult(existing, created=False, ready_observed_at=ready_at)
        # A deployed release that is not known to have failed is still coming up (e.g. --no-wait, a
        # lost registry, an interrupted wait): wait for it rather than upgrading it again. A failed
        # store, a pending release or explicit --values go through helm.
        already_deployed = (release is not None and release.status == "deployed" and not opts.values_files
                            and not (existing and existing.status == StoreStatus.FAILED.value))

        now = now_iso()
        store = Store(
            name=opts.name, type=opts.type.value, cluster=cluster, namespace=namespace, release=opts.name,
            url=store_url(opts.name, opts.env, opts.domain), status=StoreStatus.PROVISIONING.value,
            message="installing", env=opts.env,
            created_at=existing.created_at if existing else now, updated_at=now,
        )
        registry.put_store(store)
        result = CreateResult(store, created=True)
        phase = "preparing the namespace"
        try:
            reporter.step("namespace", f"namespace {namespace}")
            labels = {MANAGED_BY: "urumi", LABEL_NAME: opts.name, LABEL_ID: store.id, LABEL_TYPE: opts.type.value,
                      **POD_SECURITY}
            if ns is None:
                kube.create_namespace(namespace, labels)
            else:
                kube.patch_namespace_labels(namespace, labels)
            kube.annotate_namespace(namespace, {ANNOTATION_URL: store.url, ANNOTATION_ENV: opts.env,
                                                ANNOTATION_CREATED: store.created_at})
            fresh = kube.create_secret_if_absent(
                namespace, SECRET_NAME, generate_credentials(opts.type, opts.name, opts.domain),
                {MANAGED_BY: "urumi", LABEL_NAME: opts.name})
            reporter.done("namespace", f"namespace {namespace} labelled, "
                                       f"{'new' if fresh else 'existing'} credentials Secret")

            phase = "running helm"
            if already_deployed:
                reporter.step("helm", f"release {opts.name}")
                reporter.done("helm", f"release {opts.name} already deployed (revision {release.revision})")
            elif release and release.status in PENDING_STATES:
                # Our per-store lock is held, so no urumi process is driving this release: it is
                # left over from a killed helm. Recover instead of failing "another operation...".
                reporter.step("recover", f"recovering release {opts.name} stuck in {release.status}")
                if release.status == "pending-install" or release.revision <= 1:
                    helm.uninstall(opts.name, namespace=namespace, target=opts.target)
                else:
                    helm.rollback(opts.name, namespace=namespace, target=opts.target)
                reporter.done("recover", f"recovered release {opts.name} from {release.status}")
            if not already_deployed:
                reporter.step("helm", f"helm upgrade --install {opts.name} ({opts.type.value}, {opts.env})")
                with tempfile.TemporaryDirectory(prefix="urumi-values-") as tmp:
                    generated = Path(tmp) / "urumi-values.yaml"
                    generated.write_text(_generated_values(opts))
                    helm.upgrade_install(
                        opts.name, chart, namespace=namespace, target=opts.target,
                        values_files=[overlay, str(generated), *opts.values_files],
                        timeout_s=max(30.0, deadline - clock()),
                    )
                reporter.done("helm", f"helm applied {opts.type.value} chart")
                if existing is not None or release is not None:
                    _replace_stuck_statefulset_pods(kube, namespace, opts.name, deadline, reporter)

            if not opts.wait:
                store = registry.update_store(cluster, opts.name, message="installed; not waiting (--no-wait)",
                                              updated_at=now_iso()) or store
                result.store = store
                return result

            phase = "waiting for the store"
            since = time.time() - 1.0
            result.ready_observed_at = wait_until_ready(kube, namespace=namespace, release=opts.name,
                                                        deadline=deadline, reporter=reporter, since_epoch=since)
            now = now_iso()
            result.store = registry.update_store(cluster, opts.name, status=StoreStatus.READY.value, message="",
                                                 ready_at=now, updated_at=now) or store
            return result
        except (KeyboardInterrupt, Interrupted):
            # The truth: helm was stopped gracefully (failed), or it finished and pods still start.
            if phase == "waiting for the store":
                registry.update_store(cluster, opts.name, message="interrupted while waiting; re-run create to "
                                      "keep waiting", updated_at=now_iso())
            else:
                registry.update_store(cluster, opts.name, status=StoreStatus.FAILED.value,
                                      message=f"interrupted while {phase}", updated_at=now_iso())
            raise Interrupted(f"interrupted while {phase} for store {opts.name}",
                              f"re-run `urumi store create --type {opts.type.value} --name {opts.name}` to finish")
        except UrumiError as err:
            registry.update_store(cluster, opts.name, status=StoreStatus.FAILED.value,
                                  message=err.message[:500], updated_at=now_iso())
            if phase == "waiting for the store" and err.details is None:
                err.details = "\n".join(diagnose(kube, namespace, opts.name)) or None
            raise


def _replace_stuck_statefulset_pods(kube, namespace: str, release: str, deadline: float, reporter,
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
    namespace = namespace_for(opts.name)
    with _store_lock(locks_dir, opts.target, opts.name, timeout_s=opts.timeout_s, reporter=reporter):
        record = registry.get_store(cluster, opts.name)
        ns = _managed_namespace(kube.get_namespace(namespace), opts.name)
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
                    details=_namespace_conditions(last),
                )
            reporter.done("namespace", f"namespace {namespace} deleted")
        registry.remove_store(cluster, opts.name)
        return record or Store(name=opts.name, type="", cluster=cluster, namespace=namespace, release=opts.name,
                               url="", status=StoreStatus.DELETING.value)


def list_stores(*, registry, cluster: str | None) -> list[Store]:
    return registry.list_stores(cluster)


STATUS_RESOURCES = ("deployments", "statefulsets", "jobs", "pods")


def _objects_by_namespace(kube, releases: dict[str, str]) -> dict[str, Snapshot]:
    """The workloads of each store namespace (namespace -> release). For several stores, one list
    per resource across all namespaces, so `store list --refresh` costs the same API calls for 4
    stores as for 400; per namespace for one store, or where listing across namespaces is denied."""
    snaps = {ns: Snapshot() for ns in releases}
    if len(releases) > 1:
        try:
            grouped: dict[str, dict[str, list]] = {ns: {r: [] for r in STATUS_RESOURCES} for ns in releases}
            for resource in STATUS_RESOURCES:
                for item in kube.list_objects(resource, "", INSTANCE_LABEL):
                    meta = item["metadata"]
                    ns = meta.get("namespace")
                    if ns in releases and (meta.get("labels") or {}).get(INSTANCE_LABEL) == releases[ns]:
                        grouped[ns][resource].append(item)
            for ns, lists in grouped.items():
                for resource, items in lists.items():
                    snaps[ns].apply(resource, "LIST", items)
            return snaps
        except Forbidden:  # no cluster-wide list permission: ask each namespace instead
            pass
    for ns, release in releases.items():
        for resource in STATUS_RESOURCES:
            snaps[ns].apply(resource, "LIST", kube.list_objects(resource, ns, f"{INSTANCE_LABEL}={release}"))
    return snaps


def _status_from_cluster(snap: Snapshot, ns: dict) -> tuple[str, str]:
    if ns["metadata"].get("deletionTimestamp"):
        return StoreStatus.DELETING.value, "namespace terminating"
    result = evaluate(snap)
    if result.failure:
        return StoreStatus.FAILED.value, result.failure
    if result.ready:
        return StoreStatus.READY.value, ""
    waiting = ", ".join(f"{c.name} ({c.detail})" for c in result.components if not c.ready)
    return StoreStatus.PROVISIONING.value, f"waiting for {waiting}" if waiting else "no workloads yet"


def _store_from_namespace(ns: dict, cluster: str, record: Store | None) -> Store:
    meta = ns["metadata"]
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    name = labels[LABEL_NAME]
    base = record or Store(
        name=name, type=labels.get(LABEL_TYPE, ""), cluster=cluster, namespace=meta["name"], release=name,
        url=notes.get(ANNOTATION_URL, ""), env=notes.get(ANNOTATION_ENV, "local"),
        created_at=notes.get(ANNOTATION_CREATED) or meta.get("creationTimestamp", ""),
    )
    return base


def refresh_stores(*, registry, kube, cluster: str, names: list[str] | None = None,
                   rebuild: bool = False) -> tuple[list[Store], list[str]]:
    """Reconcile records with the cluster. rebuild=True (sync) replaces the cluster's records."""
    notes: list[str] = []
    namespaces = kube.list_namespaces(f"{MANAGED_BY}=urumi,{LABEL_NAME}")
    try:
        known = {s.name: s for s in registry.list_stores(cluster)}
    except RegistryCorrupt as err:
        if not rebuild:
            raise
        notes.append(f"{err.message}; rebuilding it from the cluster")  # sync is the way back
        known = {}
    found: list[Store] = []
    wanted = [(ns, _store_from_namespace(ns, cluster, known.get(ns["metadata"]["labels"][LABEL_NAME])))
              for ns in namespaces
              if (ns["metadata"].get("labels") or {}).get(LABEL_NAME)
              and (not names or ns["metadata"]["labels"][LABEL_NAME] in names)]
    snaps = _objects_by_namespace(kube, {ns["metadata"]["name"]: store.release for ns, store in wanted})
    for ns, store in wanted:
        status, message = _status_from_cluster(snaps[ns["metadata"]["name"]], ns)
        changes = {"status": status, "message": message, "updated_at": now_iso()}
        if status == StoreStatus.READY.value and not store.ready_at:
            changes["ready_at"] = now_iso()
        if store.status == status and store.message == message:
            changes.pop("updated_at")
        found.append(replace(store, **changes))
    found_names = {s.name for s in found}
    if rebuild:
        registry.replace_cluster_stores(cluster, found)
    else:
        gone = [name for name in known if (names is None or name in names) and name not in found_names]
        notes += [f"store {name} no longer exists in the cluster; removed its record" for name in gone]
        registry.upsert_stores(cluster, found, remove=gone)
    return sorted(found, key=lambda s: s.name), notes + registry.notices


def get_store(name: str, *, registry, kube, cluster: str) -> Store:
    stores, _ = refresh_stores(registry=registry, kube=kube, cluster=cluster, names=[name])
    if not stores:
        raise NotFound(f"store {name} not found in cluster {cluster}", "list stores with `urumi store list`")
    return stores[0]


def credentials(name: str, *, kube, registry, cluster: str) -> dict:
    namespace = namespace_for(name)
    _require_store_namespace(kube, name, cluster)
    data = kube.read_secret(namespace, SECRET_NAME)
    if data is None:
        raise NotFound(f"store {name} has no {SECRET_NAME} Secret in {namespace}",
                       "it was not created by urumi; read the chart's NOTES for its Secret")
    record = registry.get_store(cluster, name)
    url = record.url if record else ""
    store_type = record.type if record else ""
    admin = f"{url}wp-admin/" if store_type == StoreType.WOOCOMMERCE.value else (f"{url}app" if url else "")
    return {"name": name, "url": url, "admin_url": admin, "username": data.get("admin-username", ""),
            "password": data.get("admin-password", "")}


def _require_store_namespace(kube, name: str, cluster: str) -> dict:
    ns = _managed_namespace(kube.get_namespace(namespace_for(name)), name)
    if ns is None:
        raise NotFound(f"store {name} not found in cluster {cluster}", "list stores with `urumi store list`")
    return ns


def test_store(name: str, *, helm, kube, target: Target, timeout_s: float) -> str:
    namespace = namespace_for(name)
    _require_store_namespace(kube, name, target.context)
    return helm.test(name, namespace=namespace, target=target, timeout_s=timeout_s)


def describe_store(name: str, *, registry, kube, cluster: str) -> dict:
    store = get_store(name, registry=registry, kube=kube, cluster=cluster)
    result = evaluate(_objects_by_namespace(kube, {store.namespace: store.release})[store.namespace])
    return {
        **store.to_json(),
        "components": [{"name": c.name, "ready": c.ready, "detail": c.failed or c.detail} for c in result.components],
        "diagnostics": diagnose(kube, store.namespace, store.release, limit=15),
    }
