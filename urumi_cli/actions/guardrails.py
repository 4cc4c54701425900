"""Guardrails on `store create`: at most N stores per cluster, M per owner, and a cool-down
between one owner's creates.

They are counted from the cluster (the store namespaces' labels and creation times), not from
this machine's registry, so every machine that creates stores on a cluster sees the same counts.
Counting and creating are two requests, so two CLIs can both find the last slot free; each
therefore checks again once its namespace exists (`claim`): the namespaces, ordered by the API
server's creation time (then name), decide who came first, and the later one removes its
namespace and reports the limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from urumi_cli.actions.contract import LABEL_NAME, LABEL_OWNER, STORE_SELECTOR, namespace_for
from urumi_cli.errors import LimitReached, UsageError, shown
from urumi_cli.readiness import parse_time


@dataclass(frozen=True)
class Limits:
    max_stores: int | None = None  # per cluster
    max_stores_per_owner: int | None = None
    create_cooldown_s: float | None = None  # per owner
    source: str = ""  # where they came from, for the hint

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_stores, self.max_stores_per_owner, self.create_cooldown_s))

    def overridden(self, **flags) -> "Limits":
        """Flags win over the config file."""
        given = {key: value for key, value in flags.items() if value is not None}
        return replace(self, **given) if given else self


KEYS = {"max_stores": "max_stores", "max_stores_per_owner": "max_stores_per_owner",
        "create_cooldown": "create_cooldown_s"}


def load_limits(path: Path) -> Limits:
    """The `limits:` of the config file; no file, no limits."""
    import yaml

    from urumi_cli.validation import parse_duration

    try:
        text = path.read_text()
    except FileNotFoundError:
        return Limits()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read the config file {shown(path)}: {err}", "fix or remove the file") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"config file {shown(path)} is not valid YAML: {str(err).splitlines()[0]}",
                         "fix or remove the file") from None
    section = data.get("limits") if isinstance(data, dict) else None
    if section is None:
        return Limits(source=str(path))
    if not isinstance(section, dict):
        raise UsageError(f"`limits` in {shown(path)} is not a mapping", "e.g. limits: {max_stores: 20}")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise UsageError(f"unknown key limits.{shown(unknown[0])} in {shown(path)}", f"use {', '.join(KEYS)}")
    values: dict = {}
    for key, field_name in KEYS.items():
        if section.get(key) is None:
            continue
        value = section[key]
        if key == "create_cooldown":
            values[field_name] = parse_duration(str(value))
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"limits.{key} in {shown(path)} must be a whole number of at least 1, not {value!r}",
                             "or remove it for no limit")
        else:
            values[field_name] = value
    return Limits(**values, source=str(path))


def _hint(limits: Limits, key: str, flag: str) -> str:
    where = f"limits.{key} in {limits.source}" if limits.source else f"limits.{key} in the config file"
    return f"raise {where}, or pass {flag}"


def _store_namespaces(kube) -> list[dict]:
    return [ns for ns in kube.list_namespaces(STORE_SELECTOR) if not ns["metadata"].get("deletionTimestamp")]


def _owned(namespaces: list[dict], owner: str) -> list[dict]:
    return [ns for ns in namespaces if (ns["metadata"].get("labels") or {}).get(LABEL_OWNER) == owner]


def _created(ns: dict) -> tuple[float, str]:
    return parse_time(ns["metadata"].get("creationTimestamp")), ns["metadata"]["name"]


def _store(ns: dict) -> str:
    return (ns["metadata"].get("labels") or {}).get(LABEL_NAME, ns["metadata"]["name"])


def check(kube, limits: Limits, *, name: str, owner: str, cluster: str, now: float | None = None) -> None:
    """Before anything is created: would one more store break a limit? (LimitReached if so.)"""
    namespaces = [ns for ns in _store_namespaces(kube) if _store(ns) != name]
    _check_counts(limits, namespaces, owner=owner, cluster=cluster)
    if owner and limits.create_cooldown_s:
        mine = _owned(namespaces, owner)
        if mine:
            latest = max(mine, key=_created)
            waited = (time.time() if now is None else now) - _created(latest)[0]
            if waited < limits.create_cooldown_s:
                raise _cooldown(limits, owner, _store(latest), max(0.0, waited))


def claim(kube, limits: Limits, *, name: str, owner: str, cluster: str) -> None:
    """Once this store's namespace exists: did another CLI take the slot first? The namespaces
    created before ours (the API server's times, then names, break ties) are the ones that count."""
    namespaces = sorted(_store_namespaces(kube), key=_created)
    ours = next((ns for ns in namespaces if _store(ns) == name), None)
    if ours is None:
        return  # not ours to judge (it is being deleted already)
    before = namespaces[:namespaces.index(ours)]
    _check_counts(limits, before, owner=owner, cluster=cluster)
    if owner and limits.create_cooldown_s:
        created = _created(ours)[0]
        earlier = [ns for ns in _owned(before, owner) if created - _created(ns)[0] < limits.create_cooldown_s]
        if earlier:
            raise _cooldown(limits, owner, _store(earlier[-1]), created - _created(earlier[-1])[0])


def _check_counts(limits: Limits, before: list[dict], *, owner: str, cluster: str) -> None:
    """`before`: the stores that take a slot ahead of this one."""
    if limits.max_stores is not None and len(before) >= limits.max_stores:
        raise LimitReached(f"store limit reached: cluster {cluster} has {len(before)} stores "
                           f"and max_stores is {limits.max_stores}",
                           f"delete a store (`urumi store list`), or {_hint(limits, 'max_stores', '--max-stores')}")
    if owner and limits.max_stores_per_owner is not None:
        mine = _owned(before, owner)
        if len(mine) >= limits.max_stores_per_owner:
            raise LimitReached(
                f"store limit reached for owner {owner}: {len(mine)} stores "
                f"({', '.join(sorted(_store(ns) for ns in mine))}) and max_stores_per_owner is "
                f"{limits.max_stores_per_owner}",
                f"delete one of them, or {_hint(limits, 'max_stores_per_owner', '--max-stores-per-owner')}")


def _cooldown(limits: Limits, owner: str, latest: str, waited: float) -> LimitReached:
    left = max(1, int(limits.create_cooldown_s - waited + 0.999))
    return LimitReached(f"create cool-down for owner {owner}: store {latest} was created {int(waited)}s ago and "
                        f"create_cooldown is {limits.create_cooldown_s:g}s",
                        f"wait {left}s, or {_hint(limits, 'create_cooldown', '--create-cooldown')}")


def release_namespace(kube, registry, *, name: str, cluster: str) -> None:
    """The loser of a race gives its slot back: its namespace (empty yet) and its record go."""
    kube.delete_namespace(namespace_for(name))
    registry.remove_store(cluster, name)
