"""The training job: `python -m trainers.sft --run-dir DIR [--resume]`.

A run is this script in its own process, reading DIR/recipe.yaml (written at launch) and writing
only inside DIR: metrics.jsonl and loss.png as it goes, sealed checkpoints, then final/ (adapter or
model, plus tokenizer) and result.json last, as the commit point of a successful run. A failure
writes error.json with its classified cause (trainers.jobs.causes) and exits with that cause's
code, so whoever watches the process can tell bad data from a full disk without reading logs.

Rows are read and checked before torch is imported: a broken dataset fails in a second, and
`--help` is instant.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.atomic import write_json, write_jsonl
from trainers.jobs.causes import classify_exception, traceback_tail
from trainers.jobs.layout import (
    Resolved,
    RunPaths,
    checkpoint_step,
    last_complete_checkpoint,
    read_metrics,
    read_spec,
)


class Stopped(KeyboardInterrupt):
    """SIGTERM arrived (a cancel, or the machine shutting down): stop and say so."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.sft",
        description="Run one Tunesmith SFT training job from its run folder.",
    )
    parser.add_argument("--run-dir", required=True, help="The run folder holding recipe.yaml.")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Continue from the last checkpoint marked COMPLETE (refused if there is none).",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    paths = RunPaths(Path(args.run_dir).resolve())
    job = Job(paths)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        job.run(resume=args.resume)
    except Exception as exc:
        return report_failure(paths, exc, data_phase=job.phase == "data")
    except KeyboardInterrupt as exc:
        return report_failure(paths, exc)
    return 0


def _on_sigterm(signum: int, frame: Any) -> None:
    # once is enough: a cancel signals the whole group and the watcher forwards it too, and a
    # second Stopped raised while error.json is written would lose the report
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Stopped("SIGTERM")


def report_failure(paths: RunPaths, exc: BaseException, *, data_phase: bool = False) -> int:
    """Write error.json (cause, message, what to do, traceback tail); return the exit code."""
    failure = classify_exception(exc, data_phase=data_phase)
    tail = traceback_tail(exc)
    print("\n".join(tail), file=sys.stderr, flush=True)
    print(f"[tunesmith] failed: {failure.cause}: {failure.message}", file=sys.stderr, flush=True)
    if _is_main_process():
        write_json(paths.error, failure.to_dict(traceback=tail, at=_now()))
    return failure.exit_code


class Job:
    """One attempt at a run: data, model, trainer, training, saving, in that order."""

    def __init__(self, paths: RunPaths) -> None:
        self.paths = paths
        self.phase = "start"

    def run(self, *, resume: bool) -> None:
        from trainers.recipe import Recipe

        data, resolved = read_spec(self.paths)
        recipe = Recipe.from_dict(data)
        checkpoint = self._checkpoint(resume)
        self.phase = "data"
        train_rows, eval_rows = self._rows(resolved)
        _say(
            f"{len(train_rows)} training rows, {len(eval_rows)} eval rows ({resolved.dataset_ref})"
        )
        train_set, eval_set = _datasets(train_rows, eval_rows)
        self.phase = "model"
        model, tokenizer, original_template = load_model(recipe, resolved.model_dir)
        self.phase = "train"
        trainer, metrics = build_trainer(recipe, self.paths, model, tokenizer, train_set, eval_set)
        if checkpoint is not None:
            _trim_metrics(self.paths, checkpoint_step(checkpoint) or 0)
            _say(f"resuming from {checkpoint.name}")
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        if eval_set is not None and _last_eval_step(trainer) != trainer.state.global_step:
            trainer.evaluate()
        self.phase = "save"
        if original_template is not None:
            tokenizer.chat_template = original_template  # inference uses the model's own
        save_final(trainer, tokenizer, self.paths)
        metrics.redraw()
        write_result(
            self.paths, recipe, trainer, metrics, checkpoint, time.perf_counter() - started
        )
        _say(f"done: {self.paths.final}")

    def _checkpoint(self, resume: bool) -> Path | None:
        if not resume:
            return None
        checkpoint = last_complete_checkpoint(self.paths.checkpoints)
        if checkpoint is None:
            from core.errors import NotFound

            raise NotFound(
                f"No complete checkpoint in {self.paths.checkpoints} to resume from.",
                "Launch the run again from the start instead.",
            )
        return checkpoint

    def _rows(self, resolved: Resolved) -> tuple[list[dict], list[dict]]:
        from trainers.data import read_rows_file, split_rows

        rows = read_rows_file(
            resolved.dataset_file, sha256=resolved.dataset_sha256, source=resolved.dataset_ref
        )
        return split_rows(rows)


