"""Real training runs of the tiny model on CPU, through the job runner (real subprocesses).

Each test asserts on what a run leaves behind: its status and cause in the registry, the loss
going down in metrics.jsonl, a PNG curve, final/ that reloads and generates, sealed checkpoints.
"""

from __future__ import annotations

import json
import os
import signal

from tests.trainers.test_jobs_support import (
    launch,
    make_workspace,
    pattern_rows,
    tiny_recipe,
    wait_for,
    wait_until,
)
from trainers.jobs import procs, runner
from trainers.jobs.layout import COMPLETE_MARKER, last_complete_checkpoint, read_metrics

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_learned(run) -> dict:
    paths = run.paths
    records = read_metrics(paths.metrics)
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) >= 10
    assert losses[-1] < losses[0] * 0.5, losses
    assert any("eval_loss" in r for r in records)
    assert all(r["tokens_per_s"] > 0 for r in records if "loss" in r and "tokens_per_s" in r)
    assert paths.loss_png.read_bytes()[:8] == PNG_MAGIC
    result = json.loads(paths.result.read_text())
    assert result["global_step"] == 20 and result["last_loss"] == losses[-1]
    complete = [c for c in paths.checkpoints.glob("checkpoint-*") if (c / COMPLETE_MARKER).exists()]
    assert complete, "every finished checkpoint is sealed"
    return result


def test_lora_and_full_runs_queue_and_dedupe(tunesmith_home, tiny_model_dir):
    ws = make_workspace(tunesmith_home)
    lora = launch(ws, tiny_recipe(tiny_model_dir, "lora"))
    assert lora.status == "running" and lora.pid and lora.pgid

    full = launch(ws, tiny_recipe(tiny_model_dir, "full"))
    assert full.status == "queued", "one job per device: the second waits"

    again = launch(ws, tiny_recipe(tiny_model_dir, "lora", logging_steps=2))
    assert again.id == lora.id and again.duplicate, "same request (bookkeeping aside): same run"

    lora = wait_for(ws, lora.id, ("succeeded", "failed"))
    assert lora.status == "succeeded", lora.summary
    full = wait_for(ws, full.id, ("succeeded", "failed"))
    assert full.status == "succeeded", full.summary
    assert full.started_at >= lora.ended_at, "the queued run started after the first ended"

    assert _assert_learned(lora)["artifact"] == "adapter"
    assert (lora.paths.final / "adapter_config.json").is_file()
    assert _assert_learned(full)["artifact"] == "model"
    assert (full.paths.final / "model.safetensors").is_file()
    assert launch(ws, tiny_recipe(tiny_model_dir, "lora")).id == lora.id, "succeeded: not rerun"

    # the adapter reloads on its base and generates
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(lora.paths.final)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model = PeftModel.from_pretrained(base, lora.paths.final).eval()
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Question 99: what is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        output = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    new_tokens = output[0, prompt["input_ids"].shape[1] :]
    assert len(new_tokens) > 0
    assert "Paris" in tokenizer.decode(new_tokens), "the adapter learned the pattern"


def test_cancel_ends_the_process_group(tunesmith_home, tiny_model_dir):
    ws = make_workspace(tunesmith_home)
    run = launch(ws, tiny_recipe(tiny_model_dir, max_steps=5000, save_steps=1000))
    wait_until(lambda: read_metrics(run.paths.metrics), what="training to start")

    cancelled = runner.cancel(ws, run.id)

    assert cancelled.status == "cancelled"
    assert not procs.group_alive(run.pgid), "job, workers and watcher are all gone"
    runner.refresh(ws)
    assert runner.get_run(ws, run.id).status == "cancelled", "refresh does not resurrect it"


def test_killed_run_resumes_from_its_last_complete_checkpoint(tunesmith_home, tiny_model_dir):
    ws = make_workspace(tunesmith_home)
    recipe = tiny_recipe(tiny_model_dir, max_steps=30, save_steps=5, eval_steps=15)
    run = launch(ws, recipe)
    wait_until(
        lambda: last_complete_checkpoint(run.paths.checkpoints) is not None,
        what="a complete checkpoint",
    )
    job = [pid for pid in procs.group_members(run.pgid) if pid != run.pid]
    assert job, "the training process runs under the watcher"
    for pid in job:
        os.kill(pid, signal.SIGKILL)

    failed = wait_for(ws, run.id, ("failed", "succeeded"))
    assert (failed.status, failed.cause) == ("failed", "killed")
    resumed_from = last_complete_checkpoint(run.paths.checkpoints)
    step = int(resumed_from.name.split("-")[1])
    assert step < 30
    # a half-written later checkpoint (no COMPLETE marker) must never be picked
    partial = run.paths.checkpoints / f"checkpoint-{step + 5}"
    partial.mkdir(exist_ok=True)
    (partial / COMPLETE_MARKER).unlink(missing_ok=True)
    (partial / "trainer_state.json").write_text("{truncated")

    again = runner.resume(ws, run.id)
    assert again.status == "running" and again.attempt == 2
    assert again.resume_from == resumed_from.name
    done = wait_for(ws, run.id, ("succeeded", "failed"))
    assert done.status == "succeeded", done.summary

    result = json.loads(run.paths.result.read_text())
    assert result["resumed_from"] == resumed_from.name
    assert result["global_step"] == 30
    steps = [r["step"] for r in read_metrics(run.paths.metrics) if "loss" in r]
    assert steps == sorted(steps) and len(steps) == len(set(steps)), "no step logged twice"
    assert steps[-1] == 30 and step in steps and step + 1 in steps
    assert "resuming from " + resumed_from.name in run.paths.log.read_text()


def test_broken_rows_fail_with_bad_data(tunesmith_home, tiny_model_dir):
    rows = pattern_rows(8)
    rows[2] = {"id": "broken", "messages": [{"role": "user", "content": "no answer here"}]}
    ws = make_workspace(tunesmith_home, rows)

    run = wait_for(ws, launch(ws, tiny_recipe(tiny_model_dir)).id, ("failed", "succeeded"))

    assert (run.status, run.cause) == ("failed", "bad data")
    assert "line 3" in run.summary["error"]["message"]
    assert "no_assistant_turn" in run.summary["error"]["message"]
    assert run.exit_code == 65
    assert not run.paths.final.exists()
