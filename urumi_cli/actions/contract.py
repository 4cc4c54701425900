"""The contract between urumi and the cluster: names, labels and annotations.

The cluster is the source of truth. Every store is a namespace carrying these labels and
annotations, so a lost registry can be rebuilt from them (`urumi store sync`) and several
machines see the same stores.
"""

from __future__ import annotations

from datetime import datetime, timezone

from urumi_cli.errors import Conflict, NotFound
from urumi_cli.models import Store

MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NAME = "urumi.dev/store-name"
LABEL_ID = "urumi.dev/store-id"
LABEL_TYPE = "urumi.dev/store-type"
LABEL_OWNER = "urumi.dev/owner"  # `store create --owner`; the per-owner limits count these labels
ANNOTATION_URL = "urumi.dev/url"
ANNOTATION_ENV = "urumi.dev/env"
ANNOTATION_CREATED = "urumi.dev/created-at"
SECRET_NAME = "store-credentials"
# The values files a user passed with -f, kept so a retry without -f applies them again.
USER_VALUES_SECRET = "urumi-user-values"
# The kept -f files of each revision since the first upgrade, so a rollback brings back that
# revision's files too (keys r<revision>.<file>).
USER_VALUES_HISTORY_SECRET = "urumi-user-values-history"
# urumi's own event log of a store (created, upgraded, rolled back, failed...): actions/events.py.
EVENTS_CONFIGMAP = "urumi-events"
STORE_SELECTOR = f"{MANAGED_BY}=urumi,{LABEL_NAME}"
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


def domain_of(store_url: str, name: str) -> str:
    """The --domain a store was created with, read back from its URL (<name>.<domain>)."""
    from urllib.parse import urlsplit

    from urumi_cli.config import LOCAL_DOMAIN

    host = urlsplit(store_url).hostname or ""
    return host[len(name) + 1:] if host.startswith(f"{name}.") else LOCAL_DOMAIN


def namespace_labels(name: str, store_type: str, owner: str = "") -> dict[str, str]:
    labels = {MANAGED_BY: "urumi", LABEL_NAME: name, LABEL_ID: name, LABEL_TYPE: store_type, **POD_SECURITY}
    if owner:
        labels[LABEL_OWNER] = owner
    return labels


def namespace_annotations(store: Store) -> dict[str, str]:
    return {ANNOTATION_URL: store.url, ANNOTATION_ENV: store.env, ANNOTATION_CREATED: store.created_at}


def managed_namespace(ns: dict | None, name: str) -> dict | None:
    """The store's namespace, None if absent; Conflict if someone else owns that name."""
    if ns is None:
        return None
    labels = ns["metadata"].get("labels") or {}
    if labels.get(MANAGED_BY) != "urumi" or labels.get(LABEL_NAME) != name:
        raise Conflict(f"namespace {ns['metadata']['name']} exists and is not managed by urumi for store {name}",
                       "choose another store name, or remove that namespace yourself")
    return ns


def require_store_namespace(kube, name: str, cluster: str) -> dict:
    ns = managed_namespace(kube.get_namespace(namespace_for(name)), name)
    if ns is None:
        raise NotFound(f"store {name} not found in cluster {cluster}", "list stores with `urumi store list`")
    return ns


def store_type_of(ns: dict) -> str:
    return (ns["metadata"].get("labels") or {}).get(LABEL_TYPE, "")


def store_from_namespace(ns: dict, cluster: str) -> Store:
    """What the namespace alone says of its store (status is decided elsewhere)."""
    meta = ns["metadata"]
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    name = labels[LABEL_NAME]
    return Store(name=name, type=labels.get(LABEL_TYPE, ""), cluster=cluster, namespace=meta["name"], release=name,
                 url=notes.get(ANNOTATION_URL, ""), env=notes.get(ANNOTATION_ENV, "local"),
                 created_at=notes.get(ANNOTATION_CREATED) or meta.get("creationTimestamp", ""),
                 owner=labels.get(LABEL_OWNER, ""))


def namespace_conditions(ns: dict) -> str:
    conds = (ns.get("status") or {}).get("conditions") or []
    lines = [f"{c.get('type')}={c.get('status')}: {c.get('message', '')}".strip() for c in conds]
    return "\n".join(lines) or f"phase {(ns.get('status') or {}).get('phase', 'unknown')}, no conditions"