def _datasets(train_rows: list[dict], eval_rows: list[dict]) -> tuple[Any, Any]:
    from trainers.data import to_hf_dataset

    return to_hf_dataset(train_rows), (to_hf_dataset(eval_rows) if eval_rows else None)


def load_model(recipe: Any, model_dir: str) -> tuple[Any, Any, str | None]:
    """Model and tokenizer from the base folder, with a training chat template where needed.

    Returns the tokenizer's original template when it was swapped (None otherwise), so the saved
    tokenizer keeps the template the model is prompted with.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainers.config_map import model_init_kwargs
    from trainers.templates import training_chat_template

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    original = None
    template = training_chat_template(tokenizer)
    if template is not None:
        original, tokenizer.chat_template = tokenizer.chat_template, template
        _say("using a training chat template with assistant markers")
    model = AutoModelForCausalLM.from_pretrained(model_dir, **model_init_kwargs(recipe))
    return model, tokenizer, original


def build_trainer(
    recipe: Any, paths: RunPaths, model: Any, tokenizer: Any, train_set: Any, eval_set: Any
) -> tuple[Any, Any]:
    """The SFTTrainer of this run, with the job's own callbacks; returns (trainer, metrics)."""
    from trl import SFTTrainer

    from trainers.callbacks import CheckpointSealer, MetricsLogger
    from trainers.config_map import build_configs

    args, lora = build_configs(recipe, paths.checkpoints, has_eval=eval_set is not None)
    # tokens/s counts non-padding tokens, whatever the recipe says
    args.include_num_input_tokens_seen = "non_padding"
    metrics = MetricsLogger(paths, title=f"{recipe.method} · {recipe.base_model}")
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[metrics, CheckpointSealer()],
    )
    return trainer, metrics


def save_final(trainer: Any, tokenizer: Any, paths: RunPaths) -> None:
    """The adapter (LoRA) or the whole model (full), plus the tokenizer, into final/."""
    trainer.save_model(str(paths.final))
    if _is_main_process():
        tokenizer.save_pretrained(str(paths.final))


def write_result(
    paths: RunPaths,
    recipe: Any,
    trainer: Any,
    metrics: Any,
    checkpoint: Path | None,
    seconds: float,
) -> None:
    """result.json: the run's final figures. Written last: its presence means success."""
    if not _is_main_process():
        return
    records = read_metrics(paths.metrics)
    losses = [r["loss"] for r in records if r.get("loss") is not None]
    evals = [r["eval_loss"] for r in records if r.get("eval_loss") is not None]
    speeds = [r["tokens_per_s"] for r in records if r.get("tokens_per_s")]
    result = {
        "status": "succeeded",
        "method": recipe.method,
        "global_step": trainer.state.global_step,
        "epoch": trainer.state.epoch,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "eval_loss": evals[-1] if evals else None,
        "train_loss": metrics.summary.get("train_loss"),
        "tokens_seen": trainer.state.num_input_tokens_seen,
        "tokens_per_s": round(sum(speeds) / len(speeds), 2) if speeds else None,
        "seconds": round(seconds, 2),
        "final_dir": str(paths.final),
        "artifact": "adapter" if recipe.method == "lora" else "model",
        "loss_png": str(paths.loss_png) if paths.loss_png.exists() else None,
        "resumed_from": checkpoint.name if checkpoint else None,
        "finished_at": _now(),
    }
    write_json(paths.result, result)


def _trim_metrics(paths: RunPaths, step: int) -> None:
    """Drop metrics logged after the checkpoint being resumed: those steps are trained again."""
    records = read_metrics(paths.metrics)
    kept = [r for r in records if r.get("step", 0) <= step]
    if len(kept) != len(records):
        write_jsonl(paths.metrics, kept)


def _last_eval_step(trainer: Any) -> int | None:
    steps = [e.get("step") for e in trainer.state.log_history if "eval_loss" in e]
    return steps[-1] if steps else None


def _is_main_process() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _say(text: str) -> None:
    print(f"[tunesmith] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
