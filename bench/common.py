"""What the generation benches (eval_generation.py, synthesis.py) share: the environment they
run in, their command-line options and the stopwatch.

The benches run as scripts (`python bench/x.py`), so Python puts this folder first on sys.path and
they import this module as `common`; importing it sets the single-thread, offline environment
before torch or transformers load, and puts the repository root on sys.path for `core`, `tools`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def generation_parser(doc: str, *count_flags: str) -> argparse.ArgumentParser:
    """The options both benches take; `count_flags` name the option for how many prompts."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--model", default="builtin:smollm2-135m-instruct")
    parser.add_argument(*count_flags, type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--home", type=Path, default=None)
    return parser


def timed(label: str, run) -> tuple[list, float]:
    """run()'s result and the seconds it took, printed as it finishes."""
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return result, seconds


def describe_run(engine, what: str, max_new_tokens: int) -> None:
    """Print the one line that says what was measured: model, device, threads and workload."""
    import torch

    device = getattr(engine, "device", "remote")
    print(
        f"model {engine.ref} on {device} ({torch.get_num_threads()} torch threads), "
        f"{what}, max_new_tokens={max_new_tokens}, greedy"
    )


def batched_and_single(engine, requests: list, batch_size: int) -> tuple[list, float, list, float]:
    """The same requests answered batched, then one per call, after a warm-up:
    (batched answers, seconds, one-at-a-time answers, seconds)."""
    engine.generate(requests[:2], batch_size=2)  # warm-up: first calls pay one-off costs
    batched, batched_s = timed(
        f"batched (batch_size={batch_size})",
        lambda: engine.generate(requests, batch_size=batch_size),
    )
    single, single_s = timed(
        "one request at a time",
        lambda: [engine.generate([r], batch_size=1)[0] for r in requests],
    )
    return batched, batched_s, single, single_s
