"""`urumi store logs`: the logs of a store's pods, chosen by their component label.

Without --follow: each started container of each matching pod, one after the other. With
--follow: a list-then-watch of the store's pods decides what to follow, so a container that
restarts (a new run: restartCount grows) and a pod that is replaced (a new uid) are followed as
they start; each container run is read by a thread of its own and their lines merged.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Iterator

from urumi_cli.actions import contract
from urumi_cli.adapters.watching import ResourceStreams, StreamItem
from urumi_cli.errors import ClusterUnreachable, Forbidden, NotFound, UrumiError
from urumi_cli.models import COMPONENT_ORDER, Target
from urumi_cli.readiness import COMPONENT_LABEL, INSTANCE_LABEL, component_of


@dataclass(frozen=True)
class LogOptions:
    name: str
    target: Target
    component: str | None = None  # None: every component
    follow: bool = False
    since_s: float | None = None
    tail: int | None = None  # None: the whole log (of the time window)


@dataclass(frozen=True)
class LogLine:
    pod: str
    container: str
    component: str
    text: str
    # True: `text` says why this container's log cannot be read (the API refused it, e.g. a
    # container that has not started after all); the other containers are still read.
    unreadable: bool = False

    def to_json(self) -> dict:
        return {"pod": self.pod, "container": self.container, "component": self.component, "line": self.text}


def started_containers(pod: dict) -> list[tuple[str, int]]:
    """(container, restart count) of the init and app containers that have a log: running or
    terminated ones (a waiting container has printed nothing yet)."""
    status = pod.get("status") or {}
    found = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            if "running" in state or "terminated" in state:
                found.append((cs.get("name", ""), int(cs.get("restartCount") or 0)))
    return found


def _selector(opts: LogOptions) -> str:
    selector = f"{INSTANCE_LABEL}={opts.name}"
    return f"{selector},{COMPONENT_LABEL}={opts.component}" if opts.component else selector


def _order(pod: dict) -> tuple:
    comp = component_of(pod)
    return (COMPONENT_ORDER.index(comp) if comp in COMPONENT_ORDER else 99,
            pod["metadata"].get("creationTimestamp", ""), pod["metadata"]["name"])


def store_logs(opts: LogOptions, *, kube) -> Iterator[LogLine]:
    contract.require_store_namespace(kube, opts.name, opts.target.context)
    if opts.follow:
        return follow_logs(opts, kube=kube)
    namespace = contract.namespace_for(opts.name)
    pods = sorted(kube.list_objects("pods", namespace, _selector(opts)), key=_order)
    if not pods:
        what = f"component {opts.component}" if opts.component else "any component"
        raise NotFound(f"store {opts.name} has no pods of {what}",
                       f"see its components with `urumi store describe {opts.name}`")
    return _read_all(opts, kube, namespace, pods)


def _read_all(opts: LogOptions, kube, namespace: str, pods: list[dict]) -> Iterator[LogLine]:
    for pod in pods:
        name, comp = pod["metadata"]["name"], component_of(pod)
        for container, _ in started_containers(pod):
            try:
                for text in kube.stream_log(namespace, name, container=container,
                                            since_seconds=_seconds(opts.since_s), tail_lines=opts.tail):
                    yield LogLine(name, container, comp, text)
            except (ClusterUnreachable, Forbidden):
                raise  # nothing else will work either
            except UrumiError as err:
                yield LogLine(name, container, comp, err.message, unreadable=True)


def _seconds(since_s: float | None) -> int | None:
    return max(1, int(since_s + 0.999)) if since_s else None


LOG = "log"  # the StreamItem resource of a log line (pod events and lines share one queue)


def follow_logs(opts: LogOptions, *, kube) -> Iterator[LogLine]:
    """Until the caller stops iterating (Ctrl-C): lines of every matching container run."""
    namespace = contract.namespace_for(opts.name)
    followed: set[tuple[str, str, int]] = set()  # (pod uid, container, restart count)
    first_listing = True
    with ResourceStreams(kube, namespace, {"pods": _selector(opts)}) as streams:
        while True:
            item = streams.get(timeout=1.0)
            if item is None:
                continue
            if item.resource == LOG:
                yield item.obj
                continue
            if item.kind == "ERROR":
                raise ClusterUnreachable(f"lost the Kubernetes API while following logs: {item.error}",
                                         "check the cluster with `urumi cluster status`, then re-run")
            pods = item.obj if item.kind == "LIST" else [item.obj] if item.kind in ("ADDED", "MODIFIED") else []
            for pod in sorted(pods, key=_order):
                for container, restarts in started_containers(pod):
                    key = (pod["metadata"].get("uid", ""), container, restarts)
                    if key in followed:
                        continue
                    followed.add(key)
                    # What ran before urumi was asked honours --since/--tail; a run that starts
                    # while following (a restart, a new pod) is shown from its first line.
                    window = first_listing
                    thread = threading.Thread(
                        target=_follow_one, daemon=True, name=f"log-{pod['metadata']['name']}-{container}",
                        args=(kube, namespace, pod, container, streams.queue, streams.stop,
                              _seconds(opts.since_s) if window else None, opts.tail if window else None))
                    thread.start()
            if item.kind == "LIST":
                first_listing = False


def _follow_one(kube, namespace: str, pod: dict, container: str, out: "queue.Queue[StreamItem]",
                stop: threading.Event, since_seconds: int | None, tail_lines: int | None) -> None:
    name, comp = pod["metadata"]["name"], component_of(pod)
    try:
        for text in kube.stream_log(namespace, name, container=container, follow=True, since_seconds=since_seconds,
                                    tail_lines=tail_lines):
            if stop.is_set():
                return
            out.put(StreamItem(LOG, "LINE", LogLine(name, container, comp, text)))
    except (ClusterUnreachable, Forbidden, NotFound):
        return  # the pod went away (or the API did): the pod watch says what comes next
    except UrumiError as err:
        out.put(StreamItem(LOG, "LINE", LogLine(name, container, comp, err.message, unreadable=True)))
