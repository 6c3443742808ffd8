"""SFT throughput: Tunesmith's recipe against TRL's defaults, same model and data, one run.

Trains a random-init model of a real shape (Qwen2.5-0.5B's config, built locally: no hub) for one
epoch over the same mixed-length synthetic rows (log-normal lengths, median ~300 tokens, as in
DESIGN.md's H100 baseline) twice:

  a. trl_defaults: `SFTConfig()` plus batch size 8 and max_length 2048 (bf16 on GPU, fp32 on CPU);
  b. tunesmith: a `Recipe` with `trainers.acceleration.speed_plan` applied (attention kernel,
     packing, Liger, checkpointing), built into an SFTConfig by `trainers.config_map`, the same
     path a real run takes. Batch size comes from --recipe-batch-size, not from the memory fit in
     `trainers.defaults` (that one needs a dataset in a workspace).

For each it prints non-padding tokens/s (steps after the first 3, which pay one-off costs), MFU
(6N FLOPs per token for full fine-tuning, 4N for LoRA, against --peak-tflops or a large matmul
timed in this run: bf16 on GPU, fp32 on CPU), peak memory, and the ratio b/a. Each config is
guarded: one that fails (out of memory) is reported and the other still runs.

On CPU it defaults to --tiny, a 2-layer toy shape: a smoke test of the real thing in seconds.
Usage: python bench/sft_throughput.py [--tiny] [--method full|lora] [--examples N] [--out F.json]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QWEN25_05B = dict(
    vocab_size=151936,
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    tie_word_embeddings=True,
    rope_theta=1e6,
)
TINY = dict(
    vocab_size=512,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    tie_word_embeddings=True,
)
MEDIAN_TOKENS = 300
WARMUP_STEPS = 3
LORA_R, LORA_ALPHA = 16, 32
CONFIGS = ("trl_defaults", "tunesmith")
# Same for both configs: measuring, not training, so no checkpoints, evals or progress bars.
BOOKKEEPING: dict[str, Any] = dict(
    num_train_epochs=1,
    save_strategy="no",
    eval_strategy="no",
    report_to="none",
    logging_steps=10,
    disable_tqdm=True,
    include_num_input_tokens_seen="non_padding",
    seed=0,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--tiny",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="2-layer toy shape (default on CPU; --no-tiny for the real shape)",
    )
    p.add_argument("--method", choices=("full", "lora"), default="full")
    p.add_argument("--examples", type=int, help="rows of data (default 3000, tiny 256)")
    p.add_argument("--batch-size", type=int, default=8, help="TRL defaults' batch size")
    p.add_argument(
        "--recipe-batch-size", type=int, help="Tunesmith's batch (default: --batch-size)"
    )
    p.add_argument("--max-length", type=int, help="default 2048, tiny 256")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field of config b (e.g. attn_implementation=sdpa)",
    )
    p.add_argument("--peak-tflops", type=float, help="device peak for MFU (default: measured)")
    p.add_argument(
        "--configs",
        type=lambda text: [c for c in text.split(",") if c],
        default=list(CONFIGS),
        help="which to run, comma-separated (default both; the ratio needs both)",
    )
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    args = p.parse_args(argv)
    unknown = set(args.configs) - set(CONFIGS)
    if unknown or not args.configs:
        p.error(
            f"--configs takes {','.join(CONFIGS)}, not {','.join(sorted(unknown)) or 'nothing'}"
        )
    return args


# -- model and data ------------------------------------------------------------------------------


def build_data(examples: int, vocab: int, max_length: int, tiny: bool) -> Any:
    """Pre-tokenized rows with log-normal lengths (median ~300, or ~75 when tiny), seed 0."""
    import numpy as np
    from datasets import Dataset

    rng = np.random.default_rng(0)
    lengths = np.clip(rng.lognormal(math.log(MEDIAN_TOKENS), 0.7, examples).astype(int), 16, None)
    lengths = np.clip(lengths // 4 if tiny else lengths, 8, max_length)
    return Dataset.from_dict({"input_ids": [rng.integers(3, vocab, n).tolist() for n in lengths]})


def build_tokenizer(vocab: int) -> Any:
    """A word-level tokenizer over ids t0..tN: TRL only needs its pad and eos tokens here."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    words = {f"t{i}": i for i in range(vocab)}
    core = Tokenizer(models.WordLevel(words, unk_token="t2"))
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="t0", eos_token="t1", unk_token="t2"
    )


def build_model(shape: dict[str, Any], device: str, bf16: bool, attn: str) -> Any:
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    torch.manual_seed(0)
    dtype = torch.bfloat16 if bf16 else torch.float32
    config = Qwen2Config(**shape)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attn)
    return model.to(device)


def count_params(shape: dict[str, Any]) -> int:
    """Parameters of the shape, from a weightless (meta-device) build."""
    import torch

    with torch.device("meta"):
        return build_model(shape, "meta", False, "sdpa").num_parameters()


# -- the two configs -----------------------------------------------------------------------------


