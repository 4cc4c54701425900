"""`tests/bench/run.py --real`: the benchmark on a real kind cluster with real containers.

Parts (`--only`, repeatable; in this order):

  cluster      `urumi cluster up` of a new cluster (the node image carries the cluster's own
               images), a second (no-op) `up`, `urumi cluster load-images` of the store images
  woocommerce  paired, alternating `urumi store create` / `helm install --wait --wait-for-jobs`
               up to where our network allows: the setup Job downloads WooCommerce from
               wordpress.org, which the cluster's DNS cannot resolve, so the Job fails; measured:
               create -> setup pod started, web/database ready, the Job's duration to its failure,
               the Job's failure -> the command's exit
  medusa       the same pairs for Medusa, whose setup Job installs from registry.npmjs.org
  density      WooCommerce stores one after the other until one is not admitted (or the cap)

Every create also records a timeline of its pods and Jobs (a watch of their states) and the
kubelet's stats (memory, CPU per container), from which the resources part is computed.

The cluster is `urumi-bench`, without host ports (the kind config of kind-images minus its
extraPortMappings), with the real-cluster tests' DNS restriction. It is deleted at the end unless
--keep-cluster; an existing `urumi-bench` is reused (then `cluster up` is not timed).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from benchlib import REPO, BenchBroken, Figure, expected_workloads, log, median, ratio, run, verdict
from reallib import (
    StatsSampler,
    StoreWatcher,
    by_component,
    first,
    format_timeline,
    namespace_totals,
    pod_requests,
    probe_waits,
    recommend,
    setup_pod_started,
    strip_port_mappings,
    timeline,
)
from run import Bench

CLUSTER = "urumi-bench"
PARTS = ("cluster", "woocommerce", "medusa", "density")
TARGETS = {"real_ratio": 1.05, "end_to_exit_s": 0.5}
TIMEOUTS = {"woocommerce": 600, "medusa": 1800}
DENSITY_CAP = 8
DENSITY_TIMEOUT_S = 240
REST_S = 45  # at-rest sampling after a store's end (the kubelet's CPU rate trails by ~10-15 s)
# The real-cluster tests' DNS: cluster names and the npm registry only (see the file's comment).
COREFILE = (REPO / "tests" / "harness" / "coredns" / "Corefile").read_text()
# What the WooCommerce setup's failure looks like here (the download, not anything else).
WOO_EXPECTED_FAILURE = "could not resolve host: downloads.wordpress.org"


def read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip().strip('"')
    return out


class RealBench(Bench):
    def __init__(self, args):
        super().__init__(args)
        env_file = Path(os.environ.get("URUMI_KIND_IMAGES_ENV") or self.testbin / "kind-images.env")
        if not env_file.is_file():
            raise BenchBroken(f"{env_file} missing: build the images first (make kind-images)")
        self.settings = read_env_file(env_file)
        self.settings.update({k: os.environ[k] for k in self.settings if os.environ.get(k)})
        # This checkout's ingress chart (the env file names the checkout that built the images).
        self.settings["URUMI_INGRESS_CHART"] = str(REPO / "tests" / "harness" / "ingress" / "traefik")
        self.base_env["DOCKER_HOST"] = self.settings["DOCKER_HOST"]
        self.state = REPO / "bench-results" / "real-state"
        self.state.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = self.state / f"{CLUSTER}.kubeconfig"
        self.context = f"kind-{CLUSTER}"
        self.api = None
        self.sampler: StatsSampler | None = None
        self.made_cluster = False
        self.home = self.tmp / "real-home"
        self.results["real"] = self.real = {"cluster": CLUSTER, "settings": self.settings, "runs": []}

    # -- plumbing ------------------------------------------------------------------------------
    def kube_args(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig), "--context", self.context]

    def helm_kube_args(self) -> list[str]:
        return ["--kube-context", self.context, "--kubeconfig", str(self.kubeconfig)]

    def kubectl(self, *args: str, check: bool = True, timeout: float = 300, input_text: str | None = None):
        argv = [str(self.testbin / "kubectl"), f"--kubeconfig={self.kubeconfig}", f"--context={self.context}", *args]
        r = subprocess.run(argv, capture_output=True, text=True, env=self.base_env, timeout=timeout, input=input_text)
        if check and r.returncode != 0:
            raise BenchBroken(f"kubectl {' '.join(args)} failed: {r.stderr.strip()[-1000:]}")
        return r

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def kind(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.testbin / "kind"), *args], capture_output=True, text=True,
                              env=self.base_env, timeout=timeout)

    def urumi_env(self) -> dict:
        return self.env(self.home)

    def values_file(self, store_type: str) -> str:
        return self.settings[f"URUMI_VALUES_{store_type.upper()}"]

    def store_images(self) -> list[str]:
        import yaml

        images = []
        for t in ("woocommerce", "medusa"):
            for part in (yaml.safe_load(Path(self.values_file(t)).read_text()) or {}).values():
                image = part.get("image") if isinstance(part, dict) else None
                if image and image.get("repository"):
                    ref = f"{image['repository']}:{image['tag']}"
                    if ref not in images:
                        images.append(ref)
        return images

    def check_tools(self, need_cluster: bool = True) -> None:
        super().check_tools(need_cluster=False)
        missing = [t for t in ("helm", "kubectl", "kind") if not os.access(self.testbin / t, os.X_OK)]
        missing += [k for k in ("DOCKER_HOST", "URUMI_NODE_IMAGE", "URUMI_KIND_CONFIG", "URUMI_VALUES_WOOCOMMERCE",
                                "URUMI_VALUES_MEDUSA") if not self.settings.get(k)]
        if missing:
            raise BenchBroken(f"missing: {', '.join(missing)} (make testbin kind-images)")
        r = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], env=self.base_env,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise BenchBroken(f"no Docker engine at {self.settings['DOCKER_HOST']}: {r.stderr.strip()[-300:]}")

    # -- cluster -------------------------------------------------------------------------------
    def cluster(self) -> None:
        out = self.real.setdefault("cluster_up", {})
        exists = CLUSTER in self.kind("get", "clusters", timeout=60).stdout.split()
        env = self.urumi_env()
        if exists:
            log(f"cluster {CLUSTER} exists: reusing it (cluster up not timed)")
            r = self.kind("export", "kubeconfig", "--name", CLUSTER, "--kubeconfig", str(self.kubeconfig))
            if r.returncode != 0:
                raise BenchBroken(f"kind export kubeconfig failed: {r.stderr[-500:]}")
            out["reused"] = True
            self.add(Figure("real-cluster", "urumi cluster up (new cluster)", "not measured: cluster reused"))
        else:
            config = self.state / "kind-config.yaml"
            config.write_text(strip_port_mappings(Path(self.settings["URUMI_KIND_CONFIG"]).read_text()))
            up = [str(self.urumi), "cluster", "up", "--name", CLUSTER, "--kubeconfig", str(self.kubeconfig),
                  "--image", self.settings["URUMI_NODE_IMAGE"], "--config", str(config),
                  "--ingress-chart", self.settings["URUMI_INGRESS_CHART"], "-o", "json"]
            log(f"cluster up {CLUSTER} (node image {self.settings['URUMI_NODE_IMAGE']})")
            self.made_cluster = True  # deleted at the end even if `up` fails half-way
            r = run(up, env=env, timeout=900).check("urumi cluster up")
            again = run(up, env=env, timeout=300).check("urumi cluster up (again)")
            out.update(create_s=r.wall_s, again_s=again.wall_s, info=json.loads(r.stdout))
            self.add(Figure("real-cluster", "urumi cluster up: new cluster, images in the node image",
                            f"{r.wall_s:.1f} s"))
            self.add(Figure("real-cluster", "urumi cluster up again (no-op)", f"{again.wall_s:.1f} s"))
        self.dns()
        images = self.store_images()
        sizes = {}
        for ref in images:
            s = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", ref], env=self.base_env,
                               capture_output=True, text=True, timeout=30)
            sizes[ref] = int(s.stdout.strip() or 0)
        log(f"load-images: {len(images)} store images, {sum(sizes.values()) / 1e9:.2f} GB")
        r = run([str(self.urumi), "cluster", "load-images", "--name", CLUSTER, *images, "-o", "json"], env=env,
                timeout=1800).check("urumi cluster load-images")
        out.update(load_images_s=r.wall_s, images=sizes)
        self.add(Figure("real-cluster", f"urumi cluster load-images ({len(images)} store images, "
                                        f"{sum(sizes.values()) / 1e9:.2f} GB)", f"{r.wall_s:.1f} s"))
        if "create_s" in out:
            self.add(Figure("real-cluster", "cluster up + load-images (a cluster ready for any store)",
                            f"{out['create_s'] + r.wall_s:.1f} s"))

    def dns(self) -> None:
        self.kubectl("-n", "kube-system", "patch", "configmap", "coredns", "--type", "merge", "-p",
                     json.dumps({"data": {"Corefile": COREFILE}}))
        self.kubectl("-n", "kube-system", "rollout", "restart", "deployment/coredns")
        self.kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s")

    def connect(self) -> None:
        if self.api is not None:
            return
        if not self.kubeconfig.is_file():
            raise BenchBroken(f"no cluster: run the cluster part first ({self.kubeconfig} missing)")
        from kubernetes import config as kconfig

        self.api = kconfig.new_client_from_config(config_file=str(self.kubeconfig), context=self.context,
                                                  persist_config=False)
        node = self.get_json("nodes")["items"][0]
        self.node = node
        self.sampler = StatsSampler(self.api, node["metadata"]["name"]).start()
        self.real["node"] = {"name": node["metadata"]["name"], "allocatable": node["status"]["allocatable"],
                             "capacity": node["status"]["capacity"]}

    # -- one store -----------------------------------------------------------------------------
    def expected(self, store_type: str) -> dict[str, int]:
        chart = REPO / "charts" / store_type
        r = run([str(self.testbin / "helm"), "template", "bench", str(chart), "-f", str(chart / "values-local.yaml"),
                 "-f", self.values_file(store_type)], env=self.base_env).check("helm template")
        return expected_workloads(r.stdout)

    def create(self, tool: str, store_type: str, name: str, *, extra_values: tuple[str, ...] = (),
               timeout_s: float | None = None, rest_s: float = 0) -> dict:
        timeout_s = timeout_s or TIMEOUTS[store_type]
        ns = f"store-{name}" if tool == "urumi" else name
        chart = REPO / "charts" / store_type
        values = [self.values_file(store_type), *extra_values]
        if tool == "urumi":
            argv = [str(self.urumi), "store", "create", "--type", store_type, "--name", name,
                    *[a for v in values for a in ("-f", v)], "--timeout", f"{int(timeout_s)}s", "-o", "json",
                    *self.kube_args()]
        else:
            argv = [str(self.testbin / "helm"), "install", name, str(chart), "-f", str(chart / "values-local.yaml"),
                    *[a for v in values for a in ("-f", v)], "--namespace", ns, "--create-namespace",
                    *self.helm_wait_flags(), "--timeout", f"{int(timeout_s)}s", *self.helm_kube_args()]
        with StoreWatcher(self.api, ns, self.expected_cache(store_type)) as w:
            r = run(argv, env=self.urumi_env(), timeout=timeout_s + 120)
            deadline = time.monotonic() + 5  # the last event may be in flight as the command exits
            while w.ready_since is None and w.failed_since is None and time.monotonic() < deadline:
                time.sleep(0.02)
            with w.lock:
                records = list(w.records)
                pods = {n: dict(p) for n, p in w.objects["Pod"].items()}
                jobs = list(w.objects["Job"].values())
            ready, failed, comps = w.ready_since, w.failed_since, w.components_ready_since
        end = ready if ready is not None else failed
        t0 = r.started
        res = {"tool": tool, "type": store_type, "name": name, "namespace": ns, "argv": argv, "rc": r.returncode,
               "load_avg_after": os.getloadavg(),
               "wall_s": r.wall_s, "maxrss_kb": r.maxrss_kb, "started": r.started, "ended": r.ended,
               "stderr_tail": r.stderr.strip()[-6000:], "stdout_tail": r.stdout.strip()[-2000:],
               "ready_after_s": None if ready is None else ready - t0,
               "job_failed_after_s": None if failed is None else failed - t0,
               "components_ready_after_s": None if comps is None else comps - t0,
               "end_to_exit_s": None if end is None else r.ended - end,
               "setup_pod_started_after_s": _rel(setup_pod_started(records), t0),
               "records": [{**x, "t": round(x["t"] - t0, 3)} for x in records],
               "watch_errors": w.errors}
        # The Job's own duration from its API timestamps (1 s resolution): start -> Failed/Complete.
        res["job"] = [_job_times(j) for j in jobs]
        res["job_duration_s"] = max((j["duration_s"] for j in res["job"] if j["duration_s"] is not None), default=None)
        res["job_watch_duration_s"] = _diff(first(records, kind="Job", milestone="started"),
                                            failed if failed is not None else ready)
        res["requests"] = {}
        for p in pods.values():
            comp = (p["metadata"].get("labels") or {}).get("app.kubernetes.io/component", "?")
            res["requests"].setdefault(comp, pod_requests(p))
        res["pod_components"] = {r_["name"]: r_["component"] for r_ in records if r_["kind"] == "Pod"}
        # The kubelet's own account (image pulls, probe failures), 1 s resolution.
        res["events"] = [{"reason": e.get("reason"), "type": e.get("type"), "count": e.get("count") or 1,
                          "object": f"{(e.get('involvedObject') or {}).get('kind')}/"
                                    f"{(e.get('involvedObject') or {}).get('name')}",
                          "message": (e.get("message") or "")[:300], "first": e.get("firstTimestamp") or e.get("eventTime"),
                          "last": e.get("lastTimestamp")}
                         for e in self.get_json("events", "-n", ns)["items"]]
        if rest_s and end is not None:
            quota = self.get_json("resourcequota", "-n", ns)["items"]
            res["quota"] = quota[0]["spec"]["hard"] if quota else None
            log(f"  {name}: sampling {rest_s:.0f} s at rest")
            time.sleep(rest_s)
            res["rest_window"] = (r.ended + 15 - t0, time.monotonic() - t0)
        res["setup_window"] = (0.0, r.ended - t0)
        self.real["runs"].append(res)
        log(f"  {tool:5} {store_type} {name}: exit {r.returncode} after {r.wall_s:.1f} s; "
            f"setup pod started {_fmt(res['setup_pod_started_after_s'])}, components ready "
            f"{_fmt(res['components_ready_after_s'])}, ready {_fmt(res['ready_after_s'])}, job failed "
            f"{_fmt(res['job_failed_after_s'])}, end -> exit {_fmt(res['end_to_exit_s'], 'ms')}")
        return res

    _expected: dict = {}

    def expected_cache(self, store_type: str) -> dict[str, int]:
        if store_type not in self._expected:
            self._expected[store_type] = self.expected(store_type)
        return self._expected[store_type]

    def delete(self, res: dict, wait: bool = True) -> None:
        if res["tool"] == "urumi":
            r = run([str(self.urumi), "store", "delete", res["name"], "--yes", "-o", "json", *self.kube_args()],
                    env=self.urumi_env(), timeout=700)
            if r.returncode != 0:
                log(f"  urumi store delete {res['name']} failed: {r.stderr.strip()[-500:]}")
        else:
            run([str(self.testbin / "helm"), "uninstall", res["name"], "--namespace", res["namespace"],
                 *self.helm_kube_args()], env=self.base_env, timeout=300)
        # Freed requests matter here (2 cores): wait until the namespace is gone.
        self.kubectl("delete", "namespace", res["namespace"], "--ignore-not-found", f"--wait={str(wait).lower()}",
                     "--timeout=300s", check=False, timeout=330)

    # -- 1. paired time to ready ---------------------------------------------------------------
    def pairs(self, store_type: str, pairs: int) -> list[dict]:
        self.connect()
        log(f"{store_type}: {pairs} alternating pair(s) of urumi store create / helm install --wait --wait-for-jobs")
        rows = []
        for i in range(pairs):
            pair = {}
            for tool in (("urumi", "helm") if i % 2 == 0 else ("helm", "urumi")):
                name = f"b{store_type[0]}-{tool[0]}{i}"
                res = self.create(tool, store_type, name, rest_s=REST_S if i == 0 and tool == "urumi" else 0)
                pair[tool] = res
                self.delete(res)
            rows.append(pair)
        return rows

    def woocommerce(self) -> None:
        n = self.args.pairs or (1 if self.quick else 2)
        rows = self.pairs("woocommerce", n)
        problems = []
        for p in rows:
            for tool, r in p.items():
                if r["job_failed_after_s"] is None or r["components_ready_after_s"] is None:
                    problems.append(f"{tool} {r['name']}: web/database not ready or the Job did not fail "
                                    f"(exit {r['rc']}): {r['stderr_tail'][-300:]}")
                elif tool == "urumi" and WOO_EXPECTED_FAILURE not in r["stderr_tail"]:
                    problems.append(f"urumi {r['name']}: failed, but not with the download: {r['stderr_tail'][-300:]}")
        self.real["woocommerce"] = summary = self.pair_summary(rows, "job_failed_after_s")
        self.add(Figure("real-woocommerce", "create -> setup Job pod starts (urumi / helm)",
                        f"{_fmt(summary['urumi']['setup_pod_started_after_s'])} / "
                        f"{_fmt(summary['helm']['setup_pod_started_after_s'])}"))
        self.add(Figure("real-woocommerce", "create -> web and database ready (urumi / helm)",
                        f"{_fmt(summary['urumi']['components_ready_after_s'])} / "
                        f"{_fmt(summary['helm']['components_ready_after_s'])}"))
        self.add(Figure("real-woocommerce", "setup Job: start -> failed (3 pods, backoffLimit 2; urumi / helm)",
                        f"{_fmt(summary['urumi']['job_duration_s'])} / {_fmt(summary['helm']['job_duration_s'])}"))
        self.pair_figures("real-woocommerce", summary, "the setup Job failed", len(rows))
        first_run = rows[0]["urumi"]
        if "load_images_s" in self.real.get("cluster_up", {}):
            # The first store on the cluster, right after load-images: cold page cache, first containers.
            self.add(Figure("real-cluster", "first store after load-images: create -> web and database ready "
                                            "(-> setup pod starts)",
                            f"{_fmt(first_run['components_ready_after_s'])} "
                            f"({_fmt(first_run['setup_pod_started_after_s'])})"))
        self.timeline_figures("woocommerce", first_run)
        if problems:
            raise BenchBroken("; ".join(problems))

    def medusa(self) -> None:
        n = self.args.pairs or 1
        rows = self.pairs("medusa", n)
        self.real["medusa"] = summary = self.pair_summary(rows, "ready_after_s")
        ready = all(r["ready_after_s"] is not None and r["rc"] == 0 for p in rows for r in p.values())
        self.add(Figure("real-medusa", "create -> setup Job pod starts (urumi / helm)",
                        f"{_fmt(summary['urumi']['setup_pod_started_after_s'])} / "
                        f"{_fmt(summary['helm']['setup_pod_started_after_s'])}"))
        self.add(Figure("real-medusa", "setup Job: start -> end (npm install, build, migrations, seed; urumi / helm)",
                        f"{_fmt(summary['urumi']['job_duration_s'])} / {_fmt(summary['helm']['job_duration_s'])}"))
        if ready:
            self.add(Figure("real-medusa", "create -> every component ready (urumi / helm)",
                            f"{_fmt(summary['urumi']['ready_after_s'])} / {_fmt(summary['helm']['ready_after_s'])}"))
            self.pair_figures("real-medusa", summary, "the store was ready", len(rows))
        else:
            how = "; ".join(f"{t} {r['name']}: exit {r['rc']}: {r['stderr_tail'][-400:]}"
                            for p in rows for t, r in p.items() if r["rc"] != 0 or r["ready_after_s"] is None)
            self.add(Figure("real-medusa", "Medusa store ready", f"no: {how}", "ready", "MISS"))
            if any(r["job_failed_after_s"] is not None for p in rows for r in p.values()):
                self.pair_figures("real-medusa", self.pair_summary(rows, "job_failed_after_s"),
                                  "the setup Job failed", len(rows))
        self.timeline_figures("medusa", rows[0]["urumi"])

    def pair_summary(self, rows: list[dict], end_key: str) -> dict:
        keys = ("wall_s", "setup_pod_started_after_s", "components_ready_after_s", "ready_after_s",
                "job_failed_after_s", "end_to_exit_s", "job_duration_s", "job_watch_duration_s")
        out = {tool: {k: median(p[tool][k] for p in rows) for k in keys} for tool in ("urumi", "helm")}
        out["urumi"]["end_to_exit_max_s"] = max((p["urumi"]["end_to_exit_s"] or 0) for p in rows)
        out["pair_ratios"] = [p["urumi"]["wall_s"] / p["helm"]["wall_s"] for p in rows]
        out["median_pair_ratio"] = median(out["pair_ratios"])
        out["ratio_of_medians"] = ratio(out["urumi"]["wall_s"], out["helm"]["wall_s"])
        out["end_key"] = end_key
        out["pairs"] = len(rows)
        return out

    def pair_figures(self, part: str, s: dict, end: str, n: int) -> None:
        r = s["median_pair_ratio"]
        self.add(Figure(part, f"urumi store create vs helm install --wait --wait-for-jobs ({n} pair(s))",
                        f"{s['urumi']['wall_s']:.1f} s vs {s['helm']['wall_s']:.1f} s = {r:.3f}x",
                        f"<= {TARGETS['real_ratio']}x", verdict(r, TARGETS["real_ratio"])))
        worst = s["urumi"]["end_to_exit_max_s"]
        self.add(Figure(part, f"{end} -> urumi exits (median / max; helm median)",
                        f"{_fmt(s['urumi']['end_to_exit_s'], 'ms')} / {_fmt(worst, 'ms')}; "
                        f"helm {_fmt(s['helm']['end_to_exit_s'], 'ms')}",
                        f"<= {TARGETS['end_to_exit_s']} s", verdict(worst, TARGETS["end_to_exit_s"])))

    # -- 2. where the time goes ----------------------------------------------------------------
    def timeline_figures(self, store_type: str, res: dict) -> None:
        tl = timeline([{**r} for r in res["records"]], 0.0)
        text = format_timeline(tl)
        log(f"timeline of {store_type} store {res['name']} (seconds after `urumi store create` started):\n{text}")
        waits = probe_waits(res["records"])
        self.real.setdefault("timelines", {})[store_type] = {"store": res["name"], "timeline": tl,
                                                              "probe_waits_s": waits}
        for comp, rows in tl.items():
            def at(prefix, _rows=rows):
                ts = [t for t, _, m in _rows if m.startswith(prefix)]
                return ts[0] if ts else None

            bits = [f"scheduled {_fmt(at('scheduled'))}"]
            for _, _, m in rows:
                if m.startswith("init ") and m.endswith(" started"):
                    c = m[5:-8]
                    bits.append(f"init {c} {_fmt(at(f'init {c} started'))}-{_fmt(at(f'init {c} exited'))}")
            mains = [m[:-8] for _, _, m in rows if m.endswith(" started") and not m.startswith("init ")]
            for c in dict.fromkeys(mains):
                bits.append(f"{c} started {_fmt(at(f'{c} started'))}, ready {_fmt(at(f'{c} ready'))}")
            if comp == "setup":  # one pod per attempt: when each ran
                pods = list(dict.fromkeys(o for _, o, _ in rows if o.startswith("Pod ")))
                for n, o in enumerate(pods, 1):
                    ts = [(t, m) for t, oo, m in rows if oo == o]
                    start = next((t for t, m in ts if m.endswith(" started")), None)
                    end = next(((t, m) for t, m in ts if m in ("failed", "succeeded")), None)
                    bits.append(f"pod {n} ran {_fmt(start)}-{_fmt(end[0] if end else None)}"
                                f"{' ' + end[1] if end else ''}")
                bits.append(f"Job {', '.join(f'{m} {t:.1f} s' for t, o, m in rows if o.startswith('Job') and m != 'started')}")
            self.add(Figure(f"real-timeline-{store_type}", comp, "; ".join(bits)))
        if waits:
            self.add(Figure(f"real-timeline-{store_type}", "container started -> ready (probes' share)",
                            ", ".join(f"{k} {v:.1f} s" for k, v in waits.items())))
        unhealthy = {}
        for e in res.get("events") or []:
            if e["reason"] == "Unhealthy":
                kind = e["message"].split(" probe")[0]
                key = f"{e['object'].split('/')[-1]} {kind}"
                unhealthy[key] = unhealthy.get(key, 0) + e["count"]
        pulled = [e for e in res.get("events") or [] if e["reason"] == "Pulled"]
        present = sum(1 for e in pulled if "already present" in e["message"])
        self.add(Figure(f"real-timeline-{store_type}", "images: Pulled events already present on the node / all",
                        f"{present} / {len(pulled)}"))
        self.add(Figure(f"real-timeline-{store_type}", "failed probes before ready (Unhealthy events)",
                        ", ".join(f"{k}: {v}" for k, v in sorted(unhealthy.items())) or "none"))

    # -- 3. memory and CPU ---------------------------------------------------------------------
    def resources(self) -> None:
        if not self.sampler:
            return
        samples = self.sampler.samples
        out = self.real.setdefault("resources", {"sampler_errors": self.sampler.errors, "samples": len(samples)})
        for store_type in ("woocommerce", "medusa"):
            runs = [r for r in self.real["runs"] if r["type"] == store_type and r.get("rest_window")]
            if not runs:
                continue
            r = runs[0]
            t0 = r["started"]
            comps = r["pod_components"]
            setup = by_component(samples, r["namespace"], comps, t0 + r["setup_window"][0], t0 + r["setup_window"][1])
            rest = by_component(samples, r["namespace"], comps, t0 + r["rest_window"][0], t0 + r["rest_window"][1])
            measured = {c: {"setup": setup.get(c), "rest": rest.get(c)} for c in sorted(set(setup) | set(rest))
                        if c != "?"}
            rec = recommend(measured)
            out[store_type] = {"store": r["name"], "setup": setup, "rest": rest, "requests": r["requests"],
                               "quota": r.get("quota"), "recommendation": rec}
            for c, m in measured.items():
                req = r["requests"].get(c) or {}
                su, re_ = m["setup"] or {}, m["rest"] or {}
                self.add(Figure(f"real-resources-{store_type}", c,
                                f"setup peak {_mib(su.get('mem_peak_mib'))} / {_m(su.get('cpu_peak_m'))}; "
                                f"rest {_mib(re_.get('mem_peak_mib'))} / {_m(re_.get('cpu_median_m'))}; "
                                f"requests {_mib(req.get('requests.memory'))} / {_m(req.get('requests.cpu'))}, "
                                f"limit {_mib(req.get('limits.memory'))}; suggest request "
                                f"{_mib(rec[c]['requests.memory_mib'])} / {_m(rec[c]['requests.cpu_m'])}, "
                                f"limit {_mib(rec[c]['limits.memory_mib'])}"))
            tot = lambda d, k: sum((v or {}).get(k) or 0 for v in d.values())  # noqa: E731
            q = r.get("quota") or {}
            self.add(Figure(f"real-resources-{store_type}", "store total (setup peak / rest) vs quota",
                            f"memory {_mib(tot(setup, 'mem_peak_mib'))} / {_mib(tot(rest, 'mem_peak_mib'))}, "
                            f"requests {_mib(tot(r['requests'], 'requests.memory'))} / "
                            f"{_m(tot(r['requests'], 'requests.cpu'))}; quota requests "
                            f"{q.get('requests.memory')} / {q.get('requests.cpu')}, limits {q.get('limits.memory')}"))

    # -- 4. density ----------------------------------------------------------------------------
    def density(self) -> None:
        self.connect()
        cap = self.args.density_cap or DENSITY_CAP
        # The chart's own values: the setup Job's three attempts (~50 s here) outlast the web and
        # database getting ready, so a store that fits is ready up to the download when urumi exits.
        log(f"density: WooCommerce stores one after the other until one is not admitted (cap {cap})")
        made, failure = [], None
        for i in range(cap):
            res = self.create("urumi", "woocommerce", f"d{i:02d}", timeout_s=DENSITY_TIMEOUT_S)
            made.append(res)
            if res["components_ready_after_s"] is None:
                failure = res
                break
        time.sleep(20)  # a settled sample of every admitted store
        sample = self.sampler.samples[-1] if self.sampler and self.sampler.samples else None
        per_ns = namespace_totals(sample, ("store-d",)) if sample else {}
        # Admitted: its web and database ran (its setup then failed at the download, as always here).
        admitted = [r for r in made if r["components_ready_after_s"] is not None]
        pods = self.get_json("pods", "-A")["items"]
        # On the node: scheduled and not finished (a pod that found no room holds nothing).
        live = [p for p in pods if (p.get("spec") or {}).get("nodeName")
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        system = [p for p in live if not p["metadata"]["namespace"].startswith("store-")]
        req_cpu = sum(pod_requests(p)["requests.cpu"] for p in live)
        req_mem = sum(pod_requests(p)["requests.memory"] for p in live)
        sys_cpu = sum(pod_requests(p)["requests.cpu"] for p in system)
        sys_mem = sum(pod_requests(p)["requests.memory"] for p in system)
        alloc = self.node["status"]["allocatable"]
        from reallib import cpu_millis, mem_bytes

        alloc_cpu, alloc_mem = cpu_millis(alloc["cpu"]), mem_bytes(alloc["memory"]) / 2**20
        per_store_mem = median(v["mem_mib"] for ns, v in per_ns.items() if ns in {r["namespace"] for r in admitted})
        # A store at rest holds its web and database requests (the setup pod's end with the Job).
        store_req = {k: sum((admitted[0]["requests"].get(c) or {}).get(k, 0) for c in ("web", "database"))
                     for k in ("requests.cpu", "requests.memory")} if admitted else {}
        self.real["density"] = {"cap": cap, "created": len(made), "admitted": len(admitted),
                                "failure": None if failure is None else {k: failure[k] for k in (
                                    "name", "rc", "wall_s", "stderr_tail", "components_ready_after_s",
                                    "setup_pod_started_after_s")},
                                "per_namespace": per_ns, "node": sample["node"] if sample else None,
                                "requested_cpu_m": req_cpu, "requested_mem_mib": req_mem,
                                "system_cpu_m": sys_cpu, "system_mem_mib": sys_mem, "store_requests": store_req,
                                "allocatable_cpu_m": alloc_cpu, "allocatable_mem_mib": alloc_mem}
        if failure is None:
            self.add(Figure("real-density", f"WooCommerce stores admitted (cap {cap})",
                            f"{len(admitted)}: the cap, not the node, ended it"))
        else:
            lines = failure["stderr_tail"].splitlines()
            msg = [ln.strip() for ln in lines if ln.lower().startswith("error")] or lines[-1:]
            msg += [ln.strip() for ln in lines if "Insufficient" in ln and ln not in msg][:1]
            clear = failure["wall_s"] < DENSITY_TIMEOUT_S - 5 and "Insufficient" in msg[0]
            self.add(Figure("real-density", "WooCommerce stores admitted before the first failure",
                            f"{len(admitted)} (store {len(made)} failed after {failure['wall_s']:.0f} s)"))
            self.add(Figure("real-density", "first failure's message", " | ".join(msg)[:500],
                            "clear urumi error, no hang", "PASS" if clear else "MISS"))
        self.add(Figure("real-density", "node requests: system / all scheduled after the run / allocatable (cpu; memory)",
                        f"{sys_cpu:.0f}m / {req_cpu:.0f}m / {alloc_cpu:.0f}m; "
                        f"{sys_mem / 1024:.1f} / {req_mem / 1024:.1f} / {alloc_mem / 1024:.1f} GiB"))
        if store_req:
            by_cpu = (alloc_cpu - sys_cpu) / store_req["requests.cpu"]
            by_mem = (alloc_mem - sys_mem) / store_req["requests.memory"]
            self.add(Figure("real-density", "stores the node admits by requests at rest (cpu / memory)",
                            f"{by_cpu:.1f} / {by_mem:.1f} (a store requests {store_req['requests.cpu']:.0f}m, "
                            f"{store_req['requests.memory']:.0f} MiB; its setup pod needs room too)"))
        if per_store_mem:
            self.add(Figure("real-density", "WooCommerce store at rest (median working set)",
                            f"{per_store_mem:.0f} MiB = {1024 / per_store_mem:.1f} stores per GiB measured; "
                            f"{1024 / store_req['requests.memory']:.1f} per GiB by requests" if store_req else
                            f"{per_store_mem:.0f} MiB"))
        for r in made:
            self.delete(r, wait=False)

    # -- run -----------------------------------------------------------------------------------
    def finish(self) -> None:
        if self.sampler:
            self.sampler.close()
            self.real["samples"] = [{"t": s["t"], "node": s["node"],
                                     "pods": {k: {"cpu_m": round(v["cpu_m"], 1), "mem_mib": round(v["mem_mib"], 1)}
                                              for k, v in s["pods"].items() if k.startswith(("store-", "b"))}}
                                    for s in self.sampler.samples]
        if self.made_cluster and not self.args.keep_cluster:
            log(f"deleting cluster {CLUSTER}")
            r = self.kind("delete", "cluster", "--name", CLUSTER, "--kubeconfig", str(self.kubeconfig), timeout=300)
            if r.returncode != 0:
                log(f"kind delete cluster failed: {r.stderr[-500:]}")


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else t - t0


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _fmt(v: float | None, unit: str = "s") -> str:
    if v is None:
        return "-"
    return f"{v * 1000:.0f} ms" if unit == "ms" else f"{v:.1f} s"


def _mib(v) -> str:
    return "-" if v is None else f"{v:.0f} MiB"


def _m(v) -> str:
    return "-" if v is None else f"{v:.0f}m"


def _job_times(job: dict) -> dict:
    from urumi_cli.readiness import parse_time

    status = job.get("status") or {}
    start = parse_time(status.get("startTime")) if status.get("startTime") else None
    end = None
    for c in status.get("conditions") or []:
        if c.get("type") in ("Failed", "Complete") and c.get("status") == "True":
            end = parse_time(c.get("lastTransitionTime"))
    return {"name": job["metadata"]["name"], "failed_pods": status.get("failed", 0),
            "succeeded": status.get("succeeded", 0), "start": status.get("startTime"),
            "duration_s": None if start is None or end is None else end - start}


def run_real(bench: RealBench, parts: list[str]) -> dict:
    errors = {}
    try:
        bench.check_tools()
        for part in parts:
            t0 = time.monotonic()
            try:
                getattr(bench, part)()
            except BenchBroken as err:
                errors[part] = str(err)
                log(f"{part}: BROKEN: {err}")
                if part == "cluster":
                    break
            bench.real.setdefault("durations_s", {})[part] = time.monotonic() - t0
        bench.resources()
    finally:
        bench.finish()
    return errors
