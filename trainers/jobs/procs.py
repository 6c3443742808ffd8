"""Process identity and process groups, so a status is never a phantom "running".

A pid alone does not name a process: after a reboot or a long time it belongs to someone else.
A process is named by (pid, start time), the start time read from /proc/<pid>/stat at launch;
a zombie (exited, not yet reaped) counts as gone. Where /proc is missing, `os.kill(pid, 0)` is
the fallback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

_OOM_FILES = (
    Path("/sys/fs/cgroup/memory.events"),
    Path("/sys/fs/cgroup/memory/memory.oom_control"),
)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may contain spaces: split after it
    return text[text.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is not running."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return int(fields[19])  # field 22 of stat; fields[0] here is field 3 (state)


def is_alive(pid: int | None, started: int | None = None) -> bool:
    """Whether `pid` runs and is still the process that started at `started` (when known)."""
    if not pid:
        return False
    fields = _stat_fields(pid)
    if fields is None:
        if Path("/proc/self/stat").exists():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if fields[0] in {"Z", "X"}:
        return False
    return started is None or int(fields[19]) == started


def group_members(pgid: int) -> list[int]:
    """Pids of the live (non-zombie) processes in process group `pgid`, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and fields[0] not in {"Z", "X"} and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is left (zombies excluded where /proc tells)."""
    if Path("/proc/self/stat").exists():
        return bool(group_members(pgid))
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False when the group is already gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def end_group(pgid: int, grace_s: float = 10.0, poll_s: float = 0.1) -> str:
    """SIGTERM the group, wait up to `grace_s`, then SIGKILL; return how it ended.

    Returns "gone" (nothing was running), "terminated" or "killed".
    """
    if not signal_group(pgid, signal.SIGTERM):
        return "gone"
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return "terminated"
        time.sleep(poll_s)
    signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 10.0
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(poll_s)
    return "killed"


def oom_kill_count() -> int | None:
    """The cgroup's count of out-of-memory kills (v2 or v1), or None where it cannot be read.

    A job that died of SIGKILL while this count went up was almost surely the OOM killer's.
    """
    for path in _OOM_FILES:
        with contextlib.suppress(OSError, ValueError):
            for line in path.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
    return None
