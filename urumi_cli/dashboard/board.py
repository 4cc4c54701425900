"""The dashboard's state: the stores as last reconciled with the cluster, the creates and deletes
started from the page, and whether the cluster answers. Every change is published to the pages.

Handlers and the watcher call it from many threads; reconciliation itself is serialised.
"""

from __future__ import annotations

import threading

from urumi_cli.dashboard.fleet import Fleet, validate_create, validate_name
from urumi_cli.dashboard.live import Hub, Operation, WebReporter
from urumi_cli.errors import Conflict, UrumiError, UsageError

KEEP_FINISHED_OPS = 20


def error_json(err: Exception) -> dict:
    """What the CLI prints for an error (`error: <message> (hint: <hint>)` + details), as data."""
    if isinstance(err, UrumiError):
        return {"message": err.message, "hint": err.hint, "details": err.details}
    return {"message": f"unexpected {type(err).__name__}: {err}",
            "hint": "run `urumi dashboard --debug` and report it", "details": None}


class Board:
    def __init__(self, fleet: Fleet, hub: Hub):
        self.fleet = fleet
        self.hub = hub
        self._lock = threading.RLock()
        self._refresh_lock = threading.Lock()
        self._stores: dict[str, dict] = {}
        self._ops: dict[int, Operation] = {}
        self.connection = {"ok": False, "message": f"connecting to {fleet.cluster}"}
        self.notes: list[str] = []

    # -- what pages see ------------------------------------------------------------------------
    def stores_json(self) -> list[dict]:
        with self._lock:
            mine = [{**s, "live": True} for _, s in sorted(self._stores.items())]
        try:
            others = [{**s.to_json(), "live": False} for s in self.fleet.other_clusters()]
        except UrumiError:
            others = []
        return mine + sorted(others, key=lambda s: (s["cluster"], s["name"]))

    def state(self) -> dict:
        with self._lock:
            ops = [op.to_json() for op in self._ops.values()]
            connection = dict(self.connection)
        return {"context": self.fleet.cluster, "all_clusters": self.fleet.all_clusters,
                "stores": self.stores_json(), "ops": ops, "connection": connection}

    def store_names(self) -> dict[str, str]:
        """namespace -> store name, of the stores known now."""
        with self._lock:
            return {s["namespace"]: name for name, s in self._stores.items()}

    # -- reconciliation ------------------------------------------------------------------------
    def refresh(self, names: list[str] | None = None) -> None:
        """Re-read the cluster (every store, or just `names`) and publish what changed. Raises
        the action's UrumiError when the cluster cannot be read."""
        with self._refresh_lock:
            stores, notes = self.fleet.refresh(sorted(names) if names is not None else None)
            with self._lock:
                before = dict(self._stores)
                if names is None:
                    self._stores = {}
                for name in names or ():
                    self._stores.pop(name, None)
                self._stores.update({s.name: s.to_json() for s in stores})
                changed = before != self._stores
                self.notes = (self.notes + notes)[-50:]
        self.set_connection(True, "")
        if changed:
            self.hub.publish("stores", {"stores": self.stores_json()})

    def set_connection(self, ok: bool, message: str) -> None:
        with self._lock:
            new = {"ok": ok, "message": message}
            if new == self.connection:
                return
            self.connection = new
        self.hub.publish("connection", new)

    # -- operations ----------------------------------------------------------------------------
    def _running(self, name: str) -> Operation | None:
        with self._lock:
            return next((op for op in self._ops.values() if op.store == name and op.state == "running"), None)

    def _start(self, op: Operation, work) -> Operation:
        with self._lock:
            busy = self._running(op.store)
            if busy is not None:
                raise Conflict(f"store {op.store} is already being {'created' if busy.kind == 'create' else 'deleted'}"
                               " from this dashboard", "wait for it to finish")
            self._ops[op.id] = op
            finished = [i for i, o in self._ops.items() if o.state != "running"]
            for old in finished[:-KEEP_FINISHED_OPS]:
                del self._ops[old]
        reporter = WebReporter(op, self._publish_op)
        threading.Thread(target=self._run, args=(op, work, reporter), name=f"{op.kind}-{op.store}",
                         daemon=True).start()
        self._publish_op(op)
        return op

    def _run(self, op: Operation, work, reporter: WebReporter) -> None:
        import time

        try:
            work(reporter)
            op.state = "ok"
        except BaseException as err:  # a thread must report, never die silently
            op.state, op.error = "failed", error_json(err)
        finally:
            op.finished = time.time()
            reporter.close()
        try:
            self.refresh([op.store])
        except UrumiError:
            pass  # the watcher reports a lost cluster

    def _publish_op(self, op: Operation) -> None:
        self.hub.publish("op", op.to_json())

    def start_create(self, name: str, store_type: str) -> Operation:
        name, kind = validate_create(name, store_type)  # UsageError: the CLI's message
        op = Operation("create", name, kind)
        return self._start(op, lambda reporter: self.fleet.create(name, kind, reporter=reporter))

    def start_delete(self, name: str, confirm: str) -> Operation:
        name = validate_name(name)
        if confirm != name:
            raise UsageError(f"confirmation {confirm!r} does not match store name {name!r}",
                             "type the store's name exactly to delete it")
        op = Operation("delete", name)
        return self._start(op, lambda reporter: self.fleet.delete(name, reporter=reporter))

    def running(self) -> list[Operation]:
        with self._lock:
            return [op for op in self._ops.values() if op.state == "running"]
