"""`store backup` / `store restore` against the real API server (simulated pods run no process, so
no exec succeeds here: tests/realcluster/test_backup_restore.py covers the data path). What is
checked is everything decided from API objects: a store that does not exist, a store without a
ready database pod, a corrupted archive refused before the cluster is touched, an existing store
without --force, an exec the cluster cannot carry out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from support import Urumi, one_error_line


@pytest.fixture
def urumi(control_plane, tmp_path) -> Urumi:
    return Urumi(control_plane, tmp_path / "home")


def valid_archive(path: Path, store_type: str = "woocommerce") -> Path:
    from urumi_cli.actions import archive

    sql = path.with_suffix(".sql")
    sql.write_bytes(b"SELECT 1;\n")
    member = {"size": 10, "sha256": hashlib.sha256(b"SELECT 1;\n").hexdigest()}
    archive.write_archive(path, {"format": archive.FORMAT, "version": archive.VERSION, "store": "old",
                                 "type": store_type, "includes_secrets": False,
                                 "members": {archive.DATABASE: member}}, {archive.DATABASE: sql}, private=False)
    sql.unlink()
    return path


def test_backup_of_a_store_that_does_not_exist(urumi, tmp_path):
    result = urumi.run("store", "backup", "nosuch", "--to", str(tmp_path / "x.tar"))
    assert result.returncode == 4
    assert one_error_line(result.stderr).startswith("error: store nosuch not found in cluster ")
    assert not (tmp_path / "x.tar").exists()


def test_backup_and_restore_decided_from_the_api(urumi, control_plane, tmp_path):
    cp = control_plane
    assert urumi.create("bk").returncode == 0

    # The simulated pods are Ready but run nothing: the exec fails, with the argv named, no file left.
    out = tmp_path / "bk.tar"
    result = urumi.run("store", "backup", "bk", "--to", str(out), timeout=120)
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    assert "bk-mariadb-0" in line or "mariadb-dump" in line, line
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == []

    # No ready database pod: said before any exec.
    cp.kubectl("-n", "store-bk", "scale", "statefulset", "bk-mariadb", "--replicas=0")
    cp.kubectl("-n", "store-bk", "wait", "--for=delete", "pod/bk-mariadb-0", "--timeout=60s", check=False)
    result = urumi.run("store", "backup", "bk", "--to", str(out))
    assert result.returncode == 1
    assert "store bk has no ready database pod" in one_error_line(result.stderr)

    # An existing store is not overwritten without --force.
    good = valid_archive(tmp_path / "good.tar")
    result = urumi.run("store", "restore", "bk", "--from", str(good))
    assert result.returncode == 1
    assert "store bk already exists" in one_error_line(result.stderr)

    # A corrupted archive: exit 8, and no namespace was created for the new name.
    bad = tmp_path / "bad.tar"
    bad.write_bytes(good.read_bytes().replace(b"SELECT 1;", b"SELECT 2;"))  # one byte of the dump
    result = urumi.run("store", "restore", "copy", "--from", str(bad))
    assert result.returncode == 8, result.stderr
    assert one_error_line(result.stderr).startswith(f"error: archive {bad}: database.sql fails its checksum")
    assert cp.kubectl("get", "namespace", "store-copy", check=False).returncode != 0

    # Another type than the existing store's.
    medusa = valid_archive(tmp_path / "medusa.tar", "medusa")
    result = urumi.run("store", "restore", "bk", "--from", str(medusa), "--force", "--yes")
    assert result.returncode == 1
    assert "store bk is a woocommerce store; the archive is a medusa backup" in one_error_line(result.stderr)

    assert urumi.run("store", "delete", "bk", "--yes", timeout=300).returncode == 0
