"""The backup archive: a plain tar whose first member, manifest.json, names the store and lists
every other member with its size and sha256.

    manifest.json   {"format": "urumi-backup", "version": 1, "store", "type", "created_at",
                     "source": {...}, "chart": {...}, "app_version", "includes_secrets",
                     "members": {"database.sql": {"size", "sha256"}, ...}}
    database.sql    the engine's SQL dump (mariadb-dump / pg_dump)
    files.tar       the store's uploads, as tar made them in the pod
    secrets.json    only with --include-secrets: the store's credentials Secret

Reading verifies everything (manifest first, every member's size and digest, no member missing
or extra) before a restore touches the cluster. Writing is atomic: a temporary file in the
destination's directory, fsync, rename; with secrets it is created mode 0600 from the start.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from urumi_cli.errors import ArchiveInvalid, UsageError, shown

FORMAT = "urumi-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "database.sql"
FILES = "files.tar"
SECRETS = "secrets.json"
MEMBERS = (DATABASE, FILES, SECRETS)
MANIFEST_MAX = 1 << 20
CHUNK = 1 << 16


class HashingWriter:
    """A binary sink that counts and hashes what passes through it (the dump as it streams)."""

    def __init__(self, raw):
        self.raw = raw
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.size += len(data)
        self.digest.update(data)
        return len(data)

    def member(self) -> dict:
        return {"size": self.size, "sha256": self.digest.hexdigest()}


@dataclass
class Archive:
    """A verified archive: its manifest and the extracted members (paths in a private directory)."""

    path: Path
    manifest: dict
    members: dict[str, Path]

    @property
    def store_type(self) -> str:
        return self.manifest["type"]

    @property
    def store(self) -> str:
        return self.manifest["store"]

    def secrets(self) -> dict | None:
        if SECRETS not in self.members:
            return None
        return json.loads(self.members[SECRETS].read_text(encoding="utf-8"))


def write_archive(output: Path, manifest: dict, members: dict[str, Path], *, private: bool) -> None:
    """Write manifest + members to `output` atomically. `manifest["members"]` must already hold
    each member's size and digest (computed while it streamed in)."""
    body = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    tmp = output.parent / f".{output.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.addfile(_info(MANIFEST, len(body)), io.BytesIO(body))
                for name in MEMBERS:
                    if name in members:
                        path = members[name]
                        with open(path, "rb") as src:
                            tar.addfile(_info(name, path.stat().st_size), src)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(output.parent)


def _info(name: str, size: int) -> tarfile.TarInfo:
    import time

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(time.time())
    return info


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_archive(path: Path, workdir: Path, *, known_types) -> Archive:
    """Verify `path` and extract its members into `workdir`; ArchiveInvalid on any doubt."""
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL in it
        is_file = False
    if not is_file:
        raise UsageError(f"archive {shown(path)} does not exist or is not a file", "pass the file `store backup` wrote")
    bad = f"archive {shown(path)}"
    try:
        tar = tarfile.open(path, mode="r:")
    except (tarfile.TarError, OSError, ValueError) as err:
        raise ArchiveInvalid(f"{bad} is not a urumi backup: {err}", "pass the file `store backup` wrote") from None
    try:
        with tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile() or first.size > MANIFEST_MAX:
                raise ArchiveInvalid(f"{bad} does not start with {MANIFEST}", "pass the file `store backup` wrote")
            manifest = _manifest(tar.extractfile(first).read(), bad, known_types)
            expected = manifest["members"]
            members: dict[str, Path] = {}
            # next(), not `for info in tar`: iterating starts again from the first member.
            while (info := tar.next()) is not None:
                if info.name not in expected or info.name in members or not info.isfile():
                    raise ArchiveInvalid(f"{bad} holds an unexpected member {shown(info.name)}",
                                         "it was changed after `store backup` wrote it")
                members[info.name] = _extract(tar, info, workdir, expected[info.name], bad)
    except tarfile.TarError as err:  # truncated or garbled in the middle
        raise ArchiveInvalid(f"{bad} is damaged: {err}", "it is incomplete or corrupted; use another copy") from None
    except (EOFError, OSError) as err:
        raise ArchiveInvalid(f"{bad} is truncated: {err}", "it is incomplete; use another copy") from None
    missing = sorted(set(expected) - set(members))
    if missing:
        raise ArchiveInvalid(f"{bad} lacks {', '.join(missing)}", "it is incomplete; use another copy")
    return Archive(path=path, manifest=manifest, members=members)


def _manifest(raw: bytes, bad: str, known_types) -> dict:
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise ArchiveInvalid(f"{bad}: {MANIFEST} is not JSON", "the archive is corrupted; use another copy") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveInvalid(f"{bad} is not a urumi backup ({MANIFEST} has no format {FORMAT!r})",
                             "pass the file `store backup` wrote")
    if manifest.get("version") != VERSION:
        raise ArchiveInvalid(f"{bad} has format version {shown(manifest.get('version'))}; this urumi reads {VERSION}",
                             "restore it with the urumi version that wrote it")
    if manifest.get("type") not in known_types:
        raise ArchiveInvalid(f"{bad} is of unknown store type {shown(manifest.get('type'))}",
                             f"this urumi restores {', '.join(known_types)}")
    members = manifest.get("members")
    ok = isinstance(members, dict) and DATABASE in members and all(
        name in MEMBERS and isinstance(m, dict) and isinstance(m.get("size"), int)
        and isinstance(m.get("sha256"), str) for name, m in members.items())
    if not ok or not isinstance(manifest.get("store"), str):
        raise ArchiveInvalid(f"{bad}: {MANIFEST} lacks the store or its member list",
                             "the archive is corrupted; use another copy")
    if bool(manifest.get("includes_secrets")) != (SECRETS in members):
        raise ArchiveInvalid(f"{bad}: {MANIFEST} disagrees with itself about secrets", "use another copy")
    return manifest


def _extract(tar: tarfile.TarFile, info: tarfile.TarInfo, workdir: Path, want: dict, bad: str) -> Path:
    dest = workdir / info.name  # a name from the fixed MEMBERS set: never a path from the archive
    digest, size = hashlib.sha256(), 0
    src = tar.extractfile(info)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size != want["size"] or digest.hexdigest() != want["sha256"]:
        raise ArchiveInvalid(f"{bad}: {info.name} fails its checksum (sha256 {digest.hexdigest()[:12]}..., "
                             f"manifest says {want['sha256'][:12]}...)", "the archive is corrupted; use another copy")
    return dest


def file_chunks(path: Path, tail: bytes = b""):
    """A member's bytes in chunks (for exec stdin), then `tail`."""
    with open(path, "rb") as src:
        while chunk := src.read(CHUNK):
            yield chunk
    if tail:
        yield tail
