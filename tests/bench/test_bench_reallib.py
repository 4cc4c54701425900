"""The real-cluster benchmark's parsing (tests/bench/reallib.py) on recorded object shapes: no
cluster needed. The benchmark itself asserts on no time; these check its arithmetic."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reallib  # noqa: E402


def pod(name="w-web-1", component="web", phase="Pending", conditions=(), init=(), containers=(), spec=None):
    return {"metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
            "spec": spec or {}, "status": {"phase": phase, "conditions": [
                {"type": t, "status": s, **extra} for t, s, extra in conditions],
                "initContainerStatuses": list(init), "containerStatuses": list(containers)}}


def test_kind_config_loses_its_host_ports_only():
    text = ("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n"
            "    kubeadmConfigPatches: ['x']\n    extraPortMappings:\n      - {containerPort: 80, hostPort: 80}\n"
            "kubeadmConfigPatches:\n  - |\n    kind: KubeletConfiguration\n    failCgroupV1: false\n")
    import yaml

    out = yaml.safe_load(reallib.strip_port_mappings(text))
    assert "extraPortMappings" not in out["nodes"][0]
    assert out["nodes"][0]["kubeadmConfigPatches"] == ["x"]
    assert "failCgroupV1: false" in out["kubeadmConfigPatches"][0]


def test_pod_milestones_follow_a_pod_from_pending_to_ready():
    pending = pod(conditions=[("PodScheduled", "False", {"reason": "Unschedulable",
                                                         "message": "0/1 nodes are available: 1 Insufficient cpu."})])
    assert reallib.pod_milestones(pending) == ["created", "unschedulable: 0/1 nodes are available: 1 Insufficient cpu."]
    init_running = pod(conditions=[("PodScheduled", "True", {})],
                       init=[{"name": "wordpress-core", "state": {"running": {}}, "restartCount": 0}],
                       containers=[{"name": "wordpress", "state": {"waiting": {"reason": "PodInitializing"}}}])
    assert reallib.pod_milestones(init_running) == ["created", "scheduled", "init wordpress-core started"]
    started = pod(phase="Running", conditions=[("PodScheduled", "True", {}), ("Initialized", "True", {})],
                  init=[{"name": "wordpress-core", "state": {"terminated": {"exitCode": 0}}}],
                  containers=[{"name": "wordpress", "state": {"running": {}}, "started": False, "ready": False}])
    ready = pod(phase="Running", conditions=[("PodScheduled", "True", {}), ("Initialized", "True", {}),
                                             ("Ready", "True", {})],
                init=[{"name": "wordpress-core", "state": {"terminated": {"exitCode": 0}}}],
                containers=[{"name": "wordpress", "state": {"running": {}}, "started": True, "ready": True}])
    new = set(reallib.pod_milestones(ready)) - set(reallib.pod_milestones(started))
    assert new == {"wordpress startup probe passed", "wordpress ready", "ready"}
    assert "init wordpress-core exited 0" in reallib.pod_milestones(started)


def test_failed_setup_pod_and_job():
    failed = pod(name="w-setup-1-abc", component="setup", phase="Failed",
                 init=[{"name": "fetch-packages", "state": {"terminated": {"exitCode": 1}}}],
                 containers=[{"name": "setup", "state": {"waiting": {"reason": "PodInitializing"}}}])
    ms = reallib.pod_milestones(failed)
    assert "init fetch-packages exited 1" in ms and ms[-1] == "failed"
    job = {"metadata": {"name": "w-setup-1"}, "status": {"startTime": "x", "failed": 3, "conditions": [
        {"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}]}}
    assert reallib.job_milestones(job) == ["created", "started", "pods failed 3", "FailureTarget", "Failed"]
    assert reallib.job_failed(job)


class _Watcher(reallib.StoreWatcher):
    def __init__(self):  # no threads: only the recording and evaluation logic
        self.records, self.objects = [], {k: {} for k in self.kinds}
        self.expected = {"Deployment": 1, "StatefulSet": 1, "Job": 1}
        self.failed_since = self.components_ready_since = self.ready_since = None


def test_store_watcher_records_first_arrivals_and_ends():
    w = _Watcher()
    p1 = pod(conditions=[("PodScheduled", "True", {})])
    w._changed("Pod", None, p1, 1.0)
    w._changed("Pod", p1, p1, 2.0)  # nothing new
    p2 = pod(phase="Running", conditions=[("PodScheduled", "True", {}), ("Ready", "True", {})])
    w._changed("Pod", p1, p2, 3.0)
    assert [(r["t"], r["milestone"]) for r in w.records] == [(1.0, "created"), (1.0, "scheduled"), (3.0, "ready")]
    dep = {"metadata": {"name": "web", "generation": 1}, "spec": {"replicas": 1},
           "status": {"observedGeneration": 1, "updatedReplicas": 1, "availableReplicas": 1}}
    sts = {"metadata": {"name": "db", "generation": 1}, "spec": {"replicas": 1},
           "status": {"observedGeneration": 1, "readyReplicas": 1}}
    w.objects["Deployment"]["web"], w.objects["StatefulSet"]["db"] = dep, sts
    w.objects["Job"]["setup"] = {"metadata": {"name": "setup"}, "status": {"active": 1}}
    w._evaluate(5.0)
    assert w.components_ready_since == 5.0 and w.failed_since is None and w.ready_since is None
    w.objects["Job"]["setup"] = {"metadata": {"name": "setup"}, "status": {
        "conditions": [{"type": "FailureTarget", "status": "True"}]}}
    w._evaluate(9.0)
    w._evaluate(10.0)
    assert w.failed_since == 9.0 and w.components_ready_since == 5.0


def test_timeline_and_probe_waits():
    recs = [{"t": 10.0, "kind": "Pod", "name": "web-1", "component": "web", "milestone": "created"},
            {"t": 11.0, "kind": "Pod", "name": "web-1", "component": "web", "milestone": "wordpress started"},
            {"t": 14.5, "kind": "Pod", "name": "web-1", "component": "web", "milestone": "wordpress ready"},
            {"t": 10.5, "kind": "Deployment", "name": "web", "component": "web", "milestone": "created"},
            {"t": 20.0, "kind": "Pod", "name": "setup-1", "component": "setup", "milestone": "init fetch-packages started"}]
    tl = reallib.timeline(recs, 10.0)
    assert [m for _, _, m in tl["web"]] == ["created", "wordpress started", "wordpress ready"]
    assert tl["setup"] == [(10.0, "Pod setup-1", "init fetch-packages started")]
    assert reallib.probe_waits(recs) == {"web/wordpress": 3.5}
    assert reallib.setup_pod_started(recs) == 20.0
    assert "init fetch-packages started" in reallib.format_timeline(tl)


def test_pod_requests_count_init_containers_as_the_scheduler_does():
    spec = {"initContainers": [{"resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}},
                               {"resources": {"requests": {"cpu": "1", "memory": "32Mi"}}}],
            "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                          "limits": {"cpu": "1", "memory": "1Gi"}}},
                           {"resources": {"requests": {"cpu": "250m", "memory": "128Mi"}}}]}
    req = reallib.pod_requests({"spec": spec})
    assert req["requests.cpu"] == 1000 and req["requests.memory"] == 384 and req["limits.memory"] == 1024
    assert reallib.mem_bytes("1500M") == 1.5e9 and reallib.cpu_millis("1500000n") == 1.5
    with pytest.raises(ValueError):
        reallib.mem_bytes("12Xi")


SUMMARY = {"node": {"cpu": {"usageNanoCores": 900_000_000}, "memory": {"workingSetBytes": 3 * 2**30,
                                                                       "availableBytes": 20 * 2**30}},
           "pods": [{"podRef": {"namespace": "store-a", "name": "a-web-1"},
                     "containers": [{"name": "wordpress", "cpu": {"usageNanoCores": 5_000_000},
                                     "memory": {"workingSetBytes": 40 * 2**20}}]},
                    {"podRef": {"namespace": "store-a", "name": "a-mariadb-0"},
                     "containers": [{"name": "mariadb", "cpu": {"usageNanoCores": 2_000_000},
                                     "memory": {"workingSetBytes": 90 * 2**20}}]},
                    {"podRef": {"namespace": "kube-system", "name": "etcd"}, "containers": [{"name": "etcd"}]}]}


def test_stats_per_component_and_namespace():
    s = reallib.parse_summary(SUMMARY)
    assert s["node"] == {"cpu_m": 900.0, "mem_mib": 3072.0, "mem_available_mib": 20480.0}
    assert s["pods"]["store-a/a-web-1"]["cpu_m"] == 5.0 and s["pods"]["kube-system/etcd"]["mem_mib"] == 0
    samples = [{**s, "t": 1.0}, {**reallib.parse_summary(SUMMARY), "t": 2.0}, {**s, "t": 9.0}]
    comps = {"a-web-1": "web", "a-mariadb-0": "database"}
    out = reallib.by_component(samples, "store-a", comps, 0.0, 5.0)
    assert out["web"]["samples"] == 2 and out["web"]["mem_peak_mib"] == 40.0 and out["database"]["cpu_median_m"] == 2.0
    assert reallib.namespace_totals(s, ("store-",)) == {"store-a": {"mem_mib": 130.0, "cpu_m": 7.0}}


def test_recommendation_has_the_stated_headroom():
    rec = reallib.recommend({"web": {"rest": {"mem_peak_mib": 40, "cpu_median_m": 2},
                                     "setup": {"mem_peak_mib": 100, "cpu_median_m": 50}},
                             "setup": {"rest": None, "setup": {"mem_peak_mib": 300, "mem_median_mib": 200,
                                                               "cpu_median_m": 400}}})
    assert rec["web"] == {"requests.memory_mib": 64, "limits.memory_mib": 192, "requests.cpu_m": 25}
    assert rec["setup"]["requests.memory_mib"] == 320 and rec["setup"]["limits.memory_mib"] == 512
    assert rec["setup"]["requests.cpu_m"] == 800
