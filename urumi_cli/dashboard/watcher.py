"""Keeps the board live: list-then-watch (adapters/watching.py) of the store namespaces and of
the stores' workloads across all namespaces; each burst of changes re-reconciles the stores it
touched, with the same code as `store list --refresh`. A fresh LIST (start, 410 Gone, reconnect)
may have missed changes, so it re-reconciles every store."""

from __future__ import annotations

import threading
import time

from urumi_cli.adapters.watching import ResourceStreams, StreamItem
from urumi_cli.dashboard.board import Board
from urumi_cli.dashboard.fleet import (
    STORE_NAME_LABEL,
    STORE_NAMESPACE_SELECTOR,
    WORKLOAD_RESOURCES,
    WORKLOAD_SELECTOR,
)
from urumi_cli.errors import UrumiError

SELECTORS = {"namespaces": STORE_NAMESPACE_SELECTOR, **{r: WORKLOAD_SELECTOR for r in WORKLOAD_RESOURCES}}
STORE_NAMESPACE_PREFIX = "store-"
DEBOUNCE_S = 0.1  # a burst (a rollout touches pods, replicasets, the deployment) is one refresh
RETRY_S = 2.0


class Watcher:
    def __init__(self, board: Board, source, stop: threading.Event, *, debounce_s: float = DEBOUNCE_S,
                 retry_s: float = RETRY_S):
        self.board = board
        self.source = source
        self.stop = stop
        self.debounce_s = debounce_s
        self.retry_s = retry_s

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="dashboard-watch", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.board.refresh(None)
                with ResourceStreams(self.source, "", SELECTORS) as streams:
                    self._follow(streams)
            except UrumiError as err:
                self.board.set_connection(False, err.message)
            except Exception as err:  # never die silently: say it on the page and try again
                self.board.set_connection(False, f"unexpected {type(err).__name__}: {err}")
            self.stop.wait(self.retry_s)

    def _follow(self, streams: ResourceStreams) -> None:
        while not self.stop.is_set():
            item = streams.get(timeout=0.5)
            if item is None:
                continue
            names: set[str] = set()
            everything = False
            deadline = time.monotonic() + self.debounce_s
            while item is not None:
                if item.kind == "ERROR":
                    self.board.set_connection(False, f"lost the Kubernetes API: {item.error}; retrying")
                    return
                if item.kind == "LIST":
                    everything = True
                else:
                    name = self.store_of(item)
                    if name:
                        names.add(name)
                item = streams.get(timeout=max(0.0, deadline - time.monotonic()))
            if everything:
                self.board.refresh(None)
            elif names:
                self.board.refresh(sorted(names))

    def store_of(self, item: StreamItem) -> str | None:
        meta = (item.obj or {}).get("metadata") or {}
        if item.resource == "namespaces":
            return (meta.get("labels") or {}).get(STORE_NAME_LABEL)
        namespace = meta.get("namespace") or ""
        known = self.board.store_names().get(namespace)
        if known:
            return known
        # A store the board does not know yet (its namespace event may still be in the queue).
        if namespace.startswith(STORE_NAMESPACE_PREFIX):
            return namespace[len(STORE_NAMESPACE_PREFIX):]
        return None
