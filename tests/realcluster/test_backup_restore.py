"""`urumi store backup` / `urumi store restore` on a real kind cluster: real MariaDB and WordPress
containers, the dump, the uploads and their loading done by exec in those containers.

The WooCommerce setup Job cannot run here (no wp-cli image, no wordpress.org), so stores are made
with `store create --no-wait`: their MariaDB and WordPress pods run (WordPress's readiness probe
accepts the redirect to install.php) while setup stays pending. The test therefore puts its own
data in: a table with a row, a minimal wp_options (to see the host fix-up), a file in uploads.

The stores come from module fixtures (bk1 with its data and its backup, bk2 restored from that
backup); each test takes the ones it needs and runs alone as well as in file order, on the
session's cluster (`real_cluster`, opt-in like the others here). It needs
URUMI_VALUES_WOOCOMMERCE (kind-images.env) for the locally built images, which `store_cluster`
loads into the cluster. To run it beside another real cluster holding ports 80/443, create yours first under
another name with a kind config without extraPortMappings and pass URUMI_RC_NAME (tests/README.md).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import tarfile
from pathlib import Path

import pytest
import yaml

from rc_support import as_json, delete_later, wait_until

pytestmark = pytest.mark.timeout(1500)
SELECT_ROW = "SELECT note FROM urumi_probe WHERE id = 1"
UPLOAD = "/var/www/html/wp-content/uploads/2030/12/probe.txt"


@pytest.fixture(scope="module")
def rc(store_cluster):
    # store_cluster (conftest): the cluster up, the store images loaded, its DNS restricted.
    return store_cluster


@pytest.fixture(scope="module")
def values(rc) -> str:
    return os.environ.get("URUMI_VALUES_WOOCOMMERCE") or rc.settings["URUMI_VALUES_WOOCOMMERCE"]


@pytest.fixture(scope="module")
def backup_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("backups")


def target(rc) -> list[str]:
    return ["--kubeconfig", str(rc.kubeconfig), "--context", rc.context]


def urumi(rc, *args, timeout=900):
    return rc.urumi(*args, *target(rc), timeout=timeout)


def pod_of(rc, store: str, component: str) -> str:
    def name():
        out = rc.kubectl("-n", f"store-{store}", "get", "pods", "-l",
                         f"app.kubernetes.io/instance={store},app.kubernetes.io/component={component}",
                         "-o", "json").stdout
        ready = [p["metadata"]["name"] for p in json.loads(out)["items"]
                 if not p["metadata"].get("deletionTimestamp")
                 and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
        return ready[0] if ready else None

    return wait_until(name, timeout=600, interval=3, what=f"a ready {component} pod of store {store}")


def sql(rc, store: str, statement: str) -> str:
    """Run SQL as the store's database user (the test's own shell, not urumi's)."""
    result = rc.kubectl("-n", f"store-{store}", "exec", pod_of(rc, store, "database"), "-c", "mariadb", "--",
                        "sh", "-c", 'exec mariadb -uwordpress -p"$MARIADB_PASSWORD" -N -B wordpress -e "$1"', "sh",
                        statement, timeout=120)
    return result.stdout.strip()


def read_upload(rc, store: str) -> str:
    result = rc.kubectl("-n", f"store-{store}", "exec", pod_of(rc, store, "web"), "-c", "wordpress", "--",
                        "cat", UPLOAD, check=False, timeout=60)
    return result.stdout if result.returncode == 0 else f"<missing: {result.stderr.strip()}>"


def restore(rc, values: str, store: str, archive: Path, *extra: str):
    return urumi(rc, "store", "restore", store, "--from", str(archive), "-f", values, *extra,
                 "-o", "json", timeout=1200)


