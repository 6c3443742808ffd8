"""The local backend: a run is a process group on this machine that outlives whoever started it.

    watcher (python -m trainers.jobs.watch)      new session: its own process group
      └─ job (python -m trainers.sft, or `accelerate launch` of it for several GPUs)

The watcher is a few MB of Python that waits for the job, records how it ended (exit.json), updates
the registry and starts the next queued run. Cancel signals the whole group, so the job, its
workers and the watcher all go; the launching CLI may exit at any time without taking them along.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from trainers.jobs import procs
from trainers.jobs.layout import RunPaths

REPO_ROOT = Path(__file__).resolve().parents[2]

_children: dict[int, subprocess.Popen] = {}
"""Watchers started by this process, kept so they are reaped (no zombies that look alive)."""


def sft_command(run_dir: Path, *, resume: bool = False) -> list[str]:
    """The job itself: the same command line for the local, accelerate and Ray backends."""
    command = [sys.executable, "-m", "trainers.sft", "--run-dir", str(run_dir)]
    return [*command, "--resume"] if resume else command


def watch_command(
    job: list[str], *, run_dir: Path, run_id: str, home: Path, attempt: int
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "trainers.jobs.watch",
        "--run-dir",
        str(run_dir),
        "--run-id",
        run_id,
        "--home",
        str(home),
        "--attempt",
        str(attempt),
        "--",
        *job,
    ]


def job_env() -> dict[str, str]:
    """The job's environment: ours, with this checkout importable and unbuffered output."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), path) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def spawn(command: list[str], paths: RunPaths, attempt: int) -> tuple[int, int, int | None]:
    """Start `command` in a new session with output appended to the run's log.

    Returns (pid, pgid, start time) of the started process.
    """
    paths.root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with open(paths.log, "ab") as log:
        log.write(f"=== attempt {attempt} at {stamp}: {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=paths.root,
            env=job_env(),
            start_new_session=True,
            close_fds=True,
        )
    _children[process.pid] = process
    return process.pid, os.getpgid(process.pid), procs.start_time(process.pid)


def reap() -> dict[int, int]:
    """Collect the exit codes of our finished watchers: pid -> returncode."""
    done = {}
    for pid, process in list(_children.items()):
        code = process.poll()
        if code is not None:
            done[pid] = code
            del _children[pid]
    return done
