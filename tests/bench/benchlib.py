"""Plumbing for tests/bench/run.py: timed subprocesses with per-process peak RSS, statistics,
the control plane's lifecycle, an independent readiness watcher, and -X importtime parsing.

Nothing here asserts on a time: the benchmark reports figures, it never fails on a slow one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTROL_PLANE = REPO / "tests" / "harness" / "control-plane"


class BenchBroken(Exception):
    """The benchmark itself could not measure (a command failed, output was wrong): exit non-zero."""


def log(msg: str) -> None:
    print(f"bench {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ processes

_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


@dataclass
class Run:
    argv: list[str]
    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    maxrss_kb: int  # the process and its reaped descendants (wait4's rusage)
    started: float  # time.monotonic()
    ended: float

    def check(self, what: str) -> "Run":
        if self.returncode != 0:
            tail = (self.stderr or self.stdout).strip()[-1500:]
            raise BenchBroken(f"{what} failed (exit {self.returncode}): {' '.join(self.argv)}\n{tail}")
        return self


def run(argv: list[str], *, env: dict, timeout: float = 600, cwd: Path | None = None) -> Run:
    """Run argv and time it from fork to reaping. os.wait4 gives this child's own rusage, so the
    peak RSS is per command (RUSAGE_CHILDREN would be the maximum over all children so far).
    Output goes to temp files, so nothing reads pipes while the clock runs."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                cwd=cwd or REPO, start_new_session=True)
        with _LIVE_LOCK:
            _LIVE.add(proc)
        timer = threading.Timer(timeout, _kill_group, args=(proc,))
        timer.daemon = True
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            ended = time.monotonic()
        finally:
            timer.cancel()
            with _LIVE_LOCK:
                _LIVE.discard(proc)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode == -signal.SIGKILL or proc.returncode == -signal.SIGTERM:
        stderr += f"\n(bench: killed after {timeout:.0f}s timeout or interrupt)"
    return Run(argv, ended - started, proc.returncode, stdout, stderr, usage.ru_maxrss, started, ended)


def _kill_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def stop_children() -> None:
    """Ctrl-C/SIGTERM: children run in their own sessions (so a terminal's SIGINT does not hit
    them mid-measurement), so stop them explicitly and gracefully (helm must not be SIGKILLed)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    threads = [threading.Thread(target=_kill_group, args=(p,)) for p in live]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# ----------------------------------------------------------------------------------- statistics


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value <= target else "MISS"


# -------------------------------------------------------------------------------- control plane


class ControlPlane:
    """tests/harness/control-plane up/down for one named cluster."""

    def __init__(self, name: str):
        self.name = name
        self.kubeconfig: Path | None = None
        self.context: str | None = None

    def _cmd(self, *args: str) -> list[str]:
        return [sys.executable, str(CONTROL_PLANE), *args, "--name", self.name]

    def up(self) -> None:
        if not CONTROL_PLANE.is_file():
            raise BenchBroken(f"{CONTROL_PLANE} not found")
        # Start from nothing: a cluster left over from an interrupted run holds its stores.
        subprocess.run(self._cmd("down"), capture_output=True, text=True, timeout=180)
        r = subprocess.run(self._cmd("up"), capture_output=True, text=True, timeout=400)
        lines = r.stdout.strip().splitlines()
        if r.returncode != 0 or not lines:
            raise BenchBroken(f"control-plane up --name {self.name} failed (exit {r.returncode}):\n"
                              f"{r.stderr[-4000:]}")
        self.kubeconfig = Path(lines[-1])
        import yaml

        self.context = (yaml.safe_load(self.kubeconfig.read_text()) or {}).get("current-context")
        if not self.context:
            raise BenchBroken(f"{self.kubeconfig} has no current-context")

    def down(self) -> None:
        r = subprocess.run(self._cmd("down"), capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            log(f"control-plane down --name {self.name} failed:\n{r.stderr[-2000:]}")


# ---------------------------------------------------------------------------- readiness watcher

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
WATCH_TIMEOUT_S = 5


def expected_workloads(manifests: str) -> dict[str, int]:
    """How many Deployments/StatefulSets/Jobs a rendered chart creates (hooks excluded)."""
    import yaml

    counts = {kind: 0 for kind in WORKLOAD_KINDS}
    for doc in yaml.safe_load_all(manifests):
        if not isinstance(doc, dict) or doc.get("kind") not in counts:
            continue
        if "helm.sh/hook" in ((doc.get("metadata") or {}).get("annotations") or {}):
            continue
        counts[doc["kind"]] += 1
    return counts


def workload_ready(kind: str, obj: dict) -> bool:
    """Readiness as `kubectl rollout status` / `kubectl wait --for=condition=complete` define it;
    written here independently of urumi_cli.readiness, so the benchmark does not grade urumi
    with urumi's own definition."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Job":
        return any(c.get("type") == "Complete" and c.get("status") == "True" for c in status.get("conditions") or [])
    want = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < meta.get("generation", 0):
        return False
    if kind == "Deployment":
        return status.get("updatedReplicas", 0) == want and status.get("availableReplicas", 0) == want
    return status.get("readyReplicas", 0) == want  # StatefulSet


