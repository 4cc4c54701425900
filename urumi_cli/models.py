"""Plain data: stores, their states and the JSON shape scripts rely on."""

from __future__ import annotations

import dataclasses
import functools
import enum
from dataclasses import dataclass, field


class StoreStatus(str, enum.Enum):
    PROVISIONING = "provisioning"
    READY = "ready"
    FAILED = "failed"
    DELETING = "deleting"


class StoreType(str, enum.Enum):
    WOOCOMMERCE = "woocommerce"
    MEDUSA = "medusa"


# Components a store is made of, in the order progress shows them.
COMPONENT_ORDER = ("database", "cache", "web", "setup")


@dataclass
class Store:
    """One store as the registry and `-o json` know it. Never holds a secret value."""

    name: str
    type: str
    cluster: str
    namespace: str
    release: str
    url: str
    status: str = StoreStatus.PROVISIONING.value
    message: str = ""
    env: str = "local"
    created_at: str = ""
    ready_at: str | None = None
    updated_at: str = ""
    owner: str = ""  # `store create --owner`: whose store it is, for the per-owner guardrails

    @property
    def id(self) -> str:
        # The DNS label is already unique per cluster and stable; namespace and release derive from it.
        return self.name

    def to_json(self) -> dict:
        # getattr, not dataclasses.asdict: every field is a str or None, and asdict's deep copy was
        # most of the time of `store list -o json` with many stores.
        return {key: getattr(self, key) for key in _STORE_JSON_ORDER}

    @classmethod
    def from_record(cls, record: dict) -> "Store":
        known = _field_names(cls)
        return cls(**{k: v for k, v in record.items() if k in known})


_STORE_JSON_ORDER = ("name", "id", "type", "namespace", "status", "url", "created_at", "ready_at",
                     "message", "cluster", "env", "release", "updated_at", "owner")


@functools.lru_cache(maxsize=None)
def _field_names(cls) -> frozenset:
    return frozenset(f.name for f in dataclasses.fields(cls))


@dataclass
class ComponentState:
    """What progress shows for one component (database, web, setup...)."""

    name: str
    ready: bool = False
    detail: str = "waiting"
    failed: str | None = None


@dataclass
class Target:
    """Which cluster a command talks to: always an explicit context, never 'whatever is current'."""

    context: str
    kubeconfig: str | None = None


@dataclass
class ClusterInfo:
    name: str
    context: str
    exists: bool
    reachable: bool = False
    ingress_ready: bool = False
    stores: int = 0
    message: str = ""
    created: bool = False
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data.pop("extra")
        data.update(self.extra)
        return data
