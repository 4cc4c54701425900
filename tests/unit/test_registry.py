"""The TinyDB registry on a real file: locking, atomic writes, mode 0600, corruption handling."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from urumi_cli.adapters.registry import Registry
from urumi_cli.errors import RegistryCorrupt, RegistryError
from urumi_cli.models import Store

pytestmark = pytest.mark.timeout(60)


def _store(name, cluster="kind-urumi", **fields) -> Store:
    return Store(name=name, type="woocommerce", cluster=cluster, namespace=f"store-{name}", release=name,
                 url=f"http://{name}.localhost/", created_at="2030-01-01T00:00:00Z", **fields)


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "home" / "registry.json")


def test_put_get_update_remove_list(registry):
    assert registry.list_stores() == []
    assert registry.get_store("kind-urumi", "shop") is None
    registry.put_store(_store("shop"))
    registry.put_store(_store("alpha"))
    registry.put_store(_store("shop", cluster="kind-other"))

    got = registry.get_store("kind-urumi", "shop")
    assert got == _store("shop")
    assert [s.name for s in registry.list_stores("kind-urumi")] == ["alpha", "shop"]
    assert [(s.cluster, s.name) for s in registry.list_stores()] == \
        [("kind-other", "shop"), ("kind-urumi", "alpha"), ("kind-urumi", "shop")]

    updated = registry.update_store("kind-urumi", "shop", status="ready", ready_at="2030-01-01T00:01:00Z")
    assert updated.status == "ready" and updated.ready_at == "2030-01-01T00:01:00Z"
    assert registry.get_store("kind-urumi", "shop").status == "ready"
    assert registry.get_store("kind-other", "shop").status == "provisioning"  # other cluster untouched
    assert registry.update_store("kind-urumi", "missing", status="ready") is None

    assert registry.remove_store("kind-urumi", "shop") is True
    assert registry.remove_store("kind-urumi", "shop") is False
    assert [s.name for s in registry.list_stores("kind-urumi")] == ["alpha"]


def test_put_is_an_upsert_by_cluster_and_name(registry):
    registry.put_store(_store("shop", message="first"))
    registry.put_store(_store("shop", message="second"))
    assert [s.message for s in registry.list_stores()] == ["second"]
    tables = json.loads(registry.path.read_text())
    assert len(tables["stores"]) == 1


def test_replace_cluster_stores_keeps_other_clusters(registry):
    registry.put_store(_store("old"))
    registry.put_store(_store("keep", cluster="kind-other"))
    registry.replace_cluster_stores("kind-urumi", [_store("a"), _store("b")])
    assert [(s.cluster, s.name) for s in registry.list_stores()] == \
        [("kind-other", "keep"), ("kind-urumi", "a"), ("kind-urumi", "b")]


def test_clusters_and_removing_a_cluster_forgets_its_stores(registry):
    registry.put_cluster("urumi", "kind-urumi", kubeconfig=None)
    registry.put_store(_store("a"))
    registry.put_store(_store("b"))
    registry.put_store(_store("c", cluster="kind-other"))
    assert registry.get_cluster("urumi") == {"name": "urumi", "context": "kind-urumi", "kubeconfig": None}
    assert registry.remove_cluster("urumi", "kind-urumi") == 2
    assert registry.get_cluster("urumi") is None
    assert [s.name for s in registry.list_stores()] == ["c"]


def test_file_is_private(registry):
    registry.put_store(_store("shop"))
    assert stat.S_IMODE(registry.path.stat().st_mode) == 0o600
    registry.update_store("kind-urumi", "shop", status="ready")
    assert stat.S_IMODE(registry.path.stat().st_mode) == 0o600


def test_writes_leave_no_temp_files_and_valid_json(registry):
    for i in range(5):
        registry.put_store(_store(f"s{i}"))
    registry.remove_store("kind-urumi", "s0")
    assert list(registry.path.parent.glob(".registry-*.tmp")) == []
    data = json.loads(registry.path.read_text())
    assert sorted(doc["name"] for doc in data["stores"].values()) == ["s1", "s2", "s3", "s4"]
    assert all("id" not in doc for doc in data["stores"].values())


def test_stale_temp_file_of_a_crashed_writer_is_cleaned_up(registry):
    registry.put_store(_store("shop"))
    stale = registry.path.parent / ".registry-crashed123.tmp"
    stale.write_text('{"stores": {"1": {"name": "half')
    registry.put_store(_store("other"))
    assert not stale.exists()
    assert [s.name for s in registry.list_stores()] == ["other", "shop"]


WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from urumi_cli.adapters.registry import Registry
    from urumi_cli.models import Store
    path, worker, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.002)
    registry = Registry(path)
    for i in range(40):
        name = f"w{worker}-s{i}"
        registry.put_store(Store(name=name, type="medusa", cluster="kind-urumi", namespace="store-" + name,
                                 release=name, url=""))
""")