def trl_defaults(args: argparse.Namespace, out_dir: Path, cuda: bool) -> tuple[Any, Any, str]:
    """(SFTConfig, LoraConfig or None, attention): TRL's own defaults plus batch and length."""
    from trl import SFTConfig

    config = SFTConfig(
        output_dir=str(out_dir),
        per_device_train_batch_size=args.batch_size,
        max_length=args.max_length,
        bf16=cuda,
        use_cpu=not cuda,
        **BOOKKEEPING,
    )
    lora = None
    if args.method == "lora":
        from peft import LoraConfig

        lora = LoraConfig(
            r=LORA_R, lora_alpha=LORA_ALPHA, target_modules="all-linear", task_type="CAUSAL_LM"
        )
    return config, lora, "sdpa"


def tunesmith_recipe(args: argparse.Namespace, device: str, params: int) -> tuple[Any, Any]:
    """The Recipe of config b: the speed plan for this device, the bench's shape, overrides."""
    from trainers.acceleration import speed_plan
    from trainers.hardware import detect_hardware
    from trainers.recipe import Recipe

    memory = detect_hardware(device).memory_gib
    plan = speed_plan(device, params, args.max_length, memory)
    recipe = Recipe(
        base_model="bench:qwen2.5-0.5b-shape" if not args.tiny else "bench:tiny",
        method=args.method,
        epochs=1.0,
        batch_size=args.recipe_batch_size or args.batch_size,
        max_length=args.max_length,
        loss="full",  # pre-tokenized rows: every token is trained on
        device=device,
        precision="bf16" if device == "cuda" else "fp32",
        lora_r=LORA_R,
        lora_alpha=LORA_ALPHA,
        packing=plan.packing,
        attn_implementation=plan.attn_implementation,
        use_liger=plan.use_liger,
        activation_checkpointing=plan.activation_checkpointing,
        reasons=dict(plan.reasons),
    )
    if args.set:
        recipe = recipe.with_overrides(dict(item.split("=", 1) for item in args.set))
    return recipe, plan


def tunesmith(args: argparse.Namespace, recipe: Any, out_dir: Path) -> tuple[Any, Any, str]:
    """(SFTConfig, LoraConfig or None, attention) built by config_map, as a real run builds them."""
    from trainers.config_map import build_configs

    config, lora = build_configs(recipe, out_dir, has_eval=False)
    config.model_init_kwargs = None  # the bench builds the model itself (same dtype and attention)
    for key, value in BOOKKEEPING.items():
        setattr(config, key, value)
    return config, lora, recipe.attn_implementation


# -- measuring -----------------------------------------------------------------------------------


def measure_peak_tflops(device: str) -> float:
    """Dense matmul TFLOP/s: bf16 8192^3 on GPU (the MFU convention), fp32 1024^3 on CPU."""
    import torch

    n, dtype, reps = (8192, torch.bfloat16, 20) if device == "cuda" else (1024, torch.float32, 5)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e12


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _reset_peak_memory(device: str) -> None:
    """Start a fresh peak: CUDA's allocator counter, or the process's RSS high-water mark."""
    import torch

    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        return
    with contextlib.suppress(OSError):  # Linux: writing 5 to clear_refs resets VmHWM
        Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_gib(device: str) -> float | None:
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # kB -> GiB; the whole process, CPU runs
    except OSError:
        pass
    return None