@pytest.fixture(scope="module")
def backed_up(rc, values, backup_dir) -> dict:
    """Store bk1 with a row and an upload of its own, and its backup (checked by the first test)."""
    note, upload = f"before-backup-{secrets.token_hex(4)}", f"uploaded {secrets.token_hex(8)}\n"
    urumi(rc, "store", "delete", "bk1", "--yes", timeout=600)  # a kept cluster (URUMI_RC_KEEP) may have one
    created = urumi(rc, "store", "create", "--type", "woocommerce", "--name", "bk1", "--no-wait",
                    "-f", values, "-o", "json")
    assert created.returncode == 0, created.stderr
    sql(rc, "bk1", "CREATE TABLE urumi_probe (id INT PRIMARY KEY, note VARCHAR(64)); "
                   f"INSERT INTO urumi_probe VALUES (1, '{note}'); "
                   "CREATE TABLE wp_options (option_id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                   "option_name VARCHAR(191) UNIQUE, option_value LONGTEXT); "
                   "INSERT INTO wp_options (option_name, option_value) VALUES "
                   "('siteurl', 'http://bk1.localhost'), ('home', 'http://bk1.localhost')")
    rc.kubectl("-n", "store-bk1", "exec", pod_of(rc, "bk1", "web"), "-c", "wordpress", "--", "sh", "-c",
               'mkdir -p "$(dirname "$1")" && printf %s "$2" >"$1"', "sh", UPLOAD, upload)
    assert sql(rc, "bk1", SELECT_ROW) == note and read_upload(rc, "bk1") == upload
    archive = backup_dir / "bk1.urumi.tar"
    result = urumi(rc, "store", "backup", "bk1", "--to", str(archive), "-o", "json")
    yield {"note": note, "upload": upload, "archive": archive, "result": result}
    delete_later(rc, "bk1")


@pytest.fixture(scope="module")
def bk2(rc, values, backed_up) -> str:
    """Store bk2, restored from bk1's backup (the test of that is below)."""
    urumi(rc, "store", "delete", "bk2", "--yes", timeout=600)
    backed_up["bk2_restore"] = restore(rc, values, "bk2", backed_up["archive"])
    yield "bk2"
    delete_later(rc, "bk2")


def test_backup_of_a_store_with_a_row_and_an_upload(rc, backed_up):
    archive, result = backed_up["archive"], backed_up["result"]
    assert result.returncode == 0, result.stderr
    info = as_json(result)
    assert info["path"] == str(archive) and set(info["members"]) == {"database.sql", "files.tar"}
    assert info["includes_secrets"] is False and stat.S_IMODE(archive.stat().st_mode) != 0o600
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["manifest.json", "database.sql", "files.tar"]
        manifest = json.load(tar.extractfile("manifest.json"))
        dump = tar.extractfile("database.sql").read()
        files = tarfile.open(fileobj=tar.extractfile("files.tar"))
        assert files.extractfile("uploads/2030/12/probe.txt").read().decode() == backed_up["upload"]
    assert manifest["store"] == "bk1" and manifest["type"] == "woocommerce"
    assert manifest["chart"]["name"] == "woocommerce" and manifest["chart"]["version"]
    assert backed_up["note"].encode() in dump and b"-- Dump completed" in dump  # mariadb-dump's own trailer
    password = rc.kubectl("-n", "store-bk1", "get", "secret", "store-credentials", "-o",
                          "jsonpath={.data.db-password}").stdout
    import base64

    assert base64.b64decode(password) not in archive.read_bytes()


def test_delete_then_restore_finds_the_row_and_the_upload(rc, values, backed_up):
    deleted = urumi(rc, "store", "delete", "bk1", "--yes", timeout=600)
    assert deleted.returncode == 0, deleted.stderr
    result = restore(rc, values, "bk1", backed_up["archive"])
    assert result.returncode == 0, result.stderr
    info = as_json(result)
    assert info["created"] is True and info["from_store"] == "bk1" and info["url"] == "http://bk1.localhost/"
    assert sql(rc, "bk1", SELECT_ROW) == backed_up["note"]
    assert read_upload(rc, "bk1") == backed_up["upload"]
    # The staged dump does not stay on the database volume.
    staged = rc.kubectl("-n", "store-bk1", "exec", pod_of(rc, "bk1", "database"), "-c", "mariadb", "--",
                        "ls", "/var/lib/mysql/.urumi-restore.sql", check=False)
    assert staged.returncode != 0