@pytest.fixture
def fast_dir(tmp_path):
    """tmpfs when there is one: the stress test is about locking, and 640 fsyncs on a busy disk take seconds."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        path = Path(tempfile.mkdtemp(prefix="urumi-unit-", dir="/dev/shm"))
        yield path
        shutil.rmtree(path, ignore_errors=True)
    else:
        yield tmp_path


def test_eight_processes_writing_at_once_lose_nothing(fast_dir, tmp_path):
    registry = Registry(fast_dir / "registry.json")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(registry.path), str(w), str(go)], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(8)]
    time.sleep(0.3)  # let them all import and block on the start line
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=50)
        assert proc.returncode == 0, err
    data = json.loads(registry.path.read_text())  # valid JSON
    names = sorted(doc["name"] for doc in data["stores"].values())
    assert len(names) == 320
    assert names == sorted(f"w{w}-s{i}" for w in range(8) for i in range(40))
    assert len(data["stores"]) == 320  # no document id reused across processes
    assert list(registry.path.parent.glob(".registry-*.tmp")) == []


TRUNCATED = '{"stores": {"1": {"name": "shop", "type": "woocommerce", "clus'


def test_corrupt_file_is_moved_aside_and_reads_say_how_to_rebuild(registry):
    registry.put_store(_store("shop"))
    registry.path.write_text(TRUNCATED)
    with pytest.raises(RegistryCorrupt) as info:
        registry.list_stores()
    err = info.value
    assert "urumi store sync" in err.hint
    aside = list(registry.path.parent.glob("registry.json.corrupt-*"))
    assert [str(a) for a in aside] == [err.moved_to]
    assert aside[0].read_text() == TRUNCATED  # the damaged content is kept, not overwritten
    assert str(aside[0]) in err.message
    assert not registry.path.exists()
    # the next reader starts from an empty registry, and writing works again
    assert registry.list_stores() == []
    registry.put_store(_store("new"))
    assert [s.name for s in registry.list_stores()] == ["new"]


def test_a_write_over_a_corrupt_file_succeeds_and_leaves_a_notice(registry):
    registry.put_store(_store("shop"))
    registry.path.write_text(TRUNCATED)
    registry.put_store(_store("new"))
    assert [s.name for s in registry.list_stores()] == ["new"]
    aside = list(registry.path.parent.glob("registry.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == TRUNCATED
    assert len(registry.notices) == 1
    assert str(aside[0]) in registry.notices[0] and "urumi store sync" in registry.notices[0]


@pytest.mark.parametrize("content", ['["not", "tables"]', '{"stores": [1, 2]}', "\x00\x00\x00"])
def test_wrong_shapes_are_corrupt_too(registry, content):
    registry.path.parent.mkdir(parents=True)
    registry.path.write_text(content)
    with pytest.raises(RegistryCorrupt):
        registry.get_store("kind-urumi", "shop")


def test_directory_that_cannot_exist_is_a_clear_registry_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    registry = Registry(blocker / "x" / "registry.json")  # like URUMI_HOME=/etc/passwd/x
    with pytest.raises(RegistryError) as info:
        registry.put_store(_store("shop"))
    assert str(blocker / "x") in info.value.message
    assert "URUMI_HOME" in info.value.hint


def test_unwritable_directory_is_a_clear_registry_error(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    try:
        if os.access(home, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes (covered by the test above)")
        registry = Registry(home / "registry.json")
        with pytest.raises(RegistryError) as info:
            registry.put_store(_store("shop"))
        assert "not writable" in info.value.message and str(home) in info.value.message
    finally:
        home.chmod(0o700)


def test_reading_a_missing_registry_does_not_create_anything(tmp_path):
    registry = Registry(tmp_path / "nowhere" / "registry.json")
    assert registry.list_stores() == []
    assert not (tmp_path / "nowhere").exists()


def test_records_are_plain_store_fields(registry):
    registry.put_store(_store("shop"))
    doc = next(iter(json.loads(registry.path.read_text())["stores"].values()))
    assert set(doc) == {"name", "type", "cluster", "namespace", "release", "url", "status", "message", "env",
                        "created_at", "ready_at", "updated_at", "owner"}
    assert Path(registry.lock_path).name == "registry.json.lock"


def test_upsert_stores_writes_many_records_and_removals_in_one_transaction(registry, monkeypatch):
    registry.put_store(_store("gone"))
    registry.put_store(_store("keep", status="provisioning"))
    registry.put_store(_store("other", cluster="kind-other"))
    writes = []
    import urumi_cli.adapters.registry as registry_module

    real_write = registry_module._atomic_write
    monkeypatch.setattr(registry_module, "_atomic_write", lambda path, text: writes.append(1) or real_write(path, text))
    registry.upsert_stores("kind-urumi", [_store("keep", status="ready"), _store("new")], remove=["gone"])
    assert len(writes) == 1
    assert [s.name for s in registry.list_stores("kind-urumi")] == ["keep", "new"]
    assert registry.get_store("kind-urumi", "keep").status == "ready"
    assert registry.get_store("kind-other", "other") is not None
