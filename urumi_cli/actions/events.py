"""urumi's own event log of a store, kept in a ConfigMap of the store's namespace.

Helm's history says which revisions exist; it does not say that revision 3 never became ready,
that urumi rolled it back, or that a backup was taken. Those events live in the cluster (the
source of truth, shared by every machine), capped in length, written with optimistic concurrency:
read with its resourceVersion, append, replace only at that version, and on 409 read again.
"""

from __future__ import annotations

import json
from typing import Iterable

from urumi_cli.actions.contract import EVENTS_CONFIGMAP, LABEL_NAME, MANAGED_BY, namespace_for, now_iso
from urumi_cli.adapters.kube_transport import ConflictError, NotFoundError
from urumi_cli.errors import Conflict, NotFound, UrumiError

EVENTS_KEY = "events.json"
MAX_EVENTS = 100  # a ConfigMap holds at most 1 MiB; 100 short events are a few KiB
MAX_MESSAGE = 300
WRITE_ATTEMPTS = 8

# Actions recorded; backup/restore add their own words the same way.
CREATED, CREATE_FAILED = "created", "create-failed"
UPGRADED, UPGRADE_FAILED = "upgraded", "upgrade-failed"
ROLLED_BACK, ROLLBACK_FAILED = "rolled-back", "rollback-failed"
OK, FAILED = "ok", "failed"


def _parse(config_map: dict | None) -> list[dict]:
    if not config_map:
        return []
    try:
        events = json.loads((config_map.get("data") or {}).get(EVENTS_KEY) or "[]")
    except ValueError:
        return []  # edited by hand into something unreadable: start again rather than fail every action
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


def read_events(kube, name: str) -> list[dict]:
    """The store's events, oldest first ([] when none were recorded)."""
    return _parse(kube.get_config_map(namespace_for(name), EVENTS_CONFIGMAP))


def new_event(action: str, *, result: str = OK, revision: int | None = None, message: str = "",
              time: str | None = None) -> dict:
    return {"time": time or now_iso(), "action": action, "result": result, "revision": revision,
            "message": message[:MAX_MESSAGE]}


def record_event(kube, name: str, event: dict) -> dict:
    """Append one event; retried on a concurrent writer's 409. Raises Conflict if writers kept
    winning, or the adapter's error if the API fails."""
    namespace = namespace_for(name)
    labels = {MANAGED_BY: "urumi", LABEL_NAME: name}
    for _ in range(WRITE_ATTEMPTS):
        current = kube.get_config_map(namespace, EVENTS_CONFIGMAP)
        events = (_parse(current) + [event])[-MAX_EVENTS:]
        data = {EVENTS_KEY: json.dumps(events, separators=(",", ":"))}
        try:
            if current is None:
                kube.create_config_map(namespace, EVENTS_CONFIGMAP, data, labels)
            else:
                kube.replace_config_map(namespace, EVENTS_CONFIGMAP, data, labels,
                                        current["metadata"].get("resourceVersion", ""))
            return event
        except ConflictError:
            continue  # another writer was first (created it, or changed it since our read): read again
        except NotFoundError:
            if current is None:  # creating failed: the namespace itself is gone
                raise NotFound(f"store {name} has no namespace {namespace} to record events in",
                               "list stores with `urumi store list --refresh`") from None
            continue  # deleted between our read and our write: create it again
    raise Conflict(f"could not record event {event['action']} for store {name}: the event log kept changing "
                   f"under {WRITE_ATTEMPTS} attempts", "re-run the command")


def record_quietly(kube, name: str, event: dict) -> str | None:
    """For an action whose own outcome matters more than its log line (a create whose API just
    went away): record, and return a note instead of raising."""
    try:
        record_event(kube, name, event)
        return None
    except UrumiError as err:
        return f"could not record the {event['action']} event of store {name}: {err.message}"


def failed_revisions(events: Iterable[dict]) -> set[int]:
    """Revisions whose last outcome urumi saw was a failure (helm calls a revision 'deployed' as
    soon as it applied it, ready or not). A later success of the same revision (a create re-run
    that finally saw it ready) clears it."""
    last: dict[int, str] = {}
    for e in events:
        if isinstance(e.get("revision"), int) and e.get("action") in OUTCOMES:
            last[e["revision"]] = e.get("result", "")
    return {revision for revision, result in last.items() if result == FAILED}


OUTCOMES = (CREATED, CREATE_FAILED, UPGRADED, UPGRADE_FAILED, ROLLED_BACK, ROLLBACK_FAILED)
