"""`store backup` / `store restore` with fakes at the seams (FakeKube, FakeHelm, FakePodExec): the
archive format and its verification, what is sent to exec (argv lists, secrets on stdin only),
mode 0600 with secrets, and that a bad archive is refused before any cluster call."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes import FakePodExec, FollowStream, deployment, ready_objects, statefulset, store_pods
from urumi_cli import errors
from urumi_cli.actions import archive as fmt
from urumi_cli.actions.backup import (
    BackupOptions, RestoreOptions, backup_store, restore_store, verify_archive,
)
from urumi_cli.actions.contract import namespace_labels
from urumi_cli.actions.engines import engine_for
from urumi_cli.adapters.kube_exec import ExecFailed, exit_code_of, printable
from urumi_cli.adapters.registry import Registry
from urumi_cli.cli.app import build_app
from urumi_cli.cli.deps import Deps
from urumi_cli.config import Settings
from urumi_cli.errors import ArchiveInvalid, Conflict, NotFound, UsageError
from urumi_cli.models import Store, Target
from urumi_cli.ui.console import make_consoles

pytestmark = pytest.mark.timeout(30)
TARGET = Target(context="kind-urumi")
PASSWORD = "Db1passWORD2"
SQL = b"CREATE TABLE wp_posts (id int);\nINSERT INTO wp_posts VALUES (42);\n"


def woo_store(kube, pod_exec, name="shop", *, uploads=None):
    ns = f"store-{name}"
    kube.add_namespace(ns, namespace_labels(name, "woocommerce"), {"urumi.dev/url": f"http://{name}.localhost/"})
    kube.secrets[(ns, "store-credentials")] = {"db-password": PASSWORD, "admin-username": "admin",
                                               "admin-password": "AdminPw1"}
    sts = statefulset(f"{name}-mariadb", release=name)
    sts["metadata"]["labels"].update({"helm.sh/chart": "woocommerce-0.1.0", "app.kubernetes.io/version": "11.0.1"})
    kube.objects[ns] = {"pods": store_pods(name), "statefulsets": [sts],
                        "deployments": [deployment(f"{name}-web", release=name)]}
    pod_exec.databases[ns] = SQL
    tree = pod_exec.trees[ns]
    tree["/var/www/html/wp-content/uploads/"] = b""
    for path, content in (uploads or {"2030/01/cat.jpg": b"\xff\xd8meow"}).items():
        tree[f"/var/www/html/wp-content/uploads/{path}"] = content
    return ns


def take_backup(kube, pod_exec, reporter, tmp_path, **options) -> Path:
    out = tmp_path / "shop.urumi.tar"
    backup_store(BackupOptions(name="shop", target=TARGET, output=out, **options), kube=kube, pod_exec=pod_exec,
                 reporter=reporter)
    return out


def members_of(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


# -- the archive -----------------------------------------------------------------------------------
def test_backup_writes_a_manifest_first_with_the_checksum_of_every_member(kube, pod_exec, reporter, tmp_path):
    woo_store(kube, pod_exec)
    out = take_backup(kube, pod_exec, reporter, tmp_path)
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert names == ["manifest.json", "database.sql", "files.tar"]
    members = members_of(out)
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "urumi-backup" and manifest["version"] == 1
    assert (manifest["store"], manifest["type"]) == ("shop", "woocommerce")
    assert manifest["chart"] == {"name": "woocommerce", "version": "0.1.0"} and manifest["app_version"] == "11.0.1"
    assert manifest["source"]["url"] == "http://shop.localhost/" and manifest["created_at"].endswith("Z")
    assert manifest["includes_secrets"] is False
    import hashlib

    for name in ("database.sql", "files.tar"):
        assert manifest["members"][name] == {"size": len(members[name]),
                                             "sha256": hashlib.sha256(members[name]).hexdigest()}
    assert members["database.sql"] == SQL
    with tarfile.open(fileobj=io.BytesIO(members["files.tar"])) as files:
        assert files.extractfile("uploads/2030/01/cat.jpg").read() == b"\xff\xd8meow"
    # No secret anywhere in it, and no temporary file left beside it.
    assert PASSWORD.encode() not in out.read_bytes() and b"AdminPw1" not in out.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.urumi.tar"]


def test_secrets_only_with_include_secrets_and_then_mode_0600(kube, pod_exec, reporter, tmp_path):
    woo_store(kube, pod_exec)
    old = os.umask(0o022)
    try:
        plain = take_backup(kube, pod_exec, reporter, tmp_path)
        assert stat.S_IMODE(plain.stat().st_mode) == 0o644
        plain.rename(tmp_path / "plain.tar")
        private = take_backup(kube, pod_exec, reporter, tmp_path, include_secrets=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    members = members_of(private)
    assert json.loads(members["manifest.json"])["includes_secrets"] is True
    assert json.loads(members["secrets.json"])["store-credentials"]["db-password"] == PASSWORD


def test_the_archive_replaces_the_destination_atomically_and_a_failure_leaves_the_old_one(kube, pod_exec,
                                                                                          reporter, tmp_path):
    woo_store(kube, pod_exec)
    out = tmp_path / "shop.urumi.tar"
    out.write_bytes(b"the previous backup")
    pod_exec.fail["tar"] = (2, "tar: uploads: Cannot open: Permission denied")
    with pytest.raises(ExecFailed) as caught:
        take_backup(kube, pod_exec, reporter, tmp_path)
    assert "`tar -c -f - -C /var/www/html/wp-content uploads`" in caught.value.message
    assert "Permission denied" in caught.value.message
    assert out.read_bytes() == b"the previous backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.urumi.tar"]  # no temporary directory left


# -- what goes to exec -------------------------------------------------------------------------------
def test_backup_execs_argv_lists_and_sends_the_password_on_stdin_only(kube, pod_exec, reporter, tmp_path):
    woo_store(kube, pod_exec)
    take_backup(kube, pod_exec, reporter, tmp_path)
    runs = [(c["pod"], c["container"], c["argv"]) for c in pod_exec.calls]
    assert runs == [
        ("shop-db-0", "mariadb", ["mariadb-dump", "--defaults-extra-file=/dev/stdin", "--single-transaction",
                                  "--quick", "--no-tablespaces", "--hex-blob", "--default-character-set=utf8mb4",
                                  "wordpress"]),
        ("shop-web-abc", "wordpress", ["mkdir", "-p", "/var/www/html/wp-content/uploads"]),
        ("shop-web-abc", "wordpress", ["tar", "-c", "-f", "-", "-C", "/var/www/html/wp-content", "uploads"]),
    ]
    for call in pod_exec.calls:
        assert not any(PASSWORD in arg for arg in call["argv"])
        assert os.path.basename(call["argv"][0]) not in ("sh", "bash", "dash", "env")  # no shell, no env VAR=
    dump = pod_exec.calls[0]["stdin"].decode()
    assert dump.startswith("[client]\n") and f'password="{PASSWORD}"' in dump


def test_the_option_file_quotes_a_password_with_quotes_and_backslashes():
    spec = engine_for("woocommerce").backup.database
    text = spec.credentials({"db-password": 'a"b\\c'}).decode()
    assert 'password="a\\"b\\\\c"' in text


def test_medusa_dumps_over_the_local_socket_without_any_password(kube, reporter, tmp_path):
    pod_exec = FakePodExec(kube)
    ns = "store-shop"
    kube.add_namespace(ns, namespace_labels("shop", "medusa"))
    kube.secrets[(ns, "store-credentials")] = {"postgres-password": "pgsecret"}
    kube.objects[ns] = {"pods": store_pods("shop", web_container="medusa", working_dir="/app/medusa-x/.medusa/server")}
    pod_exec.databases[ns] = b"-- pg\n"
    pod_exec.trees[ns]["/app/medusa-x/.medusa/server/static/"] = b""
    out = take_backup(kube, pod_exec, reporter, tmp_path)
    argvs = [c["argv"] for c in pod_exec.calls]
    assert argvs[0] == ["pg_dump", "--username=medusa", "--dbname=medusa", "--no-password", "--clean", "--if-exists",
                        "--no-owner", "--no-privileges"]
    assert pod_exec.calls[0]["stdin"] is None
    # The uploads directory is found from the container's workingDir.
    assert argvs[2] == ["tar", "-c", "-f", "-", "-C", "/app/medusa-x/.medusa/server", "static"]
    assert json.loads(members_of(out)["manifest.json"])["type"] == "medusa"


def test_backup_of_a_store_that_does_not_exist_is_not_found(kube, pod_exec, reporter, tmp_path):
    with pytest.raises(NotFound):
        take_backup(kube, pod_exec, reporter, tmp_path)
    assert pod_exec.calls == [] and list(tmp_path.iterdir()) == []


def test_backup_without_a_ready_database_pod_says_so(kube, pod_exec, reporter, tmp_path):
    ns = woo_store(kube, pod_exec)
    kube.objects[ns]["pods"] = [p for p in kube.objects[ns]["pods"]
                                if p["metadata"]["labels"].get("app.kubernetes.io/component") != "database"]
    with pytest.raises(errors.OperationFailed, match="store shop has no ready database pod"):
        take_backup(kube, pod_exec, reporter, tmp_path)
    assert pod_exec.calls == []


def test_exit_code_of_the_exec_status_channel():
    assert exit_code_of('{"metadata":{},"status":"Success"}') == 0
    failure = {"status": "Failure", "reason": "NonZeroExitCode",
               "details": {"causes": [{"reason": "ExitCode", "message": "2"}]}}
    assert exit_code_of(json.dumps(failure)) == 2
    assert exit_code_of('{"status":"Failure","message":"container not found"}') is None
    assert exit_code_of("") is None
    assert printable(["mariadb", "--execute=SOURCE /x y"]) == "mariadb '--execute=SOURCE /x y'"


# -- verification ------------------------------------------------------------------------------------
@pytest.fixture
def good_archive(kube, pod_exec, reporter, tmp_path) -> Path:
    woo_store(kube, pod_exec)
    return take_backup(kube, pod_exec, reporter, tmp_path)


def _rewrite(path: Path, change) -> None:
    members = members_of(path)
    change(members)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_a_good_archive_verifies(good_archive, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    archive = verify_archive(good_archive, work)
    assert archive.store == "shop" and archive.store_type == "woocommerce"
    assert archive.members[fmt.DATABASE].read_bytes() == SQL and archive.secrets() is None


def _flip_a_byte(members):
    sql = bytearray(members["database.sql"])
    sql[5] ^= 0x01
    members["database.sql"] = bytes(sql)


CORRUPTIONS = {
    "a flipped byte in the dump": (lambda p: _rewrite(p, _flip_a_byte), "fails its checksum"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:1500]), "archive"),
    "truncated at a member boundary": (lambda p: _rewrite(p, lambda m: m.pop("files.tar")), "lacks files.tar"),
    "an extra member": (lambda p: _rewrite(p, lambda m: m.update({"evil.sh": b"x"})), "unexpected member evil.sh"),
    "not a tar": (lambda p: p.write_bytes(b"\x00garbage" * 300), "archive"),
    "empty": (lambda p: p.write_bytes(b""), "archive"),
    "manifest not first": (lambda p: _rewrite(p, lambda m: m.update({"manifest.json": m.pop("manifest.json")})),
                           "does not start with manifest.json"),
    "manifest not JSON": (lambda p: _rewrite(p, lambda m: m.update({"manifest.json": b"{nope"})), "not JSON"),
    "another format": (lambda p: _rewrite(p, lambda m: m.update({"manifest.json": b'{"format": "tar"}'})),
                       "not a urumi backup"),
    "a future version": (lambda p: _rewrite(p, lambda m: m.update({"manifest.json": m["manifest.json"].replace(
        b'"version": 1', b'"version": 9')})), "format version 9"),
    "an unknown type": (lambda p: _rewrite(p, lambda m: m.update({"manifest.json": m["manifest.json"].replace(
        b'"woocommerce"', b'"shopify"')})), "unknown store type shopify"),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_a_bad_archive_is_refused(good_archive, tmp_path, case):
    damage, words = CORRUPTIONS[case]
    damage(good_archive)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ArchiveInvalid) as caught:
        verify_archive(good_archive, work)
    assert words in caught.value.message and caught.value.exit_code == errors.EXIT_BAD_ARCHIVE == 8


def test_an_archive_of_another_type_is_refused_with_type(good_archive, tmp_path):
    with pytest.raises(UsageError, match="is a woocommerce store's backup, not medusa"):
        verify_archive(good_archive, tmp_path, store_type="medusa")


# -- restore -----------------------------------------------------------------------------------------
def _verified(path: Path, tmp_path: Path):
    work = tmp_path / "verified"
    work.mkdir(exist_ok=True)
    return verify_archive(path, work)


def test_restore_over_an_existing_store_needs_force(good_archive, kube, helm, pod_exec, reporter, tmp_path):
    registry = Registry(tmp_path / "registry.json")
    with pytest.raises(Conflict, match="store shop already exists"):
        restore_store(RestoreOptions(name="shop", target=TARGET), _verified(good_archive, tmp_path),
                      registry=registry, helm=helm, kube=kube, pod_exec=pod_exec, reporter=reporter,
                      locks_dir=tmp_path / "locks")
    assert [c for c in pod_exec.calls if c["argv"][0] != "mariadb-dump" and c["argv"][0] != "mkdir"
            and c["argv"][:2] != ["tar", "-c"]] == []


def test_restore_with_force_replaces_database_and_uploads(good_archive, kube, helm, pod_exec, reporter, tmp_path):
    ns = "store-shop"
    pod_exec.databases[ns] = b"-- changed since the backup\n"
    pod_exec.trees[ns]["/var/www/html/wp-content/uploads/late.png"] = b"new"
    pod_exec.calls.clear()
    registry = Registry(tmp_path / "registry.json")
    registry.put_store(Store(name="shop", type="woocommerce", cluster="kind-urumi", namespace=ns, release="shop",
                             url="http://shop.localhost/", status="ready"))
    result = restore_store(RestoreOptions(name="shop", target=TARGET, force=True), _verified(good_archive, tmp_path),
                           registry=registry, helm=helm, kube=kube, pod_exec=pod_exec, reporter=reporter,
                           locks_dir=tmp_path / "locks")
    assert result.created is False and helm.called("upgrade_install") == []  # no chart change over an existing store
    argvs = [c["argv"] for c in pod_exec.calls]
    assert argvs == [
        ["cp", "/dev/stdin", "/var/lib/mysql/.urumi-restore.sql"],
        ["mariadb", "--defaults-extra-file=/dev/stdin", "--batch", "--abort-source-on-error",
         "--default-character-set=utf8mb4",
         "--execute=SOURCE /var/lib/mysql/.urumi-restore.sql", "wordpress"],
        ["rm", "-f", "/var/lib/mysql/.urumi-restore.sql"],
        ["mkdir", "-p", "/var/www/html/wp-content/uploads"],
        ["find", "/var/www/html/wp-content/uploads", "-mindepth", "1", "-delete"],
        ["tar", "-x", "-f", "-", "-C", "/var/www/html/wp-content"],
    ]
    loaded = pod_exec.databases[ns]
    assert loaded.startswith(SQL)  # the dump, then the engine's fix-ups for this store's host
    # Only if WordPress's tables exist (a store whose setup never ran has none): a prepared statement.
    assert (b"table_name = 'wp_options') > 0, 'UPDATE wp_options SET option_value = \\'http://shop.localhost\\' "
            b"WHERE option_name IN (\\'siteurl\\', \\'home\\')', 'DO 0');\nPREPARE urumi_fixup") in loaded
    assert b"AdminPw1" not in loaded  # the admin password goes in as a hash
    tree = pod_exec.trees[ns]
    assert "/var/www/html/wp-content/uploads/late.png" not in tree
    assert tree["/var/www/html/wp-content/uploads/2030/01/cat.jpg"] == b"\xff\xd8meow"
    assert "/var/lib/mysql/.urumi-restore.sql" not in tree  # the staged dump is removed
    for call in pod_exec.calls:
        assert not any(PASSWORD in arg for arg in call["argv"])
    record = registry.get_store("kind-urumi", "shop")
    assert "restored from the backup of shop" in record.message
    assert PASSWORD not in registry.path.read_text() and "AdminPw1" not in registry.path.read_text()


def test_a_failed_load_still_removes_the_staged_dump(good_archive, kube, helm, pod_exec, reporter, tmp_path):
    pod_exec.fail["mariadb"] = (1, "ERROR 1064 (42000) at line 3 in file: '/var/lib/mysql/.urumi-restore.sql'")
    with pytest.raises(ExecFailed, match="exited 1: ERROR 1064"):
        restore_store(RestoreOptions(name="shop", target=TARGET, force=True), _verified(good_archive, tmp_path),
                      registry=Registry(tmp_path / "r.json"), helm=helm, kube=kube, pod_exec=pod_exec,
                      reporter=reporter, locks_dir=tmp_path / "locks")
    assert pod_exec.calls[-1]["argv"] == ["rm", "-f", "/var/lib/mysql/.urumi-restore.sql"]


def test_restore_refuses_an_existing_store_of_another_type(good_archive, kube, helm, pod_exec, reporter, tmp_path):
    kube.namespaces["store-shop"]["metadata"]["labels"]["urumi.dev/store-type"] = "medusa"
    pod_exec.calls.clear()
    with pytest.raises(Conflict, match="store shop is a medusa store; the archive is a woocommerce backup"):
        restore_store(RestoreOptions(name="shop", target=TARGET, force=True), _verified(good_archive, tmp_path),
                      registry=Registry(tmp_path / "r.json"), helm=helm, kube=kube, pod_exec=pod_exec,
                      reporter=reporter, locks_dir=tmp_path / "locks")
    assert pod_exec.calls == []


def test_restore_into_a_new_name_creates_the_store_then_loads_it(good_archive, kube, helm, pod_exec, reporter,
                                                                 tmp_path):
    archive = _verified(good_archive, tmp_path)
    objects = ready_objects("copy")
    objects["pods"] = store_pods("copy")
    helm.objects_on_install = objects
    registry = Registry(tmp_path / "registry.json")
    pod_exec.calls.clear()
    result = restore_store(RestoreOptions(name="copy", target=TARGET), archive, registry=registry, helm=helm,
                           kube=kube, pod_exec=pod_exec, reporter=reporter, locks_dir=tmp_path / "locks")
    assert result.created is True and result.from_store == "shop" and result.url == "http://copy.localhost/"
    assert [c[1] for c in helm.called("upgrade_install")] == ["copy"]  # create's own steps: namespace, Secret, helm
    new_secret = kube.secrets[("store-copy", "store-credentials")]
    assert new_secret["db-password"] != PASSWORD  # a new store's own credentials
    # The new store's password in the option file; the old host replaced by the new one.
    assert f'password="{new_secret["db-password"]}"'.encode() in pod_exec.called("mariadb")[0]["stdin"]
    assert b"\\'http://copy.localhost\\'" in pod_exec.databases["store-copy"]
    assert pod_exec.trees["store-copy"]["/var/www/html/wp-content/uploads/2030/01/cat.jpg"] == b"\xff\xd8meow"
    assert registry.get_store("kind-urumi", "copy").type == "woocommerce"


def test_restore_of_an_archive_with_secrets_reuses_them_for_the_new_store(kube, helm, pod_exec, reporter, tmp_path):
    woo_store(kube, pod_exec)
    archive = _verified(take_backup(kube, pod_exec, reporter, tmp_path, include_secrets=True), tmp_path)
    objects = ready_objects("copy")
    objects["pods"] = store_pods("copy")
    helm.objects_on_install = objects
    result = restore_store(RestoreOptions(name="copy", target=TARGET), archive, registry=Registry(tmp_path / "r.json"),
                           helm=helm, kube=kube, pod_exec=pod_exec, reporter=reporter, locks_dir=tmp_path / "locks")
    assert result.secrets_restored is True
    assert kube.secrets[("store-copy", "store-credentials")]["db-password"] == PASSWORD


# -- the CLI -----------------------------------------------------------------------------------------
class Cli:
    def __init__(self, tmp_path, kube, helm, pod_exec):
        self.settings = Settings(home=tmp_path / "home")
        self.registry = Registry(self.settings.registry_path)
        self.kube, self.helm, self.pod_exec = kube, helm, pod_exec
        self.cluster_calls = 0
        self.tty = False

    def kube_factory(self, target):
        self.cluster_calls += 1
        return self.kube

    def exec_factory(self, target):
        self.cluster_calls += 1
        return self.pod_exec

    def __call__(self, *args):
        consoles = make_consoles(width=100, stdout=FollowStream("stdout"), stderr=FollowStream("stderr"))
        deps = Deps(settings=self.settings, consoles=consoles, helm=self.helm, registry=self.registry,
                    kube_factory=self.kube_factory, exec_factory=self.exec_factory, is_tty=lambda: self.tty)
        return CliRunner().invoke(build_app(), list(args), obj=deps)


@pytest.fixture
def cli(tmp_path, kube, helm, pod_exec) -> Cli:
    return Cli(tmp_path, kube, helm, pod_exec)


def test_cli_backup_json(cli, kube, pod_exec, tmp_path):
    woo_store(kube, pod_exec)
    out = tmp_path / "b.tar"
    result = cli("store", "backup", "shop", "--to", str(out), "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"] == str(out) and data["type"] == "woocommerce" and data["includes_secrets"] is False
    assert set(data["members"]) == {"database.sql", "files.tar"} and data["size"] == out.stat().st_size


@pytest.mark.parametrize("case", ["a flipped byte in the dump", "truncated", "not a tar"])
def test_cli_restore_of_a_bad_archive_is_one_line_exit_8_and_never_reaches_the_cluster(cli, good_archive, case):
    CORRUPTIONS[case][0](good_archive)
    cli.cluster_calls = 0
    calls_before = len(cli.kube.calls)
    result = cli("store", "restore", "copy", "--from", str(good_archive))
    assert result.exit_code == errors.EXIT_BAD_ARCHIVE, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: archive ") and "error: unexpected" not in lines[0]
    assert cli.cluster_calls == 0 and len(cli.kube.calls) == calls_before


def test_cli_restore_of_another_type_is_a_usage_error_before_the_cluster(cli, good_archive):
    cli.cluster_calls = 0
    result = cli("store", "restore", "copy", "--from", str(good_archive), "--type", "medusa")
    assert result.exit_code == errors.EXIT_USAGE and cli.cluster_calls == 0
    assert "not medusa" in result.stderr


def test_cli_restore_force_asks_and_unattended_needs_yes(cli, good_archive):
    cli.cluster_calls = 0
    result = cli("store", "restore", "shop", "--from", str(good_archive), "--force")
    assert result.exit_code == errors.EXIT_USAGE and "pass --yes" in result.stderr
    assert cli.cluster_calls == 0
    result = cli("store", "restore", "shop", "--from", str(good_archive), "--force", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] is False


def test_cli_restore_of_a_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("store", "restore", "copy", "--from", str(tmp_path / "nope.tar"))
    assert result.exit_code == errors.EXIT_USAGE and "does not exist" in result.stderr
