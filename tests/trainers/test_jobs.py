"""The job runner without training: request keys, sealed checkpoints, failure causes, re-attach
after a restart, cancel of a queued run, and the accelerate / Ray command lines."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.atomic import write_json
from core.errors import InvalidInput, TunesmithError
from tests.trainers.test_jobs_support import fake_run, make_workspace, tiny_recipe
from trainers.jobs import causes, procs, runner
from trainers.jobs.layout import (
    COMPLETE_MARKER,
    Resolved,
    RunPaths,
    last_complete_checkpoint,
    read_spec,
    write_spec,
)
from trainers.jobs.multi_gpu import accelerate_command
from trainers.jobs.ray_backend import ray_job_command, submit_ray_job
from trainers.jobs.registry import get_run


def _dead_pid() -> tuple[int, int | None]:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    started = procs.start_time(process.pid)
    process.wait()
    return process.pid, started


def test_request_key_ignores_bookkeeping_but_not_training_or_data():
    recipe = tiny_recipe("m")
    key = runner.request_key(recipe, "sha-a")
    assert runner.request_key(tiny_recipe("m", logging_steps=5, reasons={}), "sha-a") == key
    assert runner.request_key(tiny_recipe("m", learning_rate=1e-4), "sha-a") != key
    assert runner.request_key(recipe, "sha-b") != key


def test_only_sealed_checkpoints_are_resumable(tmp_path):
    for step, sealed in ((5, True), (10, True), (15, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if sealed:
            (folder / COMPLETE_MARKER).write_text("{}")
    (tmp_path / "checkpoint-x").mkdir()
    assert last_complete_checkpoint(tmp_path).name == "checkpoint-10"
    assert last_complete_checkpoint(tmp_path / "missing") is None


def test_spec_round_trips(tmp_path):
    paths = RunPaths(tmp_path)
    resolved = Resolved("/m", "/d.jsonl", "ds:x@v1", "sha")
    write_spec(paths, tiny_recipe("m").to_dict(), resolved)
    data, back = read_spec(paths)
    assert back == resolved and data["max_length"] == 64


@pytest.mark.parametrize(
    ("code", "oom", "cause"),
    [
        (137, False, causes.HOST_OOM),
        (-signal.SIGKILL, True, causes.HOST_OOM),
        (-signal.SIGKILL, False, causes.KILLED),
        (-signal.SIGTERM, False, causes.KILLED),
        (None, False, causes.KILLED),
        (3, False, causes.OTHER),
    ],
)
def test_exit_causes(code, oom, cause):
    assert causes.classify_exit(code, oom_killed=oom).cause == cause


def test_exception_causes():
    import errno

    from tools.datasets.validation import DatasetInvalid, RowFault

    bad = DatasetInvalid([RowFault(3, "no_assistant_turn", "x")])
    assert causes.classify_exception(bad).cause == causes.BAD_DATA
    assert causes.classify_exception(ValueError("x"), data_phase=True).cause == causes.BAD_DATA
    assert causes.classify_exception(ValueError("x")).cause == causes.OTHER
    full = OSError(errno.ENOSPC, "No space left on device")
    try:
        raise RuntimeError("save failed") from full
    except RuntimeError as exc:
        assert causes.classify_exception(exc).cause == causes.DISK_FULL
    cuda = RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert causes.classify_exception(cuda).cause == causes.CUDA_OOM
    assert causes.classify_exception(MemoryError()).cause == causes.HOST_OOM


def test_restart_settles_runs_whose_process_died(tunesmith_home):
    ws = make_workspace(tunesmith_home)
    pid, started = _dead_pid()
    vanished = fake_run(ws, pid=pid, pgid=pid, proc_start=started, attempt=1)
    finished = fake_run(ws, pid=pid, pgid=pid, proc_start=started, attempt=1)
    write_json(finished.paths.result, {"status": "succeeded", "global_step": 20})
    failed = fake_run(ws, pid=pid, pgid=pid, proc_start=started, attempt=1)
    write_json(failed.paths.error, {"cause": "disk full", "message": "No space left on device"})
    # a live pid that is some other process now (its start time differs): not our run
    reused = fake_run(ws, pid=procs_self(), pgid=procs_self(), proc_start=1, attempt=1)

    settled = runner.refresh(ws)

    assert set(settled) == {vanished.id, finished.id, failed.id, reused.id}
    assert (get_run(ws, vanished.id).status, get_run(ws, vanished.id).cause) == (
        "failed",
        "killed",
    )
    assert get_run(ws, finished.id).status == "succeeded"
    assert get_run(ws, finished.id).summary["result"]["global_step"] == 20
    assert get_run(ws, failed.id).cause == "disk full"
    assert get_run(ws, reused.id).status == "failed"


def procs_self() -> int:
    import os

    return os.getpid()


def test_live_run_is_left_running(tunesmith_home):
    ws = make_workspace(tunesmith_home)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        run = fake_run(
            ws, pid=sleeper.pid, pgid=sleeper.pid, proc_start=procs.start_time(sleeper.pid)
        )
        assert runner.refresh(ws) == []
        assert get_run(ws, run.id).status == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
    runner.refresh(ws)
    assert get_run(ws, run.id).status == "failed"


def test_cancel_a_queued_run_and_refuse_finished_ones(tunesmith_home):
    ws = make_workspace(tunesmith_home)
    queued = fake_run(ws, status="queued", device="cuda:3")

    assert runner.cancel(ws, queued.id).status == "cancelled"
    with pytest.raises(InvalidInput, match="only queued or running"):
        runner.cancel(ws, queued.id)
    with pytest.raises(InvalidInput, match="no complete checkpoint"):
        runner.resume(ws, queued.id)


def test_devices_conflict():
    assert runner._conflict("cuda", "cuda:0")
    assert not runner._conflict("cuda:0", "cuda:1")
    assert runner._conflict("cuda:all", "cuda:1")
    assert not runner._conflict("cpu", "cuda:0")


@pytest.mark.parametrize(("params", "strategy"), [(10_000_000, "MULTI_GPU"), (70e9, "FSDP")])
def test_accelerate_command_picks_ddp_or_fsdp_by_size(tmp_path, params, strategy):
    recipe = tiny_recipe("m", method="full", precision="bf16", device="cuda")
    command = accelerate_command(recipe, tmp_path, 4, params=int(params), gpu_memory_gib=80)
    assert command[1:4] == ["-m", "accelerate.commands.launch", "--config_file"]
    assert command[-4:] == ["-m", "trainers.sft", "--run-dir", str(tmp_path)]
    config = yaml.safe_load((tmp_path / "accelerate.yaml").read_text())
    assert config["distributed_type"] == strategy and config["num_processes"] == 4
    assert config["mixed_precision"] == "bf16"
    assert ("fsdp_config" in config) == (strategy == "FSDP")
    assert (tmp_path / "accelerate.yaml").read_text().startswith("# ")  # the reason, first
    with pytest.raises(InvalidInput):
        accelerate_command(recipe, tmp_path, 1, params=1000)


def test_ray_job_runs_the_same_entrypoint(tmp_path):
    recipe = tiny_recipe("m", device="cuda")
    job = ray_job_command(recipe, tmp_path, run_id="r-1", resume=True)
    assert job["entrypoint"] == f"python -m trainers.sft --run-dir {tmp_path} --resume"
    assert job["submission_id"] == "r-1" and job["entrypoint_num_gpus"] == 1
    assert (Path(job["runtime_env"]["working_dir"]) / "trainers" / "sft.py").is_file()
    assert ".venv" in job["runtime_env"]["excludes"]
    multi = ray_job_command(recipe, tmp_path, run_id="r-2", num_gpus=2, params=1000)
    assert "accelerate.commands.launch" in multi["entrypoint"]
    assert "/" not in multi["entrypoint"].split()[0], "the cluster's python, not ours"


def test_submit_without_ray_says_how_to_install():
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(TunesmithError, match="Ray is not installed") as info:
            submit_ray_job("http://127.0.0.1:8265", {"entrypoint": "true"})
        assert "pip install" in info.value.hint
    else:  # pragma: no cover - Ray present
        pytest.skip("Ray is installed")


def test_sft_help_does_not_import_torch():
    code = (
        "import sys\nfrom trainers import sft\n"
        "try:\n    sft.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "--resume" in out.stdout
    assert out.stdout.strip().endswith("[]")
    assert json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"')) == []