def step_clock(device: str) -> Any:
    """A callback recording (time, non-padding tokens seen) at the end of every optimizer step."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.marks: list[tuple[float, int]] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            _sync(device)
            self.marks.append((time.perf_counter(), state.num_input_tokens_seen))

    return StepClock()


def train_once(
    name: str,
    built: tuple[Any, Any, str],
    shape: dict[str, Any],
    data: Any,
    tokenizer: Any,
    device: str,
    flops_per_token_factor: int,
    peak_tflops: float,
) -> dict[str, Any]:
    """Train one epoch with one config and measure it; an exception becomes ok=False."""
    import torch
    from transformers import PrinterCallback
    from trl import SFTTrainer

    config, lora, attn = built
    result: dict[str, Any] = {"name": name, "attn_implementation": attn}
    try:
        model = build_model(shape, device, bool(config.bf16), attn)
        params = model.num_parameters()
        clock = step_clock(device)
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=data,
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[clock],
        )
        trainer.remove_callback(PrinterCallback)  # per-step log dicts; the bench prints its own
        result |= effective_settings(trainer)
        _reset_peak_memory(device)
        start = time.perf_counter()
        output = trainer.train()
        wall = time.perf_counter() - start
        tokens_per_s, excluded = _steady_rate(clock.marks, start)
        mfu = tokens_per_s * flops_per_token_factor * params / (peak_tflops * 1e12)
        result |= {
            "ok": True,
            "steps": len(clock.marks),
            "warmup_steps_excluded": excluded,
            "tokens": clock.marks[-1][1] if clock.marks else 0,
            "tokens_per_s": round(tokens_per_s, 1),
            "mfu": round(mfu, 4),
            "peak_memory_gib": _round(_peak_memory_gib(device)),
            "wall_s": round(wall, 2),
            "final_loss": round(output.training_loss, 4),
            "params": params,
        }
        del trainer, model
    except Exception as error:  # one failing config (out of memory) must not lose the other
        result |= {"ok": False, "error": f"{type(error).__name__}: {error}"[:500]}
    gc.collect()  # drop the model before the next one is built
    if device == "cuda":
        torch.cuda.empty_cache()
    return result


def effective_settings(trainer: Any) -> dict[str, Any]:
    """What the trainer really runs with, read back from it rather than from what we asked."""
    args = trainer.args
    return {
        "batch_size": args.per_device_train_batch_size,
        "packing": bool(args.packing),
        "padding_free": bool(trainer.padding_free),
        "activation_checkpointing": bool(args.gradient_checkpointing),
        "use_liger": bool(args.use_liger_kernel),
        "bf16": bool(args.bf16),
    }


def _steady_rate(marks: list[tuple[float, int]], start: float) -> tuple[float, int]:
    """Tokens/s after the first steps (compilation, allocator warm-up); whole run if too short."""
    if not marks:
        return 0.0, 0
    excluded = min(WARMUP_STEPS, len(marks) - 1)
    t0, tokens0 = marks[excluded - 1] if excluded else (start, 0)
    t1, tokens1 = marks[-1]
    return (tokens1 - tokens0) / max(t1 - t0, 1e-9), excluded


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    import datasets
    import torch
    import transformers
    import trl

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cuda = device == "cuda"
    args.tiny = (not cuda) if args.tiny is None else args.tiny
    args.examples = args.examples or (256 if args.tiny else 3000)
    args.max_length = args.max_length or (256 if args.tiny else 2048)
    shape = TINY if args.tiny else QWEN25_05B
    factor = 4 if args.method == "lora" else 6

    data = build_data(args.examples, shape["vocab_size"], args.max_length, args.tiny)
    tokenizer = build_tokenizer(shape["vocab_size"])
    peak, peak_source = args.peak_tflops, "--peak-tflops"
    if peak is None:
        peak = measure_peak_tflops(device)
        peak_source = "bf16 8192^3 matmul, this run" if cuda else "fp32 1024^3 matmul, this run"
    params = count_params(shape)
    recipe, plan = tunesmith_recipe(args, device, params)

    builders = {
        "trl_defaults": lambda d: trl_defaults(args, d, cuda),
        "tunesmith": lambda d: tunesmith(args, recipe, d),
    }
    load_before = _load_average()
    results = {}
    with tempfile.TemporaryDirectory(prefix="sft-bench-") as tmp:
        # Always in this order: Liger patches transformers' Qwen2 modules for later models too.
        for name in (c for c in CONFIGS if c in args.configs):
            built = builders[name](Path(tmp) / name)
            result = train_once(name, built, shape, data, tokenizer, device, factor, peak)
            print(json.dumps(result), flush=True)
            results[name] = result

    return {
        "date": dt.date.today().isoformat(),
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": {"before": load_before, "after": _load_average()},
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
        },
        "shape": "tiny" if args.tiny else "qwen2.5-0.5b",
        "method": args.method,
        "examples": args.examples,
        "max_length": args.max_length,
        "flops_per_token": f"{factor}N",
        "peak_tflops": round(peak, 3),
        "peak_source": peak_source,
        "speed_plan": asdict(plan),
        "recipe_overrides": args.set,
        "results": results,
        "ratio_tokens_per_s": _ratio(results),
    }


def _ratio(results: dict[str, dict[str, Any]]) -> float | None:
    """tunesmith / trl_defaults in tokens/s, when both ran and succeeded."""
    base, ours = results.get("trl_defaults", {}), results.get("tunesmith", {})
    if base.get("ok") and ours.get("ok") and base["tokens_per_s"] > 0:
        return round(ours["tokens_per_s"] / base["tokens_per_s"], 3)
    return None


def _load_average() -> float | None:
    """The host's 1-minute load: on shared cores it says how far to trust a CPU figure."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def print_table(report: dict[str, Any]) -> None:
    print(
        f"\n{report['device']}, {report['shape']} shape, {report['method']}, "
        f"{report['examples']} rows, MFU at {report['flops_per_token']} against "
        f"{report['peak_tflops']} TFLOP/s ({report['peak_source']})"
    )
    print(
        f"{'config':<14} {'attention':<18} {'tokens/s':>10} {'MFU':>7} {'peak GiB':>9} {'steps':>6}"
    )
    for r in report["results"].values():
        if not r.get("ok"):
            print(f"{r['name']:<14} FAILED: {r.get('error')}")
            continue
        print(
            f"{r['name']:<14} {r['attn_implementation']:<18} {r['tokens_per_s']:>10,.0f} "
            f"{r['mfu']:>7.2%} {r['peak_memory_gib']!s:>9} {r['steps']:>6}"
        )
    print(f"ratio tunesmith / trl_defaults (tokens/s): {report['ratio_tokens_per_s']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print_table(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
    return 0 if all(r.get("ok") for r in report["results"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
