"""The job's watcher: `python -m trainers.jobs.watch --run-dir D --run-id I ... -- JOB...`

It starts JOB in its own process group, waits for it, and then does what a dead job cannot: write
exit.json (exit code or signal, and whether the kernel's OOM killer fired meanwhile), record the
outcome in the registry, and start the next queued run. It imports no torch and holds no GPU.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.atomic import write_json
from trainers.jobs import procs
from trainers.jobs.layout import RunPaths


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m trainers.jobs.watch")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--home", required=True, help="The workspace folder.")
    parser.add_argument("--attempt", type=int, required=True)
    job = argv[split + 1 :]
    if not job:
        parser.error("give the job's command after --")
    return parser.parse_args(argv[:split]), job


def run_job(job: list[str]) -> dict[str, Any]:
    """Run the job to its end; forward a SIGTERM sent to the watcher alone. Return exit info."""
    oom_before = procs.oom_kill_count()
    child = subprocess.Popen(job)

    def forward(signum: int, frame: Any) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    code = child.wait()
    oom_after = procs.oom_kill_count()
    return {
        "returncode": code,
        "oom_killed": code == -signal.SIGKILL
        and None not in (oom_before, oom_after)
        and oom_after > oom_before,
        "job_pid": child.pid,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    args, job = parse_args(argv)
    paths = RunPaths(Path(args.run_dir))
    exit_info = run_job(job)
    write_json(paths.exit, exit_info)
    from core.workspace import Workspace
    from trainers.jobs.runner import advance_queue, finalize

    ws = Workspace(args.home)
    finalize(ws, args.run_id, args.attempt, exit_info)
    advance_queue(ws)
    return 0


if __name__ == "__main__":
    sys.exit(main())
