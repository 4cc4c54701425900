"""What the server pushes to pages: a publish/subscribe hub for Server-Sent Events, and a progress
reporter with the terminal reporters' interface (step/done/components/close) that publishes the
same lines to the page instead of printing them."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from dataclasses import dataclass, field

from urumi_cli.models import ComponentState

SUBSCRIBER_BACKLOG = 1000  # a page that stops reading is dropped, never allowed to grow memory


class Hub:
    """Fan-out of (event, data) to every connected page. publish never blocks."""

    def __init__(self):
        self._lock = threading.Lock()
        self._subscribers: list[queue.Queue] = []
        self.closed = threading.Event()

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=SUBSCRIBER_BACKLOG)
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def publish(self, event: str, data: dict) -> None:
        with self._lock:
            targets = list(self._subscribers)
        for q in targets:
            try:
                q.put_nowait((event, data))
            except queue.Full:  # that page stopped reading: drop it (EventSource reconnects, fresh state)
                self.unsubscribe(q)

    def subscribed(self, q: queue.Queue) -> bool:
        with self._lock:
            return q in self._subscribers

    def close(self) -> None:
        self.closed.set()


_ids = itertools.count(1)


@dataclass
class Operation:
    """One create or delete started from the page, as the page shows it."""

    kind: str  # "create" or "delete"
    store: str
    store_type: str = ""
    id: int = field(default_factory=lambda: next(_ids))
    state: str = "running"  # running, ok, failed
    steps: dict = field(default_factory=dict)  # key -> {"state": run|ok|fail, "text": ...}
    components: list = field(default_factory=list)
    error: dict | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "store": self.store, "type": self.store_type,
                "state": self.state, "steps": [{"key": k, **v} for k, v in self.steps.items()],
                "components": list(self.components), "error": self.error, "started": self.started,
                "finished": self.finished}


def component_line(state: ComponentState) -> dict:
    """The terminal's component line (LogReporter: `database  ready: 1/1 ready`) as data."""
    mark = "ready" if state.ready else ("failed" if state.failed else "waiting")
    return {"name": state.name, "state": mark, "detail": state.failed or state.detail}


class WebReporter:
    """Implements ui.progress.Reporter for one Operation; every change is published."""

    def __init__(self, op: Operation, publish):
        self.op = op
        self._publish = publish
        self._lock = threading.Lock()

    def _changed(self) -> None:
        self._publish(self.op)

    def step(self, key: str, text: str) -> None:
        with self._lock:
            self.op.steps[key] = {"state": "run", "text": text}
        self._changed()

    def done(self, key: str, text: str | None = None, ok: bool = True) -> None:
        with self._lock:
            old = self.op.steps.get(key, {}).get("text", key)
            self.op.steps[key] = {"state": "ok" if ok else "fail", "text": text or old}
        self._changed()

    def components(self, states: list[ComponentState]) -> None:
        lines = [component_line(s) for s in states]
        with self._lock:
            if lines == self.op.components:
                return
            self.op.components = lines
        self._changed()

    def close(self) -> None:
        with self._lock:
            for step in self.op.steps.values():  # a step still running when the action ended did not make it
                if step["state"] == "run" and self.op.state == "failed":
                    step["state"] = "fail"
        self._changed()