class ReadinessWatcher:
    """List-then-watch the Deployments, StatefulSets and Jobs of one namespace (which may not exist
    yet) and record, on this process's monotonic clock, when the API last turned the set ready:
    the arrival of the event after which every expected workload is ready."""

    kinds: tuple[str, ...] = WORKLOAD_KINDS  # a subclass may watch more (tests/bench/reallib.py: Pods)

    def __init__(self, api_client, namespace: str, expected: dict[str, int]):
        self.api = api_client
        self.namespace = namespace
        self.expected = expected
        self.objects: dict[str, dict[str, dict]] = {k: {} for k in self.kinds}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ready_since: float | None = None
        self.events = 0
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._loop, args=(k,), daemon=True) for k in self.kinds]
        self.listed = threading.Barrier(len(self.kinds) + 1)

    def __enter__(self) -> "ReadinessWatcher":
        for t in self.threads:
            t.start()
        try:
            self.listed.wait(timeout=30)  # every watch is open before the measured command starts
        except threading.BrokenBarrierError:
            raise BenchBroken(f"readiness watcher could not list {self.namespace}: {self.errors}") from None
        return self

    def __exit__(self, *exc) -> None:
        # Closing a response another thread reads from blocks until that read returns; the
        # threads end by themselves at their next event or within WATCH_TIMEOUT_S.
        self.stop.set()

    def _list_fn(self, kind: str):
        from kubernetes import client

        return {"Deployment": client.AppsV1Api(self.api).list_namespaced_deployment,
                "StatefulSet": client.AppsV1Api(self.api).list_namespaced_stateful_set,
                "Job": client.BatchV1Api(self.api).list_namespaced_job,
                "Pod": client.CoreV1Api(self.api).list_namespaced_pod}[kind]

    def _loop(self, kind: str) -> None:
        from kubernetes.watch.watch import iter_resp_lines

        list_fn = self._list_fn(kind)
        first = True
        while not self.stop.is_set():
            try:
                resp = list_fn(self.namespace, _preload_content=False, _request_timeout=(5, 30))
                data = json.loads(resp.data)
                rv = data["metadata"]["resourceVersion"]
                with self.lock:
                    listed_at = time.monotonic()
                    for o in data.get("items") or []:
                        self._changed(kind, self.objects[kind].get(o["metadata"]["name"]), o, listed_at)
                    self.objects[kind] = {o["metadata"]["name"]: o for o in data.get("items") or []}
                    self._evaluate()
                if first:
                    first = False
                    self.listed.wait(timeout=30)
                while not self.stop.is_set():
                    resp = list_fn(self.namespace, watch=True, resource_version=rv, allow_watch_bookmarks=True,
                                   timeout_seconds=WATCH_TIMEOUT_S, _preload_content=False,
                                   _request_timeout=(5, WATCH_TIMEOUT_S + 10))
                    for line in iter_resp_lines(resp):
                        arrived = time.monotonic()
                        event = json.loads(line)
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":
                            raise RuntimeError(obj.get("message", "watch error"))
                        rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                        if event.get("type") == "BOOKMARK":
                            continue
                        with self.lock:
                            name = obj["metadata"]["name"]
                            self._changed(kind, self.objects[kind].get(name),
                                          None if event["type"] == "DELETED" else obj, arrived)
                            if event["type"] == "DELETED":
                                self.objects[kind].pop(name, None)
                            else:
                                self.objects[kind][name] = obj
                            self.events += 1
                            self._evaluate(arrived)
            except Exception as err:  # re-list and go on; the run's verification catches real trouble
                if self.stop.is_set():
                    return
                self.errors.append(f"{kind}: {type(err).__name__}: {err}")
                if first:
                    self.listed.abort()
                    return
                time.sleep(0.2)

    def _changed(self, kind: str, old: dict | None, new: dict | None, arrived: float) -> None:
        """Called (under the lock) before an object's new state replaces its old one; a hook."""

    def _evaluate(self, arrived: float | None = None) -> None:
        ready = all(len(self.objects[k]) >= n for k, n in self.expected.items()) and all(
            workload_ready(k, o) for k in WORKLOAD_KINDS for o in self.objects[k].values())
        if not ready:
            self.ready_since = None
        elif self.ready_since is None:
            self.ready_since = arrived if arrived is not None else time.monotonic()


def _lines(resp):
    buf = b""
    for chunk in resp.stream(amt=None, decode_content=False):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield line


# ------------------------------------------------------------------------------------ importtime

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")
_STDLIB = set(getattr(sys, "stdlib_module_names", ())) | {"_distutils_hack"}


def import_breakdown(stderr: str) -> dict[str, float]:
    """Self time of every imported module, summed per top-level package (stdlib as one), in ms."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if not m:
            continue
        top = m.group(4).split(".")[0]
        group = "stdlib" if top in _STDLIB or top.startswith("_") and top.lstrip("_") in _STDLIB else top
        totals[group] = totals.get(group, 0.0) + int(m.group(1)) / 1000.0
    return totals


def top_imports(stderr: str, n: int = 8) -> list[tuple[str, float]]:
    """The slowest imports by cumulative time, none nested in another one shown (in ms)."""
    rows = []  # (name, cumulative ms, depth, ancestors)
    pending: dict[int, list[int]] = {}  # depth -> indexes of rows waiting for their parent
    for line in stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if not m:
            continue
        depth = (len(m.group(3)) - 1) // 2
        index = len(rows)
        rows.append([m.group(4), int(m.group(2)) / 1000.0, depth, None])
        for child in pending.pop(depth + 1, []):  # children are printed before their parent
            rows[child][3] = index
        pending.setdefault(depth, []).append(index)

    def ancestors(i):
        while rows[i][3] is not None:
            i = rows[i][3]
            yield i

    picked: list[int] = []
    for i in sorted(range(len(rows)), key=lambda i: -rows[i][1]):
        if not any(a in picked for a in ancestors(i)) and not any(i in set(ancestors(p)) for p in picked):
            picked.append(i)
        if len(picked) == n:
            break
    return [(rows[i][0], round(rows[i][1], 1)) for i in picked]


@dataclass
class Figure:
    """One line of the result table."""

    part: str
    name: str
    value: str
    target: str = ""
    status: str = ""
    extra: dict = field(default_factory=dict)