def test_restore_into_a_second_name_answers_at_its_own_host(rc, backed_up, bk2):
    result = backed_up["bk2_restore"]
    assert result.returncode == 0, result.stderr
    assert as_json(result)["url"] == "http://bk2.localhost/"
    assert sql(rc, "bk2", SELECT_ROW) == backed_up["note"]
    assert read_upload(rc, "bk2") == backed_up["upload"]
    assert sql(rc, "bk2", "SELECT option_value FROM wp_options WHERE option_name IN ('siteurl', 'home')").split() \
        == ["http://bk2.localhost"] * 2
    # The source store is untouched.
    assert sql(rc, "bk1", "SELECT option_value FROM wp_options WHERE option_name = 'home'") == "http://bk1.localhost"


def _corrupt_copy(archive: Path) -> Path:
    """A copy with one byte of database.sql flipped, inside the member's data."""
    bad = archive.with_name("corrupted.urumi.tar")
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        member = tar.getmember("database.sql")
    data[member.offset_data + member.size // 2] ^= 0x20
    bad.write_bytes(bytes(data))
    return bad


def test_a_corrupted_archive_is_refused_before_anything_changes(rc, values, backed_up, bk2):
    bad = _corrupt_copy(backed_up["archive"])
    sql(rc, "bk2", "INSERT INTO urumi_probe SELECT MAX(id) + 1, 'after-backup' FROM urumi_probe")
    rows = sql(rc, "bk2", "SELECT COUNT(*) FROM urumi_probe")

    result = restore(rc, values, "bk3", bad)
    assert result.returncode == 8, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "database.sql fails its checksum" in lines[0], result.stderr
    assert rc.kubectl("get", "namespace", "store-bk3", check=False).returncode != 0

    result = restore(rc, values, "bk2", bad, "--force", "--yes")
    assert result.returncode == 8, result.stderr
    assert sql(rc, "bk2", "SELECT COUNT(*) FROM urumi_probe") == rows  # nothing was loaded


def test_restore_with_force_replaces_an_existing_stores_data(rc, values, backed_up, bk2):
    sql(rc, "bk2", "INSERT INTO urumi_probe SELECT MAX(id) + 1, 'after-backup' FROM urumi_probe")
    refused = restore(rc, values, "bk2", backed_up["archive"])
    assert refused.returncode == 1 and "store bk2 already exists" in refused.stderr
    result = restore(rc, values, "bk2", backed_up["archive"], "--force", "--yes")
    assert result.returncode == 0, result.stderr
    assert as_json(result)["created"] is False
    assert sql(rc, "bk2", "SELECT id FROM urumi_probe ORDER BY id") == "1"
    assert read_upload(rc, "bk2") == backed_up["upload"]


def test_a_dump_that_fails_to_load_is_an_error_not_a_silent_success(rc, values, bk2, tmp_path):
    import hashlib

    from urumi_cli.actions import archive as fmt

    sql_file = tmp_path / "broken.sql"
    sql_file.write_bytes(b"INSERT INTO urumi_probe VALUES (3, 'partial');\nTHIS IS NOT SQL;\n")
    broken = tmp_path / "broken.urumi.tar"
    member = {"size": sql_file.stat().st_size, "sha256": hashlib.sha256(sql_file.read_bytes()).hexdigest()}
    fmt.write_archive(broken, {"format": fmt.FORMAT, "version": fmt.VERSION, "store": "bk2", "type": "woocommerce",
                               "includes_secrets": False, "members": {fmt.DATABASE: member}},
                      {fmt.DATABASE: sql_file}, private=False)
    result = restore(rc, values, "bk2", broken, "--force", "--yes")
    assert result.returncode == 1, result.stderr
    assert "exited 1: ERROR 1064" in result.stderr and "THIS IS NOT SQL" in result.stderr
    staged = rc.kubectl("-n", "store-bk2", "exec", pod_of(rc, "bk2", "database"), "-c", "mariadb", "--",
                        "ls", "/var/lib/mysql/.urumi-restore.sql", check=False)
    assert staged.returncode != 0  # removed even after the failure


def test_backup_with_secrets_is_private(rc, bk2, tmp_path):
    archive = tmp_path / "bk2-secrets.urumi.tar"
    result = urumi(rc, "store", "backup", "bk2", "--to", str(archive), "--include-secrets", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        assert "secrets.json" in tar.getnames()


def test_medusa_database_commands_in_a_real_postgres(rc):
    """A Medusa store cannot come up offline (its setup Job installs Medusa from npm, and the server
    waits for it), so the engine's own pg_dump/psql argv run through PodExec in a bare pod of the
    chart's PostgreSQL image, set up as the chart sets it (user/db medusa, uid 70)."""
    import io

    from urumi_cli.actions.engines import engine_for
    from urumi_cli.adapters.kube import KubeClient
    from urumi_cli.adapters.kube_exec import PodExec
    from urumi_cli.models import Target

    values = os.environ.get("URUMI_VALUES_MEDUSA") or rc.settings.get("URUMI_VALUES_MEDUSA")
    if not values or not Path(values).is_file():
        pytest.skip("URUMI_VALUES_MEDUSA names no values file")
    image = yaml.safe_load(Path(values).read_text())["database"]["image"]
    image = f"{image['repository']}:{image['tag']}"
    rc.urumi("cluster", "load-images", "--name", rc.name, image, check=True, timeout=900)
    ns = "urumi-pgcheck"
    rc.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", timeout=180)
    rc.kubectl("create", "namespace", ns)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pg", "namespace": ns},
           "spec": {"securityContext": {"runAsUser": 70, "runAsGroup": 70, "fsGroup": 70},
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "postgres", "image": image, "imagePullPolicy": "Never",
                                    "env": [{"name": "POSTGRES_USER", "value": "medusa"},
                                            {"name": "POSTGRES_DB", "value": "medusa"},
                                            {"name": "POSTGRES_PASSWORD", "value": secrets.token_hex(8)}],
                                    "volumeMounts": [{"name": "run", "mountPath": "/var/run/postgresql"}]}],
                    "volumes": [{"name": "run", "emptyDir": {}}]}}
    rc.kubectl("apply", "-f", "-", input_text=json.dumps(pod))

    def psql(statement: str) -> str:
        return rc.kubectl("-n", ns, "exec", "pg", "-c", "postgres", "--", "psql", "-U", "medusa", "-d", "medusa",
                          "-tAc", statement, check=False, timeout=60).stdout.strip()

    wait_until(lambda: psql("SELECT 1") == "1", timeout=300, interval=3, what="PostgreSQL to accept connections")
    psql("CREATE TABLE product (id int PRIMARY KEY, title text); INSERT INTO product VALUES (1, 'kept')")

    spec = engine_for("medusa").backup.database
    pod_exec = PodExec(KubeClient(Target(context=rc.context, kubeconfig=str(rc.kubeconfig))))
    dump = io.BytesIO()
    pod_exec.run(ns, "pg", container=spec.container, argv=list(spec.dump), stdout=dump, timeout_s=120)
    assert b"kept" in dump.getvalue() and b"DROP TABLE IF EXISTS public.product" in dump.getvalue()

    psql("INSERT INTO product VALUES (2, 'after the dump')")
    [(argv, stdin_kind)] = spec.load
    assert stdin_kind == "dump"
    pod_exec.run(ns, "pg", container=spec.container, argv=list(argv), stdin=[dump.getvalue()], timeout_s=120)
    assert psql("SELECT string_agg(title, ',' ORDER BY id) FROM product") == "kept"
    rc.kubectl("delete", "namespace", ns, "--wait=false")
