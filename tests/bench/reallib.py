"""Plumbing for the real-cluster benchmark (tests/bench/real.py): milestones of pods and Jobs seen
by a watch, per-component timelines, the kubelet's resource stats, resource requests, and sizing.

The parsing functions are pure (tests/bench/test_bench_reallib.py runs them on recorded objects);
the watcher and the sampler are threads on this process's monotonic clock.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time

from benchlib import ReadinessWatcher, log, median, workload_ready

COMPONENT_LABEL = "app.kubernetes.io/component"


# ------------------------------------------------------------------------------- kind config


def strip_port_mappings(kind_config: str) -> str:
    """The kind config without host ports: another cluster on this machine holds 80/443, and the
    benchmark only talks to the API (never through the ingress)."""
    import yaml

    doc = yaml.safe_load(kind_config) or {}
    for node in doc.get("nodes") or []:
        node.pop("extraPortMappings", None)
    return yaml.safe_dump(doc, sort_keys=False)


# ------------------------------------------------------------------------------- milestones


def _cond(obj: dict, kind: str) -> dict | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def _true(obj: dict, kind: str) -> bool:
    c = _cond(obj, kind)
    return bool(c) and c.get("status") == "True"


def component_of(obj: dict) -> str:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(COMPONENT_LABEL) or "?"


def pod_milestones(pod: dict | None) -> list[str]:
    """What a pod has reached, in the order it reaches it. A milestone is a string, so the watcher
    records the moment a new one first appears (a set difference between two states)."""
    if not pod:
        return []
    out = ["created"]
    status = pod.get("status") or {}
    sched = _cond(pod, "PodScheduled")
    if sched and sched.get("status") == "True":
        out.append("scheduled")
    elif sched and sched.get("reason") == "Unschedulable":
        out.append(f"unschedulable: {sched.get('message', '').strip()}")
    for prefix, key in (("init ", "initContainerStatuses"), ("", "containerStatuses")):
        for cs in status.get(key) or []:
            name = f"{prefix}{cs['name']}"
            state = cs.get("state") or {}
            waiting = (state.get("waiting") or {}).get("reason")
            if waiting in ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "CreateContainerConfigError"):
                out.append(f"{name} {waiting}")
            if "running" in state or "terminated" in state or cs.get("restartCount"):
                out.append(f"{name} started")
            if not prefix and cs.get("started") and "running" in state:
                out.append(f"{name} startup probe passed")
            if cs.get("ready") and not prefix:
                out.append(f"{name} ready")
            term = state.get("terminated") or (cs.get("lastState") or {}).get("terminated")
            if term:
                out.append(f"{name} exited {term.get('exitCode')}")
            if cs.get("restartCount"):
                out.append(f"{name} restarts {cs['restartCount']}")
    if _true(pod, "Initialized"):
        out.append("initialized")
    if _true(pod, "Ready"):
        out.append("ready")
    if status.get("phase") in ("Succeeded", "Failed"):
        out.append(status["phase"].lower())
    return out


def job_milestones(job: dict | None) -> list[str]:
    if not job:
        return []
    status = job.get("status") or {}
    out = ["created"]
    if status.get("startTime"):
        out.append("started")
    if status.get("failed"):
        out.append(f"pods failed {status['failed']}")
    for kind in ("FailureTarget", "Failed", "SuccessCriteriaMet", "Complete"):
        if _true(job, kind):
            out.append(kind)
    return out


def workload_milestones(kind: str, obj: dict | None) -> list[str]:
    if not obj:
        return []
    return ["created"] + (["ready"] if workload_ready(kind, obj) else [])


MILESTONES = {"Pod": pod_milestones, "Job": job_milestones}


def milestones(kind: str, obj: dict | None) -> list[str]:
    fn = MILESTONES.get(kind)
    return fn(obj) if fn else workload_milestones(kind, obj)


def job_failed(job: dict) -> bool:
    """Failed, or FailureTarget (Kubernetes 1.31+ sets it first, once the Job is decided failed)."""
    return _true(job, "Failed") or _true(job, "FailureTarget")


class StoreWatcher(ReadinessWatcher):
    """ReadinessWatcher plus Pods, recording when each pod, Job and workload first reaches each
    milestone (the arrival of the event that shows it), and two ends of a store's creation:
    `ready_since` (every workload ready, the Job complete) and `failed_since` (a Job failed, i.e.
    the WooCommerce setup that cannot download here), plus `components_ready_since` (every
    Deployment and StatefulSet ready, Jobs ignored)."""

    kinds = ("Deployment", "StatefulSet", "Job", "Pod")

    def __init__(self, api_client, namespace: str, expected: dict[str, int]):
        super().__init__(api_client, namespace, expected)
        self.records: list[dict] = []  # {t, kind, name, component, milestone}
        self.failed_since: float | None = None
        self.components_ready_since: float | None = None

    def _changed(self, kind, old, new, arrived):
        if new is None:
            return
        seen = set(milestones(kind, old))
        for m in milestones(kind, new):
            if m not in seen:
                seen.add(m)
                self.records.append({"t": arrived, "kind": kind, "name": new["metadata"]["name"],
                                     "component": component_of(new), "milestone": m})

    def _evaluate(self, arrived=None):
        super()._evaluate(arrived)
        now = arrived if arrived is not None else time.monotonic()
        if self.failed_since is None and any(job_failed(j) for j in self.objects["Job"].values()):
            self.failed_since = now
        kinds = ("Deployment", "StatefulSet")
        ok = all(len(self.objects[k]) >= self.expected.get(k, 0) for k in kinds) and all(
            workload_ready(k, o) for k in kinds for o in self.objects[k].values())
        if not ok:
            self.components_ready_since = None
        elif self.components_ready_since is None:
            self.components_ready_since = now


def first(records: list[dict], *, component: str | None = None, kind: str | None = None,
          milestone: str | None = None, prefix: str | None = None) -> float | None:
    """The earliest record matching all the given fields (milestone exact, or by prefix)."""
    times = [r["t"] for r in records
             if (component is None or r["component"] == component) and (kind is None or r["kind"] == kind)
             and (milestone is None or r["milestone"] == milestone)
             and (prefix is None or r["milestone"].startswith(prefix))]
    return min(times) if times else None


def setup_pod_started(records: list[dict]) -> float | None:
    """The first container (init containers included) of the first setup pod running."""
    times = [r["t"] for r in records if r["kind"] == "Pod" and r["component"] == "setup"
             and r["milestone"].endswith(" started")]
    return min(times) if times else None


def timeline(records: list[dict], t0: float) -> dict[str, list[tuple[float, str, str]]]:
    """Per component, its objects' milestones in time order, relative to t0 (the command's start):
    {component: [(seconds, "Pod web-abc", "init wordpress-core started"), ...]}."""
    out: dict[str, list[tuple[float, str, str]]] = {}
    for r in sorted(records, key=lambda r: r["t"]):
        if r["milestone"] == "created" and r["kind"] != "Pod":
            continue
        out.setdefault(r["component"], []).append((round(r["t"] - t0, 2), f"{r['kind']} {r['name']}", r["milestone"]))
    return out


def format_timeline(tl: dict[str, list[tuple[float, str, str]]], order=("database", "cache", "web", "setup")) -> str:
    lines = []
    for comp in sorted(tl, key=lambda c: (order.index(c) if c in order else 99, c)):
        lines.append(f"  {comp}:")
        for t, obj, m in tl[comp]:
            lines.append(f"    {t:8.2f} s  {obj:<44} {m}")
    return "\n".join(lines)


def probe_waits(records: list[dict]) -> dict[str, float]:
    """Per container, seconds from its start to its first readiness (the probes' share): what
    probe timings could shorten. Key "component/container"."""
    out = {}
    for r in records:
        if r["kind"] != "Pod" or not r["milestone"].endswith(" ready") or r["milestone"].startswith("init "):
            continue
        cname = r["milestone"][: -len(" ready")]
        start = first([x for x in records if x["name"] == r["name"]], milestone=f"{cname} started")
        if start is not None:
            out.setdefault(f"{r['component']}/{cname}", round(r["t"] - start, 2))
    return out


# ---------------------------------------------------------------------------------- quantities

_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "": 1}


def cpu_millis(q: str | int | float | None) -> float:
    if q is None:
        return 0.0
    s = str(q)
    if s.endswith("m"):
        return float(s[:-1])
    if s.endswith("n"):
        return float(s[:-1]) / 1e6
    return float(s) * 1000


def mem_bytes(q: str | int | float | None) -> float:
    if q is None:
        return 0.0
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(q))
    if not m or m.group(2) not in _UNITS:
        raise ValueError(f"unknown memory quantity {q!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def pod_requests(pod: dict) -> dict[str, float]:
    """The pod's effective requests and limits as the scheduler and the quota count them: the
    larger of the biggest init container and the sum of the app containers. cpu in millicores,
    memory in MiB."""
    spec = pod.get("spec") or {}
    out = {}
    for section in ("requests", "limits"):
        for res, conv in (("cpu", cpu_millis), ("memory", lambda q: mem_bytes(q) / 2**20)):
            apps = sum(conv(((c.get("resources") or {}).get(section) or {}).get(res)) for c in spec.get("containers") or [])
            inits = [conv(((c.get("resources") or {}).get(section) or {}).get(res)) for c in spec.get("initContainers") or []]
            out[f"{section}.{res}"] = max([apps, *inits])
    return out


# ----------------------------------------------------------------------------- kubelet stats


def parse_summary(summary: dict) -> dict:
    """/api/v1/nodes/<node>/proxy/stats/summary -> {"node": {cpu_m, mem_mib}, "pods": {"ns/pod":
    {cpu_m, mem_mib, containers: {name: {cpu_m, mem_mib}}}}}. Memory is the working set (what the
    kubelet evicts on and the OOM limit compares with); CPU the kubelet's recent usage rate."""
    def cpu(x):
        return ((x or {}).get("cpu") or {}).get("usageNanoCores", 0) / 1e6

    def mem(x):
        return ((x or {}).get("memory") or {}).get("workingSetBytes", 0) / 2**20

    node = summary.get("node") or {}
    pods = {}
    for p in summary.get("pods") or []:
        ref = p.get("podRef") or {}
        containers = {c["name"]: {"cpu_m": cpu(c), "mem_mib": mem(c)} for c in p.get("containers") or []}
        pods[f"{ref.get('namespace')}/{ref.get('name')}"] = {
            "cpu_m": sum(c["cpu_m"] for c in containers.values()),
            "mem_mib": sum(c["mem_mib"] for c in containers.values()), "containers": containers}
    return {"node": {"cpu_m": cpu(node), "mem_mib": mem(node),
                     "mem_available_mib": ((node.get("memory") or {}).get("availableBytes") or 0) / 2**20},
            "pods": pods}


def by_component(samples: list[dict], namespace: str, components: dict[str, str], t_from: float,
                 t_to: float) -> dict[str, dict]:
    """Per component of one namespace, over the samples taken in [t_from, t_to]: peak and median
    of the component's summed working set (MiB) and CPU (millicores). `components` maps pod name
    to component (pods of a component that come and go, such as Job retries, are summed per
    sample)."""
    per: dict[str, list[tuple[float, float]]] = {}
    for s in samples:
        if not t_from <= s["t"] <= t_to:
            continue
        sums: dict[str, list[float]] = {}
        for key, p in s["pods"].items():
            ns, _, pod = key.partition("/")
            if ns != namespace:
                continue
            comp = components.get(pod, "?")
            acc = sums.setdefault(comp, [0.0, 0.0])
            acc[0] += p["mem_mib"]
            acc[1] += p["cpu_m"]
        for comp, (m, c) in sums.items():
            per.setdefault(comp, []).append((m, c))
    out = {}
    for comp, vals in per.items():
        out[comp] = {"samples": len(vals), "mem_peak_mib": max(v[0] for v in vals),
                     "mem_median_mib": median(v[0] for v in vals), "cpu_peak_m": max(v[1] for v in vals),
                     "cpu_median_m": median(v[1] for v in vals)}
    return out


def namespace_totals(sample: dict, prefixes: tuple[str, ...]) -> dict[str, dict]:
    """{namespace: {mem_mib, cpu_m}} of one sample, for namespaces starting with a prefix."""
    out: dict[str, dict] = {}
    for key, p in sample["pods"].items():
        ns = key.partition("/")[0]
        if ns.startswith(prefixes):
            acc = out.setdefault(ns, {"mem_mib": 0.0, "cpu_m": 0.0})
            acc["mem_mib"] += p["mem_mib"]
            acc["cpu_m"] += p["cpu_m"]
    return out


class StatsSampler:
    """Polls the kubelet's stats summary every `interval` seconds in a thread."""

    def __init__(self, api_client, node: str, interval: float = 2.0):
        self.api = api_client
        self.node = node
        self.interval = interval
        self.samples: list[dict] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "StatsSampler":
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def fetch(self) -> dict:
        import urllib3

        # The client's pool (TLS and client certificate set up) with a plain path: the generated
        # proxy method would escape the "/" of "stats/summary".
        headers = {"Accept": "application/json"}
        for auth in self.api.configuration.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[auth["key"]] = auth["value"]
        resp = self.api.rest_client.pool_manager.request(
            "GET", f"{self.api.configuration.host}/api/v1/nodes/{self.node}/proxy/stats/summary",
            headers=headers, timeout=urllib3.Timeout(connect=5, read=20))
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {resp.data[:200]!r}")
        return json.loads(resp.data)

    def _loop(self) -> None:
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                s = parse_summary(self.fetch())
                s["t"] = t
                self.samples.append(s)
            except Exception as err:  # keep sampling; the report says how many samples failed
                if len(self.errors) < 20:
                    self.errors.append(f"{type(err).__name__}: {err}")
                    log(f"stats sample failed: {err}")
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - t)))


