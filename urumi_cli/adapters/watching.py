"""List-then-watch streams, merged into one queue: the waiting loop's view of a cluster.

Never talks HTTP itself: it drives any ResourceSource (KubeClient, or a scripted fake in tests).
Follows kopf: list, then watch from the list's resourceVersion with a short server timeout; on
410 Gone, a read timeout or a dropped connection, list again, until the consumer stops it.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Iterator, Protocol

WATCH_SERVER_TIMEOUT_S = 30
MAX_CONSECUTIVE_FAILURES = 5


class Gone(Exception):
    """410: the resourceVersion is too old; list again."""


class TransientApiError(Exception):
    """A dropped connection or timeout: worth a bounded retry."""


class ApiDenied(Exception):
    pass


class ResourceSource(Protocol):
    """What the watch loop needs from a cluster; KubeClient is the real one, tests script a fake."""

    def list(self, resource: str, namespace: str, selector: str | None) -> tuple[list[dict], str]: ...

    def watch(self, resource: str, namespace: str, selector: str | None, resource_version: str,
              timeout_s: int) -> Iterator[tuple[str, dict]]: ...


@dataclass
class StreamItem:
    resource: str
    kind: str  # "LIST" (a fresh full list), "ADDED", "MODIFIED", "DELETED", "ERROR"
    obj: dict | list | None = None
    error: Exception | None = None


def list_then_watch(source: ResourceSource, resource: str, namespace: str, selector: str | None,
                    out: "queue.Queue[StreamItem]", stop: threading.Event,
                    backoff_s: float = 0.5) -> None:
    """Feed `out` until `stop` is set. A fresh LIST replaces what the consumer knew of `resource`."""
    failures = 0
    resource_version = None
    while not stop.is_set():
        try:
            if resource_version is None:
                items, resource_version = source.list(resource, namespace, selector)
                out.put(StreamItem(resource, "LIST", items))
            for kind, obj in source.watch(resource, namespace, selector, resource_version, WATCH_SERVER_TIMEOUT_S):
                if stop.is_set():
                    return
                failures = 0
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if rv:
                    resource_version = rv
                if kind != "BOOKMARK":
                    out.put(StreamItem(resource, kind, obj))
            # The server ended the watch (its timeout): resume from the last resourceVersion.
        except Gone:
            resource_version = None  # re-list
        except TransientApiError as err:
            failures += 1
            resource_version = None
            if failures >= MAX_CONSECUTIVE_FAILURES:
                out.put(StreamItem(resource, "ERROR", error=err))
                return
            stop.wait(min(backoff_s * 2 ** (failures - 1), 5.0))
        except ApiDenied as err:
            out.put(StreamItem(resource, "ERROR", error=err))
            return
        except Exception as err:  # never die silently in a thread: the consumer decides
            out.put(StreamItem(resource, "ERROR", error=err))
            return


class ResourceStreams:
    """One list-then-watch thread per resource type in one namespace, merged into one queue."""

    def __init__(self, source: ResourceSource, namespace: str, selectors: dict[str, str | None]):
        self.queue: "queue.Queue[StreamItem]" = queue.Queue()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=list_then_watch, name=f"watch-{res}", daemon=True,
                             args=(source, res, namespace, sel, self.queue, self.stop))
            for res, sel in selectors.items()
        ]

    def __enter__(self) -> "ResourceStreams":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()  # daemon threads end at their next event or server timeout

    def get(self, timeout: float) -> StreamItem | None:
        try:
            return self.queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
