"""`urumi store history`: helm's revisions of the store's release next to urumi's own events
(both read from the cluster, so every machine sees the same history)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from urumi_cli.actions import contract, events
from urumi_cli.models import Target

_HELM_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$")


def utc_time(stamp: str) -> str:
    """helm's `2026-12-02T02:03:04.123456789+01:00` as urumi writes times: `2026-12-02T01:03:04Z`."""
    found = _HELM_TIME.match(stamp or "")
    if not found:
        return stamp or ""
    zone = "+00:00" if found.group(2) == "Z" else found.group(2)
    when = datetime.fromisoformat(found.group(1) + zone).astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def store_history(name: str, *, kube, helm, target: Target, reporter) -> dict:
    reporter.step("history", f"reading the history of store {name}")
    contract.require_store_namespace(kube, name, target.context)
    revisions = helm.history(name, namespace=contract.namespace_for(name), target=target)
    store_events = events.read_events(kube, name)
    reporter.done("history", f"{len(revisions)} revision(s), {len(store_events)} event(s)")
    return {
        "name": name,
        "revisions": [{"revision": r.revision, "status": r.status, "chart": r.chart, "app_version": r.app_version,
                       "updated": utc_time(r.updated), "description": r.description} for r in revisions],
        "events": [{key: e.get(key) for key in ("time", "action", "result", "revision", "message")}
                   for e in store_events],
    }
