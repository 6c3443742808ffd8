"""Exclusive file locks between processes, with a timeout and the holder's pid in the error.

The OS drops an flock when its holder dies, so a killed writer never leaves a stale lock; the
holder writes its pid into the file so a waiting process can say who it is waiting for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import WorkspaceBusy

POLL_S = 0.05


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float, busy: str, hint: str) -> Iterator[None]:
    """Hold an exclusive lock on `path`; after `timeout` s raise WorkspaceBusy("busy (pid N)")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise WorkspaceBusy(f"{busy} (pid {holder}).", hint) from None
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
