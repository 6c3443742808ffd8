"""Launch, queue, watch, cancel and resume runs; the registry's `runs` table is the truth.

No daemon: the queue moves in `advance_queue`, called when a run is launched, when statuses are
read (`refresh`) and by each job's watcher as the job ends. It runs under the workspace lock
"runs-queue", so two callers never start the same queued run or two runs on one device.
One job per device at a time: CPU training on shared cores and GPU training both go slower, not
faster, when two jobs share the device, and two GPU jobs can run each other out of memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from core.errors import InvalidInput, ModelUnavailable
from core.settings import Settings, get_settings
from core.workspace import Workspace, utc_now
from trainers.jobs import local, procs
from trainers.jobs.causes import outcome
from trainers.jobs.layout import Resolved, last_complete_checkpoint, write_spec
from trainers.jobs.registry import (
    ACTIVE,
    RunInfo,
    find_request,
    get_run,
    insert_run,
    list_runs,
    new_run_id,
    update_run,
)
from trainers.recipe import Recipe

QUEUE_LOCK = "runs-queue"
CANCEL_GRACE_S = 10.0
BOOKKEEPING = frozenset({"reasons", "logging_steps", "save_steps", "save_total_limit"})
"""Recipe fields that do not change what is trained: two requests differing only here are one."""


def request_key(recipe: Recipe, dataset_sha256: str) -> str:
    """A hash of what a run trains (recipe minus bookkeeping) and on which rows (their sha256)."""
    data = {k: v for k, v in asdict(recipe).items() if k not in BOOKKEEPING}
    data["dataset"] = dataset_sha256
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def device_slot(device: str) -> str:
    """The device a run occupies: `cuda` is `cuda:0`; `cuda:all` (several GPUs) takes every one."""
    text = (device or "cpu").strip().lower()
    return "cuda:0" if text == "cuda" else text


def _conflict(a: str, b: str) -> bool:
    a, b = device_slot(a), device_slot(b)
    if a == b or "auto" in (a, b):
        return True
    return a.startswith("cuda") and b.startswith("cuda") and "cuda:all" in (a, b)


@contextlib.contextmanager
def _queue_lock(ws: Workspace) -> Iterator[None]:
    with ws.lock(QUEUE_LOCK, timeout=60):
        yield


# -- launch ------------------------------------------------------------------------------------


def resolve(recipe: Recipe, ws: Workspace, settings: Settings) -> Resolved:
    """The model folder and dataset file a recipe names, checked now rather than in the job."""
    from core.models.registry import local_model_dir
    from tools.datasets.store import DatasetStore

    info = DatasetStore(ws).info(recipe.dataset)
    model_dir = local_model_dir(recipe.base_model, settings)
    if model_dir is None:
        raise ModelUnavailable(
            f"{recipe.base_model} has no local weights to train.",
            "Train a builtin: model or hf:<folder> with config.json and weights.",
        )
    return Resolved(
        model_dir=str(model_dir.resolve()),
        dataset_file=str(info.path),
        dataset_ref=info.ref,
        dataset_sha256=info.sha256,
        workspace=str(ws.root),
    )


def launch(
    recipe: Recipe,
    *,
    ws: Workspace | None = None,
    settings: Settings | None = None,
    num_gpus: int = 1,
) -> RunInfo:
    """Queue a run of `recipe` and start it when its device is free; return its info.

    A launch of the same request (same training settings, same rows) while one is queued,
    running or has succeeded returns that run with `duplicate=True` instead of training twice.
    `num_gpus` > 1 runs it through `accelerate launch` on this machine.
    """
    settings = settings or get_settings()
    ws = ws or Workspace.from_settings(settings)
    resolved = resolve(recipe, ws, settings)
    key = request_key(recipe, resolved.dataset_sha256)
    with _queue_lock(ws):
        _refresh_locked(ws)
        with ws.transaction() as conn:
            existing = find_request(conn, key, (*ACTIVE, "succeeded"))
            if existing is None:
                run_id = new_run_id()
                run = RunInfo(
                    id=run_id,
                    status="queued",
                    base_model=recipe.base_model,
                    dataset=resolved.dataset_ref,
                    method=recipe.method,
                    request_key=key,
                    backend="accelerate" if num_gpus > 1 else "local",
                    device="cuda:all" if num_gpus > 1 else device_slot(recipe.device),
                    summary={"num_gpus": num_gpus} if num_gpus > 1 else {},
                    run_dir=ws.artifact_dir("runs", run_id),
                )
                write_spec(run.paths, recipe.to_dict(), resolved)
                insert_run(conn, run)
        if existing is not None:
            found = get_run(ws, existing)
            found.duplicate = True
            return found
        ws.record_event("run.queued", run.ref, {"request_key": key})
        _advance_locked(ws)
    return get_run(ws, run.id)


# -- the queue ---------------------------------------------------------------------------------


def advance_queue(ws: Workspace) -> list[str]:
    """Start every queued run whose device is free, oldest first; return the ids started."""
    with _queue_lock(ws):
        _refresh_locked(ws)
        return _advance_locked(ws)


def _advance_locked(ws: Workspace) -> list[str]:
    busy = [r.device for r in list_runs(ws, ("running",))]
    started = []
    for run in list_runs(ws, ("queued",)):
        if any(_conflict(run.device, other) for other in busy):
            continue
        _start(ws, run)
        busy.append(run.device)
        started.append(run.id)
    return started


def _job_command(run: RunInfo, resume: bool) -> list[str]:
    if run.backend == "accelerate":
        from trainers.jobs.layout import read_spec
        from trainers.jobs.multi_gpu import accelerate_command

        data, _ = read_spec(run.paths)
        gpus = int(run.summary.get("num_gpus", 2))
        return accelerate_command(Recipe.from_dict(data), run.run_dir, gpus, resume=resume)
    return local.sft_command(run.run_dir, resume=resume)


def _start(ws: Workspace, run: RunInfo) -> None:
    paths, attempt = run.paths, run.attempt + 1
    for stale in (paths.error, paths.exit, paths.cancel_request, paths.result):
        stale.unlink(missing_ok=True)
    job = _job_command(run, resume=bool(run.resume_from))
    command = local.watch_command(
        job, run_dir=run.run_dir, run_id=run.id, home=ws.root, attempt=attempt
    )
    pid, pgid, started = local.spawn(command, paths, attempt)
    with ws.transaction() as conn:
        update_run(
            conn,
            run.id,
            status="running",
            pid=pid,
            pgid=pgid,
            proc_start=started,
            attempt=attempt,
            started_at=utc_now(),
            ended_at=None,
            exit_code=None,
            cause="",
        )
    ws.record_event("run.started", run.ref, {"attempt": attempt, "pid": pid})


# -- status ------------------------------------------------------------------------------------


def finalize(
    ws: Workspace, run_id: str, attempt: int, exit_info: dict[str, Any] | None = None
) -> bool:
    """Record how attempt `attempt` of a running run ended; False if someone already did."""
    run = get_run(ws, run_id)
    status, cause, detail = outcome(run.paths, exit_info)
    code = (exit_info or {}).get("returncode", detail.get("exit_code"))
    summary = {**run.summary, **_summary(detail)}
    with ws.transaction() as conn:
        done = update_run(
            conn,
            run_id,
            where={"status": "running", "attempt": attempt},
            status=status,
            cause=cause,
            exit_code=code,
            ended_at=utc_now(),
            summary=summary,
        )
    if done:
        ws.record_event(f"run.{status}", run.ref, {"cause": cause, "attempt": attempt})
    return done


def _summary(detail: dict[str, Any]) -> dict[str, Any]:
    if "result" in detail:
        return {"result": detail["result"], "error": None}
    keys = ("message", "hint", "traceback", "log_tail")
    return {"error": {k: detail[k] for k in keys if k in detail} or None}


def refresh(ws: Workspace) -> list[str]:
    """Settle runs whose process is gone (re-attach on start-up), then move the queue.

    A run marked running whose watcher died (or whose pid now names another process) becomes
    succeeded or failed from its files; a run still alive is left alone: it goes on.
    """
    with _queue_lock(ws):
        settled = _refresh_locked(ws)
        _advance_locked(ws)
    return settled


def _refresh_locked(ws: Workspace) -> list[str]:
    codes = local.reap()
    settled = []
    for run in list_runs(ws, ("running",)):
        if procs.is_alive(run.pid, run.proc_start):
            continue
        exit_info = None
        if run.pid in codes and codes[run.pid] != 0 and not run.paths.exit.exists():
            exit_info = {"returncode": codes[run.pid]}
        if finalize(ws, run.id, run.attempt, exit_info):
            settled.append(run.id)
    return settled


# -- cancel and resume -------------------------------------------------------------------------


def cancel(ws: Workspace, run_id: str, grace_s: float = CANCEL_GRACE_S) -> RunInfo:
    """Stop a queued or running run: SIGTERM its process group, SIGKILL after `grace_s`."""
    run = get_run(ws, run_id)
    if run.status not in ACTIVE:
        raise InvalidInput(
            f"Run {run.id} is {run.status}; only queued or running runs can be cancelled.",
            "`tunesmith runs list` shows which runs are active.",
        )
    run.paths.cancel_request.touch()
    if run.status == "running" and procs.is_alive(run.pid, run.proc_start) and run.pgid:
        procs.end_group(run.pgid, grace_s)
    with _queue_lock(ws):
        with ws.transaction() as conn:
            changed = update_run(
                conn,
                run.id,
                where={"status": run.status, "attempt": run.attempt},
                status="cancelled",
                ended_at=utc_now(),
                cause="",
            )
        if changed:
            ws.record_event("run.cancelled", run.ref, {"attempt": run.attempt})
        _refresh_locked(ws)
        _advance_locked(ws)
    return get_run(ws, run.id)


def resume(ws: Workspace, run_id: str) -> RunInfo:
    """Start a failed or cancelled run again from its last COMPLETE checkpoint (queued if busy)."""
    with _queue_lock(ws):
        _refresh_locked(ws)
        run = get_run(ws, run_id)
        if run.status not in ("failed", "cancelled"):
            raise InvalidInput(
                f"Run {run.id} is {run.status}; only failed or cancelled runs can be resumed.",
                "Wait for it to end, or cancel it first (`tunesmith runs cancel ID`).",
            )
        checkpoint = last_complete_checkpoint(run.paths.checkpoints)
        if checkpoint is None:
            raise InvalidInput(
                f"Run {run.id} has no complete checkpoint to resume from.",
                "Launch it again from the start with `tunesmith train` (same data and settings).",
            )
        run.paths.cancel_request.unlink(missing_ok=True)
        with ws.transaction() as conn:
            update_run(
                conn,
                run.id,
                where={"status": run.status},
                status="queued",
                resume_from=checkpoint.name,
                cause="",
            )
        ws.record_event("run.resumed", run.ref, {"checkpoint": checkpoint.name})
        _advance_locked(ws)
    return get_run(ws, run.id)
