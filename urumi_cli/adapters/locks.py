"""Inter-process locks on files (flock): released by the kernel when a process dies, even by kill -9."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from urumi_cli.errors import RegistryError, TimedOut


def _open_lock_file(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise RegistryError(f"cannot create lock file {path}: {err.strerror}",
                            "make the directory writable, or point URUMI_HOME somewhere writable") from None


@contextmanager
def file_lock(
    path: Path,
    *,
    shared: bool = False,
    timeout_s: float | None = None,
    on_wait: Callable[[], None] | None = None,
    what: str = "a lock",
) -> Iterator[None]:
    """Hold an flock on `path`. Calls on_wait once if another process holds it."""
    fd = _open_lock_file(path)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if on_wait:
                on_wait()
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except OSError as again:
                    if again.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if deadline is not None and time.monotonic() > deadline:
                    raise TimedOut(f"gave up waiting for {what} after {timeout_s:.0f}s",
                                   "another urumi process is still working; retry when it is done") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing drops the flock
