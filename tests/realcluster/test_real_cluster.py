"""`urumi cluster up|status|load-images|down` on a real kind cluster with real containers: the
ingress controller answers on 127.0.0.1 and NetworkPolicies are enforced by the cluster's CNI.

The tests run in file order and share one cluster (session fixture `real_cluster`)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from rc_support import as_json, wait_until

pytestmark = pytest.mark.timeout(900)
NS = "urumi-netcheck"


def node_container_id(cluster) -> str:
    import subprocess

    result = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", f"{cluster.name}-control-plane"],
                            env=cluster.env, capture_output=True, text=True, timeout=30)
    return result.stdout.strip()


def test_cluster_up_creates_a_real_cluster_with_its_ingress(real_cluster):
    start = time.monotonic()
    info = as_json(real_cluster.urumi(*real_cluster.up_args(), check=True))
    took = time.monotonic() - start
    print(f"cluster up (create) took {took:.0f}s")
    assert info["name"] == real_cluster.name and info["context"] == real_cluster.context
    assert info["exists"] and info["reachable"] and info["ingress_ready"], info
    nodes = real_cluster.kubectl("get", "nodes", "-o", "jsonpath={.items[*].status.nodeInfo.kubeletVersion}").stdout
    assert nodes.split() == ["v1.36.3"]
    image = real_cluster.kubectl("-n", "traefik", "get", "pods", "-o",
                                 "jsonpath={.items[*].spec.containers[*].image}").stdout
    assert image.startswith("urumi.local/traefik:")


def test_a_second_cluster_up_changes_nothing(real_cluster):
    before = node_container_id(real_cluster)
    revision = real_cluster.kubectl("-n", "traefik", "get", "deploy", "-o",
                                    "jsonpath={.items[0].metadata.generation}").stdout
    start = time.monotonic()
    info = as_json(real_cluster.urumi(*real_cluster.up_args(), check=True))
    print(f"cluster up (again) took {time.monotonic() - start:.0f}s")
    assert info["created"] is False and info["ingress_ready"]
    assert node_container_id(real_cluster) == before
    assert real_cluster.kubectl("-n", "traefik", "get", "deploy", "-o",
                                "jsonpath={.items[0].metadata.generation}").stdout == revision


def test_cluster_status_reports_ready(real_cluster):
    result = real_cluster.urumi("cluster", "status", "--name", real_cluster.name, "--kubeconfig",
                                str(real_cluster.kubeconfig), "-o", "json")
    info = as_json(result)
    assert result.returncode == 0, result.stderr
    assert info["exists"] and info["reachable"] and info["ingress_ready"] and info["message"] == "ready"


def test_the_ingress_controller_answers_on_localhost(real_cluster):
    def answer():
        try:
            with urllib.request.urlopen("http://127.0.0.1/", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()
        except OSError:
            return None

    status, body = wait_until(answer, timeout=60, what="http://127.0.0.1/ to answer")
    # No Ingress matches a bare 127.0.0.1: Traefik itself answers 404.
    assert status == 404 and "404 page not found" in body


def _pod(name: str, labels: dict, image: str, command: list[str]) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": labels},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                                     "command": command}]}}


def _fetch(cluster, client: str, ip: str):
    """GET / over a plain TCP connection from the client pod (bash's /dev/tcp), 5 s at most.
    Exit 0 with the body "ok" when it got through; timeout's 124 when the SYN was dropped."""
    script = (f'exec 3<>/dev/tcp/{ip}/8080 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3')
    result = cluster.kubectl("-n", NS, "exec", client, "--", "timeout", "5", "bash", "-c", script,
                             check=False, timeout=60)
    body = (result.stdout.strip().splitlines() or [""])[-1].strip()  # after the headers
    return result.returncode, body, result.stderr


def test_load_images_puts_a_local_image_into_the_node(real_cluster):
    image = real_cluster.settings["URUMI_NETCHECK_IMAGE"]
    result = real_cluster.urumi("cluster", "load-images", "--name", real_cluster.name, image, "-o", "json",
                                check=True)
    assert as_json(result)["images"] == [image]
    import subprocess

    # The node's own view (the Node's status.images lags by up to a status period).
    listed = subprocess.run(["docker", "exec", f"{real_cluster.name}-control-plane", "crictl", "images", "-o", "json"],
                            env=real_cluster.env, capture_output=True, text=True, timeout=60)
    tags = [t for i in json.loads(listed.stdout)["images"] for t in i.get("repoTags") or []]
    assert image in tags


def test_network_policy_is_enforced(real_cluster):
    image = real_cluster.settings["URUMI_NETCHECK_IMAGE"]
    real_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true", timeout=180)  # a kept cluster
    real_cluster.kubectl("create", "namespace", NS)
    pods = [
        _pod("server", {"app": "server"}, image, ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]),
        _pod("allowed", {"role": "allowed"}, image, ["sleep", "3600"]),
        _pod("denied", {"role": "denied"}, image, ["sleep", "3600"]),
    ]
    real_cluster.kubectl("apply", "-f", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    real_cluster.kubectl("-n", NS, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=180s", timeout=200)
    ip = real_cluster.kubectl("-n", NS, "get", "pod", "server", "-o", "jsonpath={.status.podIP}").stdout.strip()
    assert ip

    # Without a policy both clients reach the server: any later failure is the policy's doing.
    for client in ("allowed", "denied"):
        code, body, err = _fetch(real_cluster, client, ip)
        assert code == 0 and body == "ok", (client, code, body, err)

    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "server-from-allowed", "namespace": NS},
              "spec": {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"],
                       "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "allowed"}}}],
                                    "ports": [{"protocol": "TCP", "port": 8080}]}]}}
    real_cluster.kubectl("apply", "-f", "-", input_text=json.dumps(policy))

    # The agent sees the policy through a watch: give it a moment to arrive.
    wait_until(lambda: _fetch(real_cluster, "denied", ip)[0] != 0, timeout=30,
               what="the policy to block the denied client")
    code, body, err = _fetch(real_cluster, "allowed", ip)
    assert code == 0 and body == "ok", ("allowed", code, body, err)
    # The agent drops the connection's first packet: the denied client never connects and
    # timeout(1) ends it (124); a REJECT-style policy would show as a refused connection (1).
    code, body, err = _fetch(real_cluster, "denied", ip)
    assert code in (124, 1) and body != "ok", ("denied", code, body, err)

    real_cluster.kubectl("delete", "namespace", NS, "--wait=false")


def test_cluster_down_removes_it(real_cluster):
    real_cluster.settle()  # the other modules' deletions in the background end first
    result = real_cluster.urumi("cluster", "down", "--name", real_cluster.name, "--kubeconfig",
                                str(real_cluster.kubeconfig), "--yes", "-o", "json", check=True)
    assert as_json(result)["deleted"] is True
    status = real_cluster.urumi("cluster", "status", "--name", real_cluster.name, "--kubeconfig",
                                str(real_cluster.kubeconfig), "-o", "json")
    assert status.returncode == 1 and as_json(status)["exists"] is False
