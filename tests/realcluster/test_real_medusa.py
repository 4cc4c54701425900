"""A Medusa store on the real kind cluster, end to end: the real `urumi` CLI and helm, real
PostgreSQL, Redis and Node.js processes, and Medusa 2 itself installed from the npm registry by the
chart's setup Job (the only network the test cluster's DNS resolves besides its own names, see
tests/harness/coredns/Corefile). The store takes a real order through Medusa's Store API, answers
through the real ingress, and then lives through day-2 operations: its logs followed across a
restart, an upgrade that cannot start rolled back while it keeps serving, a backup restored over it.

The path taken: npm in the pod (the chart's default), not a Medusa image built on the host: the
pod reaches the registry. Where a machine reaches npm through a TLS-inspecting proxy (ours do), the
pod must trust that proxy's CA as the host does: the values file of tests/harness/kind-images
carries the CAs the host's administrator added, as the chart's documented `setup.extraCACerts`.

One store for the module (`m1`, made by the fixture); the tests run in file order and each leaves
it ready."""

from __future__ import annotations

import io
import json
import secrets
import signal
import subprocess
import sys
import tarfile
import threading
import time

import pytest

from rc_support import REPO_ROOT, as_json, delete_later, early, http_get, store, wait_until

pytestmark = pytest.mark.timeout(2400)
NAME = "m1"
NS = f"store-{NAME}"
HOST = f"{NAME}.localhost"


def create_medusa(cluster):
    store(cluster, "delete", NAME, "--yes", timeout=600)  # a kept cluster (URUMI_RC_KEEP) may have one
    files = ["-f", cluster.settings["URUMI_VALUES_MEDUSA"]]
    started = time.monotonic()
    created = store(cluster, "create", "--type", "medusa", "--name", NAME, *files, "--timeout", "30m", "-o", "json",
                    timeout=2000)
    return created, time.monotonic() - started


# Its setup installs Medusa from npm (minutes): it starts as soon as the session's cluster is ready,
# while the other modules' tests run.
early("medusa", create_medusa)


@pytest.fixture(scope="module")
def medusa(store_cluster):
    cluster = store_cluster
    created, took = cluster.result("medusa")
    print(f"\nmedusa store {NAME}: create exited {created.returncode} after {took:.0f}s")
    yield cluster, created
    delete_later(cluster, NAME)


