"""Build a folder once, atomically, under a lock: the pattern behind every cached model folder.

A converted model is a folder of several files, so a single atomic file write is not enough. The
folder is built under a temporary name next to its target and renamed into place only once it is
complete: a kill mid-build leaves a hidden temp folder (cleaned up by the next build), never a
half folder under the real name. An exclusive `flock` on a lock file next to the target makes a
second process wait for the first instead of converting the same model twice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from core.atomic import fsync_path
from core.locks import exclusive_lock

DEFAULT_LOCK_TIMEOUT_S = 900.0


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}.tmp-"


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder` so the rename publishes durable data."""
    for path in [*folder.rglob("*"), folder]:
        fsync_path(path)


@contextlib.contextmanager
def folder_lock(target: Path, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock for building `target`; raise WorkspaceBusy after `timeout_s`."""
    lock_path = target.parent / f".{target.name}.lock"
    with exclusive_lock(
        lock_path,
        timeout_s,
        busy=f"Another process has been building {target} for over {timeout_s:.0f} s",
        hint="Wait for it to finish, or stop that process, then try again.",
    ):
        yield


def build_folder_once(
    target: Path,
    build: Callable[[Path], None],
    is_complete: Callable[[Path], bool],
    *,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> Path:
    """Return `target`, calling `build(tmp_folder)` first if it is not there yet.

    `build` writes the whole folder into the empty temp folder it is given; if it raises, the
    temp folder is removed and `target` stays absent. `is_complete` says whether an existing
    `target` is usable; one that is not (damaged by hand) is replaced.
    """
    target = Path(target)
    if is_complete(target):
        return target
    with folder_lock(target, lock_timeout_s):
        if is_complete(target):  # another process built it while we waited
            return target
        for stale in target.parent.glob(_tmp_prefix(target) + "*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed build; we hold the lock
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), dir=target.parent))
        try:
            build(tmp)
            if not is_complete(tmp):
                raise RuntimeError(f"building {target.name} finished but left an incomplete folder")
            _fsync_tree(tmp)
            if target.exists():
                shutil.rmtree(target)
            os.rename(tmp, target)
            with contextlib.suppress(OSError):
                fd = os.open(target.parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target
