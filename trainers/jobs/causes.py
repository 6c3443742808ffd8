"""Why a run failed, in words a person can act on, decided in one place.

Two views meet here. Inside the job, an exception is classified (`classify_exception`) and written
to error.json with a matching exit code. Outside, the watcher or a later status refresh only sees
how the process ended (`classify_exit`): a signal, a bare exit code, or nothing at all. `outcome`
combines the run folder's files with that exit information into (status, cause, detail).
"""

from __future__ import annotations

import errno
import signal
import traceback
from dataclasses import dataclass
from typing import Any

from trainers.jobs.layout import RunPaths, read_json

BAD_DATA = "bad data"
CUDA_OOM = "CUDA out of memory"
HOST_OOM = "host out of memory"
DISK_FULL = "disk full"
KILLED = "killed"
OTHER = "other"

EXIT_CODES = {BAD_DATA: 65, CUDA_OOM: 66, DISK_FULL: 67, HOST_OOM: 68, KILLED: 130, OTHER: 1}
"""Exit code of the job for each cause it can report itself."""

HINTS = {
    BAD_DATA: "Fix the rows named above (`tunesmith data show`), commit a new version, "
    "train again.",
    CUDA_OOM: "Lower batch_size or max_length, or turn activation_checkpointing on "
    "(`--set batch_size=…`), then train again.",
    HOST_OOM: "The machine ran out of RAM: lower batch_size or max_length, close other programs, "
    "or use a machine with more memory.",
    DISK_FULL: "Free disk space (old runs' checkpoints: `tunesmith runs list`), or lower "
    "save_total_limit, then `tunesmith runs resume ID`.",
    KILLED: "Something stopped the process. `tunesmith runs resume ID` continues from the last "
    "complete checkpoint.",
    OTHER: "Read the end of the log (`tunesmith runs logs ID`).",
}

TAIL_LINES = 20


@dataclass(frozen=True)
class Failure:
    cause: str
    message: str
    hint: str
    exit_code: int

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "message": self.message,
            "hint": self.hint,
            "exit_code": self.exit_code,
            **extra,
        }


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _cause_of(exc: BaseException, data_phase: bool) -> str:
    from tools.datasets.validation import DatasetInvalid
    from trainers.data import BadData

    chain = _chain(exc)
    if any(isinstance(e, DatasetInvalid | BadData) for e in chain):
        return BAD_DATA
    if data_phase and isinstance(exc, ValueError | KeyError | TypeError):
        return BAD_DATA
    texts = " ".join(f"{type(e).__name__}: {e}" for e in chain)
    if "OutOfMemoryError" in texts or "CUDA out of memory" in texts:
        return CUDA_OOM
    if any(isinstance(e, MemoryError) for e in chain):
        return HOST_OOM
    disk = any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in chain)
    if disk or "No space left on device" in texts:
        return DISK_FULL
    if isinstance(exc, KeyboardInterrupt):
        return KILLED
    return OTHER


def classify_exception(exc: BaseException, *, data_phase: bool = False) -> Failure:
    """The cause of an exception raised inside the job; `data_phase` while rows are prepared."""
    cause = _cause_of(exc, data_phase)
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    hint = getattr(exc, "hint", "") or HINTS[cause]
    return Failure(cause, str(message), hint, EXIT_CODES[cause])


def traceback_tail(exc: BaseException, lines: int = TAIL_LINES) -> list[str]:
    text = "".join(traceback.format_exception(exc))
    return text.rstrip().splitlines()[-lines:]


def classify_exit(returncode: int | None, *, oom_killed: bool = False) -> Failure:
    """The cause of a job that ended without reporting one itself (no error.json)."""
    if returncode is None:
        return Failure(
            KILLED,
            "The run's process is gone and left no report (killed, or the machine restarted).",
            HINTS[KILLED],
            EXIT_CODES[KILLED],
        )
    if returncode == 137 or (returncode == -signal.SIGKILL and oom_killed):
        return Failure(
            HOST_OOM,
            f"The run was killed (exit {returncode}): the kernel's out-of-memory killer "
            "stopped it.",
            HINTS[HOST_OOM],
            137,
        )
    if returncode < 0 or returncode > 128:
        number = -returncode if returncode < 0 else returncode - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return Failure(KILLED, f"The run was stopped by {name}.", HINTS[KILLED], returncode)
    return Failure(
        OTHER, f"The run exited with code {returncode} without a report.", HINTS[OTHER], returncode
    )


def outcome(paths: RunPaths, exit_info: dict[str, Any] | None) -> tuple[str, str, dict[str, Any]]:
    """(status, cause, detail) of a finished run, from its files and how its process ended.

    result.json is the success commit point; error.json, written by the job, knows the cause
    best; otherwise the exit information (or its absence) decides.
    """
    result = read_json(paths.result)
    if result is not None:
        return "succeeded", "", {"result": result}
    if paths.cancel_request.exists():
        return "cancelled", "", {}
    error = read_json(paths.error)
    if error is not None and error.get("cause"):
        return "failed", str(error["cause"]), error
    info = exit_info if exit_info is not None else read_json(paths.exit)
    code = None if info is None else info.get("returncode")
    failure = classify_exit(code, oom_killed=bool(info and info.get("oom_killed")))
    detail = failure.to_dict()
    if failure.cause == OTHER:
        detail["log_tail"] = log_tail(paths)
    return "failed", failure.cause, detail


def log_tail(paths: RunPaths, lines: int = TAIL_LINES) -> list[str]:
    """The last lines of the run's log (what a person reads first when a run fails)."""
    try:
        with open(paths.log, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.rstrip().splitlines()[-lines:]