def ready_pod(cluster, component: str) -> str:
    def name():
        items = json.loads(cluster.kubectl("-n", NS, "get", "pods", "-l",
                                           f"app.kubernetes.io/instance={NAME},app.kubernetes.io/component={component}",
                                           "-o", "json").stdout)["items"]
        ready = [p["metadata"]["name"] for p in items if not p["metadata"].get("deletionTimestamp")
                 and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
        return ready[0] if ready else None

    return wait_until(name, timeout=300, interval=2, what=f"a ready {component} pod of {NAME}")


def psql(cluster, statement: str) -> str:
    return cluster.kubectl("-n", NS, "exec", ready_pod(cluster, "database"), "-c", "postgres", "--", "psql",
                           "-U", "medusa", "-d", "medusa", "-tAc", statement, timeout=60).stdout.strip()


def web_exec(cluster, *argv: str, check: bool = True):
    return cluster.kubectl("-n", NS, "exec", ready_pod(cluster, "web"), "-c", "medusa", "--", *argv, check=check,
                           timeout=60)


def test_medusa_store_is_ready_with_real_processes(medusa):
    cluster, created = medusa
    assert created.returncode == 0, created.stderr
    info = as_json(created)
    assert info["status"] == "ready" and info["url"] == f"http://{HOST}/", info
    commands = {}
    for component, container in (("database", "postgres"), ("cache", "redis"), ("web", "medusa")):
        ps = cluster.kubectl("-n", NS, "exec", ready_pod(cluster, component), "-c", container, "--",
                             "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '").stdout
        commands[component] = ps
    assert "postgres" in commands["database"] and "redis-server" in commands["cache"], commands
    assert "medusa" in commands["web"] and "start" in commands["web"], commands
    setup = cluster.kubectl("-n", NS, "logs", f"job/{NAME}-setup-1", "--all-containers").stdout
    assert "@medusajs/medusa" in cluster.kubectl("-n", NS, "exec", ready_pod(cluster, "web"), "-c", "medusa", "--",
                                                 "cat", "package.json").stdout
    assert setup.strip(), "the setup Job left no log"


def test_store_test_places_an_order_and_reads_it_back(medusa):
    cluster, _ = medusa
    before = int(psql(cluster, 'SELECT count(*) FROM "order"'))
    result = store(cluster, "test", NAME, "-o", "json", timeout=600)
    assert result.returncode == 0, result.stderr
    log = cluster.kubectl("-n", NS, "logs", f"{NAME}-test-order").stdout
    assert "placed order order_" in log and "is in the admin" in log, log
    order_id = log.split("placed order ")[1].split()[0]
    assert psql(cluster, f"SELECT count(*) FROM \"order\" WHERE id = '{order_id}'") == "1"
    assert int(psql(cluster, 'SELECT count(*) FROM "order"')) == before + 1


def test_medusa_answers_through_the_real_ingress(medusa):
    status, _, body = http_get(HOST, "/health")
    assert (status, body) == (200, "OK")
    # "/" is Medusa's own answer (a headless store has no page there), not the controller's 404.
    status, headers, _ = http_get(HOST, "/")
    assert status == 404 and headers.get("X-Powered-By") == "Express", headers
    status, _, body = http_get(HOST, "/app/")
    assert status == 200 and "<html" in body.lower()
    status, _, body = http_get(HOST, "/store/products")
    assert status == 400 and "publishable" in body.lower()  # the Store API, asking for its key


def test_logs_follow_a_real_pod_across_its_restart(medusa):
    cluster, _ = medusa
    argv = [sys.executable, "-m", "urumi_cli", "store", "logs", NAME, "-c", "cache", "-f", "-o", "json",
            "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context]
    follower = subprocess.Popen(argv, env=cluster.env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
    lines: list[dict] = []
    reader = threading.Thread(target=lambda: lines.extend(json.loads(line) for line in follower.stdout), daemon=True)
    reader.start()
    try:
        starts = lambda: sum("Redis is starting" in entry["line"] for entry in lines)  # noqa: E731
        wait_until(lambda: starts() >= 1, timeout=60, what="the running Redis's first lines")
        cluster.kubectl("-n", NS, "delete", "pod", f"{NAME}-redis-0", "--wait=true", timeout=120)
        wait_until(lambda: starts() >= 2, timeout=180, what="the new Redis pod's first lines in the same follow")
        wait_until(lambda: any("Ready to accept connections" in e["line"] for e in lines[-20:]), timeout=60,
                   what="the new Redis ready")
        assert follower.poll() is None, follower.stderr.read()
        assert {entry["pod"] for entry in lines} == {f"{NAME}-redis-0"}
        assert any("SIGTERM" in entry["line"] or "shutdown" in entry["line"].lower() for entry in lines)
    finally:
        follower.send_signal(signal.SIGINT)
        try:
            follower.wait(timeout=20)
        except subprocess.TimeoutExpired:
            follower.kill()
    assert follower.returncode in (0, 130), follower.stderr.read()
    wait_until(lambda: ready_pod(cluster, "cache"), timeout=120, what="Redis ready again")


def test_an_upgrade_that_cannot_start_is_rolled_back_and_the_store_keeps_serving(medusa):
    cluster, _ = medusa
    answers: list[int] = []
    done = threading.Event()

    def probe():
        while not done.is_set():
            answers.append(http_get(HOST, "/health")[0])
            time.sleep(0.5)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        # A Redis tag that exists nowhere: the pull fails at name resolution (the test cluster's DNS).
        result = store(cluster, "upgrade", NAME, "--set-version", "redis=0.0-missing", "--timeout", "10m",
                       "-o", "json", timeout=900)
    finally:
        done.set()
        prober.join(timeout=20)
    assert result.returncode == 6, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "redis:0.0-missing" in errors[0] and "rolled back automatically" in errors[0], \
        result.stderr
    assert "the store is ready again" in errors[0]
    print(f"\n/health during the failed upgrade and its rollback: {answers.count(200)}/{len(answers)} answered 200")
    # Redis is replaced pod by pod and the server is not restarted: the store never stops answering.
    assert answers and answers.count(200) == len(answers), answers
    assert http_get(HOST, "/health")[:1] == (200,)
    image = cluster.kubectl("-n", NS, "get", "statefulset", f"{NAME}-redis", "-o",
                            "jsonpath={.spec.template.spec.containers[0].image}").stdout
    assert not image.endswith(":0.0-missing")
    history = as_json(store(cluster, "history", NAME, "-o", "json"))
    actions = [event["action"] for event in history["events"]]
    assert actions[-2:] == ["upgrade-failed", "rolled-back"], actions
    listed = as_json(store(cluster, "list", "--refresh", "-o", "json"))
    assert [s["status"] for s in listed if s["name"] == NAME] == ["ready"]


def test_backup_then_restore_over_the_store_brings_back_its_data_and_files(medusa, tmp_path):
    cluster, _ = medusa
    note = f"kept-{secrets.token_hex(4)}"
    upload = f"uploaded {secrets.token_hex(8)}\n"
    psql(cluster, f"CREATE TABLE urumi_probe (id int PRIMARY KEY, note text); INSERT INTO urumi_probe VALUES (1, '{note}')")
    web_exec(cluster, "sh", "-c", 'mkdir -p static && printf %s "$1" > static/probe.txt', "sh", upload)
    orders = psql(cluster, 'SELECT count(*) FROM "order"')
    assert int(orders) >= 1  # the order of the test above

    archive = tmp_path / "m1.urumi.tar"
    result = store(cluster, "backup", NAME, "--to", str(archive), "-o", "json", timeout=600)
    assert result.returncode == 0, result.stderr
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        dump = tar.extractfile("database.sql").read()
        files = tarfile.open(fileobj=io.BytesIO(tar.extractfile("files.tar").read()))
        assert files.extractfile("static/probe.txt").read().decode() == upload
    assert manifest["type"] == "medusa" and manifest["chart"]["name"] == "medusa" and manifest["app_version"], manifest
    assert note.encode() in dump and b"PostgreSQL database dump complete" in dump

    # After the backup: the row and the file go, an order is added.
    psql(cluster, "DROP TABLE urumi_probe")
    web_exec(cluster, "rm", "static/probe.txt")
    assert store(cluster, "test", NAME, timeout=600).returncode == 0
    assert psql(cluster, 'SELECT count(*) FROM "order"') == str(int(orders) + 1)

    result = store(cluster, "restore", NAME, "--from", str(archive), "--force", "--yes", "-o", "json", timeout=1200)
    assert result.returncode == 0, result.stderr
    assert as_json(result)["created"] is False
    assert psql(cluster, "SELECT note FROM urumi_probe WHERE id = 1") == note
    assert psql(cluster, 'SELECT count(*) FROM "order"') == orders
    assert web_exec(cluster, "cat", "static/probe.txt").stdout == upload
    # The restored store still takes orders.
    tested = store(cluster, "test", NAME, timeout=600)
    assert tested.returncode == 0, tested.stderr