# ------------------------------------------------------------------------------------ sizing


def round_up(x: float, step: float) -> float:
    return math.ceil(x / step) * step if x > 0 else step


def recommend(measured: dict[str, dict], *, rest_headroom: float = 1.5, peak_headroom: float = 1.5,
              cpu_floor_m: float = 25) -> dict[str, dict]:
    """Requests from what a component uses at rest, limits from its peak during setup:
    memory request = rest working set x rest_headroom (rounded up to 32 MiB), memory limit = peak
    x peak_headroom (rounded up to 64 MiB, at least the request); CPU request = the larger of the
    median at rest x 2 and cpu_floor_m (rounded up to 25m). `measured` is
    {component: {"rest": by_component row or None, "setup": row or None}}."""
    out = {}
    for comp, m in measured.items():
        rest, setup = m.get("rest") or {}, m.get("setup") or {}
        rest_mem = rest.get("mem_peak_mib") or setup.get("mem_median_mib") or 0
        peak_mem = max(setup.get("mem_peak_mib") or 0, rest_mem)
        req_mem = round_up(rest_mem * rest_headroom, 32)
        lim_mem = max(round_up(peak_mem * peak_headroom, 64), req_mem)
        req_cpu = round_up(max((rest.get("cpu_median_m") or setup.get("cpu_median_m") or 0) * 2, cpu_floor_m), 25)
        out[comp] = {"requests.memory_mib": req_mem, "limits.memory_mib": lim_mem, "requests.cpu_m": req_cpu}
    return out
