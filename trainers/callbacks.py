"""Trainer callbacks: the metrics a person watches, and checkpoints that can be trusted.

`MetricsLogger` appends one JSON line per log to metrics.jsonl (flushed at once, so `runs show`
and `runs logs -f` see progress live) and redraws loss.png after each evaluation. Tokens/s counts
non-padding tokens: the trainer's `num_input_tokens_seen` (set to "non_padding" by the job)
between two logs, over the wall time between them.

`CheckpointSealer` writes `COMPLETE` into a checkpoint folder once it is fully on disk. In
transformers 5.x `on_save` fires after `_save_checkpoint` returns, i.e. after the weights,
optimizer, scheduler, RNG and trainer state are written (and old checkpoints rotated); the
sealer also fsyncs every file first, so a power cut cannot leave a sealed but empty checkpoint.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from core.atomic import write_json
from trainers.jobs.layout import COMPLETE_MARKER, RunPaths, read_metrics
from trainers.plots import plot_loss

_KEPT = {
    "loss": "loss",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "eval_loss": "eval_loss",
    "mean_token_accuracy": "token_accuracy",
    "eval_mean_token_accuracy": "eval_token_accuracy",
    "num_input_tokens_seen": "tokens_seen",
}


class MetricsLogger(TrainerCallback):
    """Append each log to metrics.jsonl; redraw loss.png after every evaluation and at the end."""

    def __init__(self, paths: RunPaths, title: str = "") -> None:
        self.paths = paths
        self.title = title
        self.summary: dict[str, Any] = {}  # the trainer's end-of-training figures
        self._last_time = 0.0
        self._last_tokens = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._last_time = time.perf_counter()
        self._last_tokens = state.num_input_tokens_seen

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        if "train_loss" in logs:  # the closing summary, not a step
            self.summary = {k: v for k, v in logs.items() if isinstance(v, int | float)}
            return
        record: dict[str, Any] = {
            "step": state.global_step,
            "epoch": logs.get("epoch", state.epoch),
        }
        record |= {name: logs[key] for key, name in _KEPT.items() if key in logs}
        if "loss" in logs:
            now, tokens = time.perf_counter(), state.num_input_tokens_seen
            elapsed = now - self._last_time
            if elapsed > 0 and tokens >= self._last_tokens:
                record["tokens_per_s"] = round((tokens - self._last_tokens) / elapsed, 2)
            self._last_time, self._last_tokens = now, tokens
        record["time"] = datetime.now(UTC).isoformat(timespec="seconds")
        with open(self.paths.metrics, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
        if "eval_loss" in logs:
            self.redraw()

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.redraw()

    def redraw(self) -> None:
        plot_loss(read_metrics(self.paths.metrics), self.paths.loss_png, self.title)


class CheckpointSealer(TrainerCallback):
    """Mark `checkpoint-N/` complete once every file in it is written and synced."""

    def on_save(self, args, state, control, **kwargs):
        _barrier()
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                seal(folder, state.global_step)
        _barrier()


def seal(folder: Path, step: int) -> None:
    """fsync every file of a checkpoint, then write its COMPLETE marker (atomically)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(folder / COMPLETE_MARKER, {"step": step, "at": stamp})


def _barrier() -> None:
    """Wait for every rank (FSDP writes shards from each) before sealing; no-op on one process."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
