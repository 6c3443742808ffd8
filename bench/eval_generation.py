"""Eval-set generation benchmark: batched generation against one request at a time, one process.

Turns the sample golden outputs (core/sample_data/golden.jsonl: "write a <kind> for <context>" ->
the golden text) into eval examples, builds the exact chat requests `tunesmith eval` sends
(tools.evaluation.runner.prompt_messages), and answers the same requests twice with the same
loaded model: once through `engine.generate(requests, batch_size=B)` (what `tunesmith eval`
does) and once one request per call. Prints examples/s and new tokens/s for both and the ratio,
and how many answers came out identical (greedy decoding, so they should; a few can differ where
padding changes the floating-point sums). The teacher-forced loss pass is timed too, since eval
runs it after generation for local models.

Usage: python bench/eval_generation.py [--model REF] [-n 16] [--batch-size 8]
                                       [--max-new-tokens 64] [--home DIR]
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from common import (  # sets the environment first
    batched_and_single,
    describe_run,
    generation_parser,
    timed,
)


def golden_examples(n: int) -> list:
    """The first `n` sample golden outputs as eval examples (cycled when n > 20)."""
    from itertools import cycle, islice

    from core import sample_data
    from tools.evaluation.runner import EvalExample

    golden = sample_data.read_golden()
    return [
        EvalExample(
            f"{g['id']}-{i}",
            [{"role": "user", "content": f"Write a {g['kind'].replace('_', ' ')}: {g['context']}"}],
            g["text"],
        )
        for i, g in enumerate(islice(cycle(golden), n))
    ]


def main() -> None:
    parser = generation_parser(__doc__, "-n", "--examples")
    args = parser.parse_args()
    if args.examples < 1 or args.batch_size < 1 or args.max_new_tokens < 1:
        parser.error("-n, --batch-size and --max-new-tokens must be at least 1")

    import torch

    from core.models import load_engine
    from core.models.engine import ChatRequest
    from core.settings import Settings
    from tools.evaluation.likelihood import reference_nll, supports_likelihood
    from tools.evaluation.runner import prompt_messages

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    examples = golden_examples(args.examples)
    messages = [prompt_messages(ex, i, None, None) for i, ex in enumerate(examples)]
    requests = [ChatRequest(m, max_new_tokens=args.max_new_tokens) for m in messages]
    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as scratch:
        engine = load_engine(args.model, Settings(home=args.home or Path(scratch)))
        describe_run(engine, f"{len(requests)} eval examples", args.max_new_tokens)
        batched, batched_s, single, single_s = batched_and_single(engine, requests, args.batch_size)
        loss_s = None
        if supports_likelihood(engine):
            _, loss_s = timed(
                "eval loss (teacher forcing)",
                lambda: reference_nll(
                    engine, messages, [ex.reference for ex in examples], batch_size=args.batch_size
                ),
            )

    def report(label: str, generations: list, seconds: float) -> float:
        tokens = sum(g.output_tokens for g in generations)
        rate = len(generations) / seconds
        print(f"{label:>24}: {rate:7.3f} examples/s  {tokens / seconds:8.1f} new tokens/s")
        return rate

    batched_rate = report(f"batched x{args.batch_size}", batched, batched_s)
    single_rate = report("one at a time (baseline)", single, single_s)
    same = sum(a.text == b.text for a, b in zip(batched, single, strict=True))
    print(f"{'ratio':>24}: {batched_rate / single_rate:.2f}x examples/s, batched vs one at a time")
    print(f"{'identical answers':>24}: {same}/{len(requests)}")
    if loss_s is not None:
        print(f"{'eval loss pass':>24}: {len(examples) / loss_s:7.3f} examples/s")


if __name__ == "__main__":
    main()
