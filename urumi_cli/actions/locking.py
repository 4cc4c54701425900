"""One lock per store on this machine, so two urumi processes never drive the same release."""

from __future__ import annotations

from pathlib import Path

from urumi_cli.adapters.locks import file_lock
from urumi_cli.models import Target


def store_lock(locks_dir: Path, target: Target, name: str, *, timeout_s: float, reporter):
    path = locks_dir / f"store-{target.context}--{name}.lock".replace("/", "_")

    def waiting() -> None:
        reporter.step("lock", f"waiting for another urumi process working on store {name}")

    return file_lock(path, timeout_s=timeout_s, on_wait=waiting, what=f"the lock of store {name}")
