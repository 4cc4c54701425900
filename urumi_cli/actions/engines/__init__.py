"""Store engines, one module each (like kind's providers): a third engine is one new file here.

Each module defines `ENGINE`, an EngineSpec: which chart, which credentials, where the admin
logs in, which components make the store ready. Modules are found by listing this package, so
nothing else names them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import secrets
import string
from dataclasses import dataclass, field
from typing import Callable

from urumi_cli.errors import UsageError


@dataclass(frozen=True)
class EngineSpec:
    name: str  # the --type value, the chart's directory under charts/, the namespace's type label
    description: str
    credentials: Callable[[str, str], dict[str, str]]  # (store name, domain) -> Secret data
    admin_path: str  # appended to the store URL
    components: tuple[str, ...]  # what readiness waits for, in display order
    rank: int = 100  # where it comes in `choose one of: ...` (the default type first)
    backup: "BackupSpec | None" = None  # how `store backup` / `store restore` reach its data
    # `store upgrade --set-version NAME=X`: NAME -> the chart value (dotted path) it sets
    versions: dict[str, str] = field(default_factory=dict)

    def admin_url(self, store_url: str) -> str:
        return f"{store_url}{self.admin_path}" if store_url else ""


@dataclass(frozen=True)
class DatabaseSpec:
    """Where an engine's database runs and the argv lists that dump and load it in that container.

    `credentials(secret_data)` makes what the dump and load programs read on stdin as their
    client option file (None: the container's local socket needs no password). Secrets thus
    travel on the exec's stdin, never in argv. `load` is a sequence of steps: each is an argv and
    what its stdin gets, "dump" (the archive's database.sql followed by `after_load`'s SQL) or
    "credentials".
    """

    component: str  # the pods' app.kubernetes.io/component label
    container: str
    dump: tuple[str, ...]
    load: tuple[tuple[tuple[str, ...], str | None], ...]
    dump_stdin: str | None = None  # "credentials" or None
    cleanup: tuple[str, ...] = ()  # run after load, whatever happened (e.g. remove a staged file)
    credentials: Callable[[dict[str, str]], bytes] | None = None
    # (new store URL, the store's Secret data) -> SQL run after the dump, in the same load
    after_load: Callable[[str, dict[str, str]], str] | None = None


@dataclass(frozen=True)
class FilesSpec:
    """The uploads directory: in which container, under which parent (None: the container's
    workingDir, for engines whose app directory depends on the build) and its name."""

    component: str
    container: str
    directory: str
    parent: str | None = None


@dataclass(frozen=True)
class BackupSpec:
    database: DatabaseSpec
    files: FilesSpec | None = None


@functools.lru_cache(maxsize=None)
def engines() -> dict[str, EngineSpec]:
    specs = [importlib.import_module(f"{__name__}.{m.name}").ENGINE
             for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return {spec.name: spec for spec in sorted(specs, key=lambda spec: (spec.rank, spec.name))}


def engine_for(store_type) -> EngineSpec:
    """The engine of a --type value or StoreType; a UsageError naming the choices otherwise."""
    name = getattr(store_type, "value", store_type)
    try:
        return engines()[name]
    except KeyError:
        raise UsageError(f"unknown store type {name!r}", f"choose one of: {', '.join(engines())}") from None


def token(length: int = 24) -> str:
    """A password from `secrets`: letters and digits only, safe in any config file or URL."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def key(length: int = 48) -> str:
    return secrets.token_urlsafe(length)
