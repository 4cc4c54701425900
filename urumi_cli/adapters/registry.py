"""The local store registry: TinyDB in one JSON file, made safe for parallel runs and crashes.

TinyDB is not multi-process safe (msiemens/tinydb#215) and rewrites its file in place, so a crash
can truncate it (#467). Here every read-modify-write holds an exclusive flock on a separate lock
file, TinyDB is opened inside the lock and closed before unlocking (no stale caches, #179/#276),
and writes go to a temp file that is fsynced and renamed over the original. An unparseable file is
moved aside, never silently replaced; `urumi store sync` rebuilds it from the cluster. The lock is
held for milliseconds, never across a helm call.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from urumi_cli.adapters.locks import file_lock
from urumi_cli.errors import RegistryCorrupt, RegistryError
from urumi_cli.models import Store

STORES = "stores"
CLUSTERS = "clusters"


class _Unparseable(Exception):
    pass


def _atomic_write(path: Path, text: str) -> None:
    import tempfile  # here, not at the top: reads (`store list`) never need it

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".registry-", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def _read_json(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError as err:
        raise _Unparseable(str(err)) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise _Unparseable("top level is not a JSON object of tables")
    return data


def _storage_class(path: Path, current: dict | None):
    from tinydb.storages import Storage

    class AtomicJSONStorage(Storage):
        """Reads the file once per transaction and writes it once, at commit: a transaction that
        raises writes nothing, and a batch of changes costs one fsync."""

        def __init__(self, *_args, **_kwargs):  # TinyDB passes its own path/options; ours is bound
            self.data = current  # already read (and checked) under the lock
            self.dirty = False

        def read(self):
            return self.data

        def write(self, data):
            self.data, self.dirty = data, True

        def commit(self):
            if self.dirty:
                _atomic_write(path, json.dumps(self.data, sort_keys=True, separators=(",", ":")))
                self.dirty = False

        def close(self):
            pass

    return AtomicJSONStorage


class Registry:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        # Things the user must be told (e.g. a corrupt file moved aside); the CLI prints them.
        self.notices: list[str] = []

    # -- plumbing ------------------------------------------------------------------------------
    def _ensure_dir(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise RegistryError(f"cannot create registry directory {self.path.parent}: {err.strerror}",
                                "point URUMI_HOME at a writable directory") from None
        if not os.access(self.path.parent, os.W_OK):
            raise RegistryError(f"registry directory {self.path.parent} is not writable",
                                "fix its permissions, or point URUMI_HOME at a writable directory")

    def _move_aside(self, reason: str) -> RegistryCorrupt:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        os.replace(self.path, aside)
        return RegistryCorrupt(
            f"registry {self.path} was unreadable ({reason}); moved it to {aside}",
            "run `urumi store sync` to rebuild the registry from the cluster",
            moved_to=str(aside),
        )

    def _clean_stale_temp_files(self) -> None:
        # Left by a process killed mid-write; safe to remove while we hold the exclusive lock.
        for stale in self.path.parent.glob(".registry-*.tmp"):
            try:
                stale.unlink()
            except OSError:
                pass

    @contextmanager
    def transaction(self) -> Iterator["object"]:
        """Exclusive read-modify-write: yields an open TinyDB, closed before the lock is released."""
        from tinydb import TinyDB

        self._ensure_dir()
        with file_lock(self.lock_path, timeout_s=60, what="the registry lock"):
            self._clean_stale_temp_files()
            try:
                current = _read_json(self.path)
            except _Unparseable as err:
                # A write must not be lost because an older file was damaged: set it aside, say so.
                moved = self._move_aside(str(err))
                self.notices.append(f"{moved.message}; {moved.hint}")
                current = None
            db = TinyDB(self.path, storage=_storage_class(self.path, current))
            try:
                yield db
                db.storage.commit()
            finally:
                db.close()
            if self.path.exists():
                os.chmod(self.path, 0o600)

    def _read_tables(self) -> dict:
        """Plain read under a shared lock; fast path for `store list` (no TinyDB import)."""
        if not self.path.exists():
            return {}
        with file_lock(self.lock_path, shared=True, timeout_s=60, what="the registry lock"):
            try:
                return _read_json(self.path) or {}
            except _Unparseable:
                pass
        with file_lock(self.lock_path, timeout_s=60, what="the registry lock"):
            try:
                return _read_json(self.path) or {}
            except _Unparseable as err:
                raise self._move_aside(str(err)) from None

    # -- stores --------------------------------------------------------------------------------
    def list_stores(self, cluster: str | None = None) -> list[Store]:
        docs = self._read_tables().get(STORES, {}).values()
        stores = [Store.from_record(doc) for doc in docs if cluster is None or doc.get("cluster") == cluster]
        return sorted(stores, key=lambda s: (s.cluster, s.name))

    def get_store(self, cluster: str, name: str) -> Store | None:
        for doc in self._read_tables().get(STORES, {}).values():
            if doc.get("cluster") == cluster and doc.get("name") == name:
                return Store.from_record(doc)
        return None

    def put_store(self, store: Store) -> Store:
        from tinydb import Query

        q = Query()
        record = {k: v for k, v in store.to_json().items() if k != "id"}
        with self.transaction() as db:
            db.table(STORES).upsert(record, (q.cluster == store.cluster) & (q.name == store.name))
        return store

    def update_store(self, cluster: str, name: str, **fields) -> Store | None:
        from tinydb import Query

        q = Query()
        with self.transaction() as db:
            table = db.table(STORES)
            cond = (q.cluster == cluster) & (q.name == name)
            if not table.contains(cond):
                return None
            table.update(fields, cond)
            return Store.from_record(table.get(cond))

    def remove_store(self, cluster: str, name: str) -> bool:
        from tinydb import Query

        q = Query()
        with self.transaction() as db:
            return bool(db.table(STORES).remove((q.cluster == cluster) & (q.name == name)))

    def upsert_stores(self, cluster: str, stores: list[Store], remove: list[str] = ()) -> None:
        """Many records in one locked write (store list --refresh): one fsync, not one per store."""
        from tinydb import Query

        q = Query()
        with self.transaction() as db:
            table = db.table(STORES)
            for store in stores:
                record = {k: v for k, v in store.to_json().items() if k != "id"}
                table.upsert(record, (q.cluster == store.cluster) & (q.name == store.name))
            for name in remove:
                table.remove((q.cluster == cluster) & (q.name == name))

    def replace_cluster_stores(self, cluster: str, stores: list[Store]) -> None:
        """For `store sync`: the cluster's view replaces every record of that cluster at once."""
        from tinydb import Query

        q = Query()
        with self.transaction() as db:
            table = db.table(STORES)
            table.remove(q.cluster == cluster)
            table.insert_multiple([{k: v for k, v in s.to_json().items() if k != "id"} for s in stores])

    # -- clusters ------------------------------------------------------------------------------
    def put_cluster(self, name: str, context: str, **fields) -> None:
        from tinydb import Query

        q = Query()
        with self.transaction() as db:
            db.table(CLUSTERS).upsert({"name": name, "context": context, **fields}, q.name == name)

    def remove_cluster(self, name: str, context: str) -> int:
        """Forget a deleted cluster and its stores; returns how many store records went with it."""
        from tinydb import Query

        q = Query()
        with self.transaction() as db:
            db.table(CLUSTERS).remove(q.name == name)
            return len(db.table(STORES).remove(q.cluster == context))

    def get_cluster(self, name: str) -> dict | None:
        for doc in self._read_tables().get(CLUSTERS, {}).values():
            if doc.get("name") == name:
                return doc
        return None
