#!/usr/bin/env python3
"""urumi benchmarks, side by side with what a user would otherwise run, in one run.

    .venv/bin/python tests/bench/run.py [--quick] [--only latency|provision|fleet] [--out bench-results/latest.json]

1. latency   `urumi --help`, `urumi store list -o json` (empty registry, 1000 stores) against the
             floor `python -c "import typer"` in the same virtualenv; peak RSS; -X importtime.
2. provision `urumi store create --type woocommerce` against `helm install --wait --wait-for-jobs`
             of the same chart and overlay (paired, alternating); the delay between the API
             reporting the last workload ready (seen by an independent watch) and urumi's exit.
3. fleet     10, then 40 stores created by 4 parallel CLI processes; `store list` and
             `store list --refresh` at 40 stores; the registry checked afterwards.

Parts 2-3 run on a real control plane (tests/harness/control-plane, KWOK nodes) that this script
starts and stops. Figures are medians of repeated, interleaved runs on one machine; targets are
printed with PASS/MISS and never fail the run. The exit status is non-zero only if the benchmark
itself broke. See tests/bench/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (  # noqa: E402
    REPO,
    BenchBroken,
    ControlPlane,
    Figure,
    ReadinessWatcher,
    expected_workloads,
    import_breakdown,
    log,
    median,
    ratio,
    run,
    stop_children,
    top_imports,
    verdict,
)

TARGETS = {
    "list_empty": 1.3,
    "list_1000": 1.6,
    "help": 2.5,
    "provision_ratio": 1.15,
    "ready_to_exit_s": 0.5,
}
CLUSTER_NAME = "urumi-bench"
STORE_TYPE = "woocommerce"
CREATE_TIMEOUT = "300s"


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.tmp = Path(tempfile.mkdtemp(prefix="urumi-bench-"))
        self.bin = Path(sys.executable).parent
        self.python = self.bin / "python"
        self.urumi = self.bin / "urumi"
        self.testbin = Path(os.environ.get("URUMI_TESTBIN") or Path.home() / ".cache/urumi/testbin")
        self.figures: list[Figure] = []
        self.results: dict = {}
        self.cp: ControlPlane | None = None
        self.base_env = self._base_env()

    # -- environment ---------------------------------------------------------------------------
    def _base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "PYTHONDONTWRITEBYTECODE",
                                                                  "PYTHONPROFILEIMPORTTIME", "URUMI_HOME")}
        env["PATH"] = os.pathsep.join([str(self.testbin), str(self.bin), env.get("PATH", "")])
        no_proxy = [p for p in env.get("NO_PROXY", env.get("no_proxy", "")).split(",") if p]
        env["NO_PROXY"] = env["no_proxy"] = ",".join(dict.fromkeys([*no_proxy, "127.0.0.1", "localhost"]))
        # Byte-code as an installed urumi has it (pip compiles on install), for urumi and the floor
        # alike, without writing __pycache__ into the checkout.
        env["PYTHONPYCACHEPREFIX"] = str(self.tmp / "pycache")
        for var, sub in [("HELM_CONFIG_HOME", "config"), ("HELM_CACHE_HOME", "cache"), ("HELM_DATA_HOME", "data")]:
            env[var] = str(self.tmp / "helm" / sub)
        env["COLUMNS"] = "120"
        return env

    def env(self, home: Path) -> dict:
        home.mkdir(parents=True, exist_ok=True)
        return {**self.base_env, "URUMI_HOME": str(home)}

    def check_tools(self, need_cluster: bool) -> None:
        if not self.urumi.exists():
            raise BenchBroken(f"{self.urumi} not found: run this with the virtualenv's python after `make install`")
        if need_cluster:
            missing = [t for t in ("helm", "kubectl", "etcd", "kube-apiserver", "kwok")
                       if not os.access(self.testbin / t, os.X_OK)]
            if missing:
                raise BenchBroken(f"test tools missing in {self.testbin}: {', '.join(missing)} "
                                  "(build them with `make testbin`)")

    def add(self, fig: Figure) -> None:
        self.figures.append(fig)
        line = f"  {fig.name}: {fig.value}"
        if fig.target:
            line += f"  (target {fig.target}: {fig.status})"
        log(line)

    # -- 1. CLI latency ------------------------------------------------------------------------
    def latency(self) -> None:
        rounds = 5 if self.quick else 21
        log(f"latency: {rounds} interleaved rounds")
        from urumi_cli.adapters.registry import Registry
        from urumi_cli.config import Settings
        from urumi_cli.models import Store

        context = "urumi-bench-latency"
        kubeconfig = self.tmp / "latency-kubeconfig"  # never dialled: `store list` reads the registry
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: {context}\n  cluster:\n    server: https://127.0.0.1:9\n"
            f"users:\n- name: {context}\n  user: {{}}\n"
            f"contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n"
            f"current-context: {context}\n")
        home_empty, home_1000 = self.tmp / "latency-empty", self.tmp / "latency-1000"
        env_empty, env_1000 = self.env(home_empty), self.env(home_1000)
        # Written by urumi's own Registry and Store, so the file format cannot drift from urumi's.
        stamp = "2026-01-01T00:00:00Z"
        stores = [Store(name=f"store-{i:04d}", type=STORE_TYPE if i % 3 else "medusa", cluster=context,
                        namespace=f"store-store-{i:04d}", release=f"store-{i:04d}",
                        url=f"http://store-{i:04d}.localhost/", status="ready", env="local",
                        created_at=stamp, ready_at=stamp, updated_at=stamp) for i in range(1000)]
        Registry(Settings(home=home_1000).registry_path).replace_cluster_stores(context, stores)
        target = ["--kubeconfig", str(kubeconfig), "--context", context]
        cases = {
            "python": ([str(self.python), "-c", "pass"], env_empty),
            "floor": ([str(self.python), "-c", "import typer"], env_empty),
            "help": ([str(self.urumi), "--help"], env_empty),
            "list_empty": ([str(self.urumi), "store", "list", "-o", "json", *target], env_empty),
            "list_1000": ([str(self.urumi), "store", "list", "-o", "json", *target], env_1000),
        }
        # Warm-up (writes byte-code) and output checks.
        for name, (argv, env) in cases.items():
            r = run(argv, env=env, timeout=60).check(name)
            if name == "list_empty" and json.loads(r.stdout) != []:
                raise BenchBroken(f"store list on an empty registry printed {r.stdout[:200]!r}")
            if name == "list_1000":
                data = json.loads(r.stdout)
                if len(data) != 1000 or data[0]["name"] != "store-0000":
                    raise BenchBroken(f"store list printed {len(data)} stores, expected 1000")
            if name == "help" and "store" not in r.stdout:
                raise BenchBroken("urumi --help does not mention the store command")
        times = {name: [] for name in cases}
        rss = {name: [] for name in cases}
        names = list(cases)
        for i in range(rounds):
            order = names[i % len(names):] + names[:i % len(names)]  # rotate: no fixed position bias
            for name in order:
                argv, env = cases[name]
                r = run(argv, env=env, timeout=60).check(name)
                times[name].append(r.wall_s)
                rss[name].append(r.maxrss_kb)
        med = {name: median(v) for name, v in times.items()}
        floor = med["floor"]
        out = {"rounds": rounds, "cases": {}}
        for name in names:
            per_round = [t / f for t, f in zip(times[name], times["floor"])]
            out["cases"][name] = {"argv": cases[name][0], "median_ms": med[name] * 1000,
                                  "min_ms": min(times[name]) * 1000, "max_ms": max(times[name]) * 1000,
                                  "ratio_to_floor": ratio(med[name], floor),
                                  "median_of_round_ratios": median(per_round),
                                  "peak_rss_mb": median(rss[name]) / 1024, "samples_ms": [t * 1000 for t in times[name]]}
        self.add(Figure("latency", 'python -c "pass" (interpreter)', f"{med['python'] * 1000:.0f} ms",
                        extra={"rss_mb": median(rss["python"]) / 1024}))
        self.add(Figure("latency", 'floor: python -c "import typer"', f"{floor * 1000:.0f} ms",
                        extra={"rss_mb": median(rss["floor"]) / 1024}))
        labels = {"list_empty": "store list -o json, empty registry", "list_1000": "store list -o json, 1000 stores",
                  "help": "urumi --help"}
        for name in ("list_empty", "list_1000", "help"):
            r = out["cases"][name]["ratio_to_floor"]
            self.add(Figure("latency", labels[name], f"{med[name] * 1000:.0f} ms = {r:.2f}x floor",
                            f"<= {TARGETS[name]}x", verdict(r, TARGETS[name]),
                            extra={"rss_mb": out["cases"][name]["peak_rss_mb"]}))
        self.add(Figure("latency", "peak RSS: floor / list empty / list 1000 / help",
                        " / ".join(f"{out['cases'][n]['peak_rss_mb']:.0f}" for n in
                                   ("floor", "list_empty", "list_1000", "help")) + " MB"))
        # Where start-up time goes: -X importtime of the same commands. Of 5 runs, the one with the
        # median total is shown whole (a per-package median would mix runs).
        imports = {}
        for name in ("floor", "list_empty", "list_1000", "help"):
            argv, env = cases[name]
            argv = [str(self.python), "-X", "importtime", *argv[1:]] if name == "floor" else \
                [str(self.python), "-X", "importtime", str(self.urumi), *argv[1:]]
            samples = [run(argv, env=env, timeout=60).check(f"importtime {name}").stderr for _ in range(5)]
            samples.sort(key=lambda s: sum(import_breakdown(s).values()))
            chosen = samples[len(samples) // 2]
            by_group = {g: ms for g, ms in sorted(import_breakdown(chosen).items(), key=lambda kv: -kv[1]) if ms >= 0.5}
            imports[name] = {"total_ms": sum(by_group.values()), "by_package_ms": by_group,
                             "slowest": top_imports(chosen)}
            top = ", ".join(f"{g} {ms:.0f}" for g, ms in list(by_group.items())[:6])
            self.add(Figure("latency", f"importtime {name} (self ms by package)",
                            f"{imports[name]['total_ms']:.0f} ms: {top}"))
        out["importtime"] = imports
        self.results["latency"] = out

    # -- cluster -------------------------------------------------------------------------------
    def cluster(self) -> ControlPlane:
        if self.cp is None:
            log(f"starting control plane {CLUSTER_NAME}")
            cp = ControlPlane(CLUSTER_NAME)
            self.cp = cp  # set first: stopped at the end even if `up` fails half-way
            cp.up()
            log(f"control plane up: {cp.kubeconfig} (context {cp.context}); warming it up with one helm install")
            # The first workloads of a fresh cluster are slow (informers, first scheduling): keep
            # that out of whichever part runs first.
            chart, overlay = self.chart()
            run([str(self.testbin / "helm"), "install", "warmup", str(chart), "-f", str(overlay), "--namespace",
                 "bench-warmup", "--create-namespace", *self.helm_wait_flags(), "--timeout", CREATE_TIMEOUT,
                 *self.helm_kube_args()], env=self.base_env, timeout=400).check("warm-up helm install")
            self.kubectl("delete", "namespace", "bench-warmup", "--wait=false")
        return self.cp

    def helm_kube_args(self) -> list[str]:
        return ["--kube-context", self.cp.context, "--kubeconfig", str(self.cp.kubeconfig)]

    def kube_args(self) -> list[str]:
        return ["--kubeconfig", str(self.cp.kubeconfig), "--context", self.cp.context]

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.testbin / "kubectl"), f"--kubeconfig={self.cp.kubeconfig}", f"--context={self.cp.context}", *args]
        r = subprocess.run(argv, capture_output=True, text=True, env=self.base_env, timeout=180)
        if check and r.returncode != 0:
            raise BenchBroken(f"kubectl {' '.join(args)} failed: {r.stderr.strip()[-1000:]}")
        return r

    def chart(self) -> tuple[Path, Path]:
        chart = REPO / "charts" / STORE_TYPE
        return chart, chart / "values-local.yaml"

    def helm_wait_flags(self) -> list[str]:
        """helm's own wait, as urumi_cli.adapters.helm spells it for helm 3 and 4."""
        from urumi_cli.adapters.helm import wait_flags

        r = run([str(self.testbin / "helm"), "version", "--template", "{{.Version}}"], env=self.base_env).check("helm version")
        return wait_flags(int(r.stdout.strip().lstrip("v").split(".")[0]))

    def create_store(self, name: str, env: dict) -> dict:
        argv = [str(self.urumi), "store", "create", "--type", STORE_TYPE, "--name", name, "--timeout", CREATE_TIMEOUT,
                "-o", "json", *self.kube_args()]
        r = run(argv, env=env, timeout=400).check(f"urumi store create {name}")
        store = json.loads(r.stdout)
        if store.get("status") != "ready":
            raise BenchBroken(f"urumi store create {name} returned status {store.get('status')!r}")
        return {"wall_s": r.wall_s, "maxrss_kb": r.maxrss_kb, "started": r.started, "ended": r.ended}

    # -- 2. provisioning overhead --------------------------------------------------------------
    def provision(self) -> None:
        pairs = 2 if self.quick else 5
        cp = self.cluster()
        log(f"provision: {pairs} alternating pairs of urumi store create / helm install --wait --wait-for-jobs")
        from kubernetes import config as kconfig

        api = kconfig.new_client_from_config(config_file=str(cp.kubeconfig), context=cp.context, persist_config=False)
        chart, overlay = self.chart()
        helm = str(self.testbin / "helm")
        flags = self.helm_wait_flags()
        rendered = run([helm, "template", "bench", str(chart), "-f", str(overlay)], env=self.base_env).check("helm template")
        expected = expected_workloads(rendered.stdout)
        env = self.env(self.tmp / "provision-home")
        rows = []
        for i in range(pairs):
            pair = {}
            for tool in (("urumi", "helm") if i % 2 == 0 else ("helm", "urumi")):
                name = f"bench-{tool[0]}{i}"
                namespace = f"store-{name}" if tool == "urumi" else name
                with ReadinessWatcher(api, namespace, expected) as watcher:
                    if tool == "urumi":
                        res = self.create_store(name, env)
                    else:
                        argv = [helm, "install", name, str(chart), "-f", str(overlay), "--namespace", namespace,
                                "--create-namespace", *flags, "--timeout", CREATE_TIMEOUT, *self.helm_kube_args()]
                        r = run(argv, env=env, timeout=400).check(f"helm install {name}")
                        res = {"wall_s": r.wall_s, "maxrss_kb": r.maxrss_kb, "started": r.started, "ended": r.ended}
                    # The last event may be in flight while the command exits: give it a moment.
                    deadline = time.monotonic() + 5
                    while watcher.ready_since is None and time.monotonic() < deadline:
                        time.sleep(0.01)
                    ready = watcher.ready_since
                    res["events"] = watcher.events
                    res["watch_errors"] = watcher.errors
                if ready is None:
                    raise BenchBroken(f"{tool} {name} returned but the watch never saw every workload ready "
                                      f"(expected {expected}; errors {watcher.errors})")
                res["ready_after_s"] = ready - res["started"]
                res["ready_to_exit_s"] = res["ended"] - ready
                pair[tool] = res
                log(f"  pair {i} {tool:5}: {res['wall_s']:.2f}s, ready after {res['ready_after_s']:.2f}s, "
                    f"exit {res['ready_to_exit_s'] * 1000:+.0f} ms after ready")
            pair["ratio"] = pair["urumi"]["wall_s"] / pair["helm"]["wall_s"]
            rows.append(pair)
        u = median(p["urumi"]["wall_s"] for p in rows)
        h = median(p["helm"]["wall_s"] for p in rows)
        delay_u = median(p["urumi"]["ready_to_exit_s"] for p in rows)
        delay_h = median(p["helm"]["ready_to_exit_s"] for p in rows)
        worst_u = max(p["urumi"]["ready_to_exit_s"] for p in rows)
        pair_ratio = median(p["ratio"] for p in rows)
        self.results["provision"] = {
            "pairs": pairs, "expected_workloads": expected, "helm_wait_flags": flags, "runs": rows,
            "urumi_median_s": u, "helm_median_s": h, "ratio_of_medians": ratio(u, h), "median_pair_ratio": pair_ratio,
            "urumi_ready_to_exit_median_s": delay_u, "urumi_ready_to_exit_max_s": worst_u,
            "helm_ready_to_exit_median_s": delay_h,
            "urumi_ready_after_median_s": median(p["urumi"]["ready_after_s"] for p in rows),
            "helm_ready_after_median_s": median(p["helm"]["ready_after_s"] for p in rows),
            "urumi_peak_rss_mb": median(p["urumi"]["maxrss_kb"] for p in rows) / 1024,
        }
        self.add(Figure("provision", f"store create vs helm install --wait ({pairs} pairs)",
                        f"{u:.2f} s vs {h:.2f} s = {pair_ratio:.2f}x (median pair ratio)",
                        f"<= {TARGETS['provision_ratio']}x", verdict(pair_ratio, TARGETS["provision_ratio"])))
        self.add(Figure("provision", "last workload ready -> urumi exits",
                        f"{delay_u * 1000:.0f} ms median, {worst_u * 1000:.0f} ms max (helm --wait: {delay_h * 1000:.0f} ms)",
                        f"<= {TARGETS['ready_to_exit_s']} s", verdict(worst_u, TARGETS["ready_to_exit_s"])))
        prov = self.results["provision"]
        self.add(Figure("provision", "start -> last workload ready (urumi / helm)",
                        f"{prov['urumi_ready_after_median_s']:.2f} s / {prov['helm_ready_after_median_s']:.2f} s"))
        self.add(Figure("provision", "peak RSS of store create (urumi + helm child)",
                        f"{self.results['provision']['urumi_peak_rss_mb']:.0f} MB"))
        # Free the cluster for the fleet, and wait: a terminating urumi namespace would still show
        # up in the fleet's `store list --refresh`.
        names = [f"store-bench-u{i}" for i in range(pairs)] + [f"bench-h{i}" for i in range(pairs)]
        t0 = time.monotonic()
        self.kubectl("delete", "namespace", *names, "--timeout=170s")
        log(f"  deleted the {len(names)} namespaces in {time.monotonic() - t0:.1f} s")

    # -- 3. fleet growth -----------------------------------------------------------------------
    def fleet(self) -> None:
        sizes = (4, 8) if self.quick else (10, 40)
        workers = 4
        self.cluster()
        env = self.env(self.tmp / "fleet-home")
        log(f"fleet: grow to {sizes[0]}, then to {sizes[1]} stores with {workers} parallel `urumi store create`")
        batches = []
        made = 0
        for size in sizes:
            names = [f"fleet-{i:03d}" for i in range(made, size)]
            started = time.monotonic()
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
            try:
                runs = list(pool.map(lambda n: self.create_store(n, env), names))
            except BaseException:  # a failed create or Ctrl-C: start no more, stop the running ones
                pool.shutdown(wait=False, cancel_futures=True)
                stop_children()
                raise
            pool.shutdown()
            wall = time.monotonic() - started
            made = size
            batch = {"from": size - len(names), "to": size, "stores": len(names), "wall_s": wall,
                     "stores_per_min": len(names) / wall * 60, "wall_per_store_s": wall / len(names),
                     "create_median_s": median(r["wall_s"] for r in runs),
                     "create_max_s": max(r["wall_s"] for r in runs)}
            batches.append(batch)
            self.add(Figure("fleet", f"grow {batch['from']} -> {size} stores ({workers} parallel)",
                            f"{wall:.1f} s, {batch['stores_per_min']:.0f} stores/min, "
                            f"{batch['wall_per_store_s']:.2f} s/store, create median {batch['create_median_s']:.2f} s"))
        growth = batches[-1]["wall_per_store_s"] / batches[0]["wall_per_store_s"]
        self.add(Figure("fleet", "cost per store, last batch / first batch", f"{growth:.2f}x",
                        "flat (<= 1.25x)", verdict(growth, 1.25)))
        # Listing at the final size: plain (registry) and --refresh (cluster), interleaved.
        total = sizes[-1]
        reps = 3 if self.quick else 5
        list_argv = [str(self.urumi), "store", "list", "-o", "json", *self.kube_args()]
        refresh_argv = [*list_argv, "--refresh"]
        times = {"list": [], "refresh": []}
        outputs = {}
        for _ in range(reps):
            for key, argv in (("list", list_argv), ("refresh", refresh_argv)):
                r = run(argv, env=env, timeout=120).check(f"store list ({key})")
                times[key].append(r.wall_s)
                outputs[key] = json.loads(r.stdout)
        self.add(Figure("fleet", f"store list -o json at {total} stores", f"{median(times['list']) * 1000:.0f} ms"))
        self.add(Figure("fleet", f"store list --refresh -o json at {total} stores",
                        f"{median(times['refresh']) * 1000:.0f} ms"))
        problems = self.check_registry(env, outputs, total)
        self.add(Figure("fleet", "registry intact afterwards", "yes" if not problems else "; ".join(problems),
                        "intact", "PASS" if not problems else "MISS"))
        self.results["fleet"] = {"workers": workers, "batches": batches, "cost_growth": growth,
                                 "list_median_ms": median(times["list"]) * 1000,
                                 "refresh_median_ms": median(times["refresh"]) * 1000,
                                 "list_samples_ms": [t * 1000 for t in times["list"]],
                                 "refresh_samples_ms": [t * 1000 for t in times["refresh"]],
                                 "registry_problems": problems}
        if problems:
            raise BenchBroken("registry damaged after the fleet run: " + "; ".join(problems))

    def check_registry(self, env: dict, outputs: dict, total: int) -> list[str]:
        want = {f"fleet-{i:03d}" for i in range(total)}
        problems = []
        for key, data in outputs.items():
            names = [s["name"] for s in data]
            if len(names) != len(set(names)):
                problems.append(f"{key}: duplicate records")
            if set(names) != want:
                problems.append(f"{key}: {len(set(names) & want)}/{total} stores, extra {sorted(set(names) - want)[:5]}")
            not_ready = [s["name"] for s in data if s["status"] != "ready"]
            if not_ready:
                problems.append(f"{key}: not ready: {not_ready[:5]}")
        home = Path(env["URUMI_HOME"])
        reg = home / "registry.json"
        try:
            json.loads(reg.read_text())
        except (OSError, ValueError) as err:
            problems.append(f"registry.json unreadable: {err}")
        leftovers = [p.name for p in home.iterdir() if ".corrupt-" in p.name or p.name.endswith(".tmp")]
        if leftovers:
            problems.append(f"left-over files: {leftovers}")
        ns = json.loads(self.kubectl("get", "namespaces", "-l", "app.kubernetes.io/managed-by=urumi",
                                     "-o", "json").stdout)["items"]
        in_cluster = {n["metadata"]["labels"].get("urumi.dev/store-name") for n in ns
                      if not n["metadata"].get("deletionTimestamp")}
        if in_cluster != want:
            problems.append(f"cluster has {len(in_cluster)} urumi namespaces, expected {total}")
        return problems

    # -- report --------------------------------------------------------------------------------
    def meta(self) -> dict:
        def out(argv):
            try:
                return subprocess.run(argv, capture_output=True, text=True, timeout=20, cwd=REPO).stdout.strip()
            except OSError:
                return ""

        pkgs = {}
        from importlib import metadata

        for p in ("typer", "rich", "kubernetes", "tinydb", "PyYAML"):
            try:
                pkgs[p] = metadata.version(p)
            except metadata.PackageNotFoundError:
                pkgs[p] = None
        return {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": out(["git", "rev-parse", "--short", "HEAD"]),
                "dirty": bool(out(["git", "status", "--porcelain", "--untracked-files=no", "urumi_cli"])),
                "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                "load_avg": os.getloadavg(), "packages": pkgs,
                "helm": out([str(self.testbin / "helm"), "version", "--template", "{{.Version}}"]),
                "quick": self.quick, "argv": sys.argv[1:], "urumi_cli": _urumi_cli_path(),
                "pythonpath": os.environ.get("PYTHONPATH")}

    def table(self, before: dict | None = None, markdown: bool = False) -> str:
        """Plain text or markdown; with `before` (an earlier result file) a column of its figures."""
        old = {(f["part"], f["name"]): f for f in (before or {}).get("figures", [])}
        rows = [("part", "figure", "result", "target", "")] + [
            (f.part, f.name, f.value, f.target, f.status) for f in self.figures]
        if before is not None:
            rows = [rows[0][:2] + ("before",) + rows[0][2:]] + [
                r[:2] + (_before(old.get(r[:2])),) + r[2:] for r in rows[1:]]
        if markdown:
            cells = [[c.replace("|", "\\|") for c in r] for r in rows]
            cells[0][-1] = "status"
            return "\n".join(["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
                             + ["| " + " | ".join(r) + " |" for r in cells[1:]])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = []
        for n, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _urumi_cli_path() -> str:
    """Which urumi_cli the commands run (PYTHONPATH can point them at another copy)."""
    import urumi_cli

    return str(Path(urumi_cli.__file__).parent)


def _before(fig: dict | None) -> str:
    if not fig:
        return "-"
    return f"{fig['value']} {fig['status']}".strip()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a 2-3 minute smoke version (fewer rounds and stores)")
    p.add_argument("--only", choices=("latency", "provision", "fleet", "cluster", "woocommerce", "medusa", "density"),
                   action="append", help="run only this part (repeatable; the last four with --real)")
    p.add_argument("--real", action="store_true",
                   help="on a real kind cluster with real containers (tests/bench/real.py; needs make kind-images)")
    p.add_argument("--pairs", type=int, help="--real: urumi/helm pairs per store type (default 2 WooCommerce, 1 Medusa)")
    p.add_argument("--density-cap", type=int, help="--real: at most this many stores in the density part (default 8)")
    p.add_argument("--keep-cluster", action="store_true", help="--real: leave the kind cluster running")
    p.add_argument("--out", help="JSON result file (default bench-results/latest.json, with --real real.json)")
    p.add_argument("--compare", metavar="OLD.json", help="also show the figures of an earlier result file")
    p.add_argument("--markdown", action="store_true", help="print the table as markdown (for the README)")
    p.add_argument("--show", metavar="RESULT.json", action="append",
                   help="print the table of an earlier run (repeatable: the runs' figures one after the other); run nothing")
    args = p.parse_args(argv)
    args.out = args.out or str(REPO / "bench-results" / ("real.json" if args.real else "latest.json"))
    if args.real:
        from real import PARTS as REAL_PARTS

        parts = args.only or list(REAL_PARTS)
        if set(parts) - set(REAL_PARTS):
            p.error(f"--real parts are {', '.join(REAL_PARTS)}")
    else:
        parts = args.only or ["latency", "provision", "fleet"]
        if set(parts) - {"latency", "provision", "fleet"}:
            p.error("cluster, woocommerce, medusa and density are parts of --real")
    before = json.loads(Path(args.compare).read_text()) if args.compare else None
    if args.show:
        shown = Bench(args)
        shutil.rmtree(shown.tmp, ignore_errors=True)
        shown.figures = [Figure(**f) for path in args.show for f in json.loads(Path(path).read_text())["figures"]]
        print(shown.table(before, markdown=args.markdown))
        return 0
    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    errors = {}
    if args.real:
        return _main_real(args, parts, before, started)
    bench = Bench(args)
    try:
        bench.check_tools(need_cluster=any(x in parts for x in ("provision", "fleet")))
        for part in parts:
            t0 = time.monotonic()
            try:
                getattr(bench, part)()
            except BenchBroken as err:
                errors[part] = str(err)
                log(f"{part}: BROKEN: {err}")
            bench.results.setdefault(part, {})["duration_s"] = time.monotonic() - t0
    except KeyboardInterrupt:
        log("interrupted: stopping commands and the control plane")
        stop_children()
        errors["interrupted"] = True
    except BenchBroken as err:
        errors["setup"] = str(err)
        log(f"BROKEN: {err}")
    finally:
        if bench.cp is not None:
            log(f"stopping control plane {CLUSTER_NAME}")
            bench.cp.down()
        shutil.rmtree(bench.tmp, ignore_errors=True)
    result = {"meta": bench.meta(), "duration_s": time.monotonic() - started, "targets": TARGETS,
              "figures": [f.__dict__ for f in bench.figures], "errors": errors, **bench.results}
    return _report(bench, result, args, before)


def _report(bench, result: dict, args, before) -> int:
    """Write the JSON, print the table; the exit code says whether a part broke."""
    errors = result["errors"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(bench.table(before, markdown=args.markdown))
    print(f"\n{len(bench.figures)} figures in {result['duration_s']:.0f} s; JSON: {out}")
    if errors:
        print(f"benchmark broken: {', '.join(errors)}", file=sys.stderr)
        return 130 if "interrupted" in errors else 1
    return 0


def _main_real(args, parts, before, started) -> int:
    from real import TARGETS as REAL_TARGETS
    from real import RealBench, run_real

    errors = {}
    bench = None
    try:
        bench = RealBench(args)
        errors = run_real(bench, parts)
    except KeyboardInterrupt:
        log("interrupted: stopping commands")
        stop_children()
        errors["interrupted"] = True
    except BenchBroken as err:
        errors["setup"] = str(err)
        log(f"BROKEN: {err}")
    if bench is None:
        return 1
    shutil.rmtree(bench.tmp, ignore_errors=True)
    result = {"meta": {**bench.meta(), "real": True, "parts": parts}, "duration_s": time.monotonic() - started,
              "targets": REAL_TARGETS, "figures": [f.__dict__ for f in bench.figures], "errors": errors,
              **bench.results}
    return _report(bench, result, args, before)


if __name__ == "__main__":
    sys.exit(main())
