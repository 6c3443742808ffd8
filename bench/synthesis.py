"""Synthesis benchmark: batched generation against the same engine one request at a time, one run.

Builds the sample knowledge base in a workspace, renders the grounded strategy's real synthesis
prompts for the first N planned rows, then answers the same prompts twice with the same loaded
model: once through `engine.generate(requests, batch_size=B)` (what `tunesmith data synth` does)
and once one request per call. Prints rows/s and new tokens/s for both, the ratio, and how many
answers parsed into a row. Greedy decoding, so both runs do the same work per prompt.

Usage: python bench/synthesis.py [--model REF] [--rows 16] [--batch-size 8] [--max-new-tokens 64]
                                 [--home DIR]   (reuse a workspace: skips the builtin conversion)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from common import batched_and_single, describe_run, generation_parser  # sets the environment first


def synthesis_prompts(home: Path, rows: int, max_new_tokens: int):
    """The chat requests the grounded strategy would send for its first `rows` rows."""
    from itertools import islice

    from core import sample_data
    from core.settings import Settings
    from core.workspace import Workspace
    from tools.knowledge.kb import add_documents, open_kb
    from tools.synth import SynthRequest
    from tools.synth.grounded import GroundedStrategy

    settings = Settings(home=home)
    ws = Workspace(home)
    add_documents("bench-synth", [sample_data.docs_dir()], ws=ws, settings=settings)
    request = SynthRequest(
        "bench", "bench-synth", strategy="grounded", max_new_tokens=max_new_tokens
    )
    strategy = GroundedStrategy(request, open_kb("bench-synth", ws))
    items = list(islice(strategy.items(), rows))
    return settings, strategy, items, [strategy.chat_request(item, 0) for item in items]


def main() -> None:
    parser = generation_parser(__doc__, "--rows")
    args = parser.parse_args()

    import torch

    from core.models import load_engine
    from tools.synth.parsing import Unusable

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as scratch:
        home = args.home or Path(scratch)
        settings, strategy, items, requests = synthesis_prompts(
            home, args.rows, args.max_new_tokens
        )
        engine = load_engine(args.model, settings)
        describe_run(engine, f"{len(requests)} grounded synthesis prompts", args.max_new_tokens)
        batched, batched_s, single, single_s = batched_and_single(engine, requests, args.batch_size)

    def report(label: str, generations: list, seconds: float) -> float:
        parsed = 0
        for item, generation in zip(items, generations, strict=True):
            try:
                strategy.parse(item, generation.text)
                parsed += 1
            except Unusable:
                pass
        tokens = sum(g.output_tokens for g in generations)
        rate = len(generations) / seconds
        print(
            f"{label:>24}: {rate:6.3f} rows/s  {tokens / seconds:7.1f} new tokens/s  "
            f"({parsed}/{len(generations)} parsed into rows)"
        )
        return rate

    batched_rate = report(f"batched x{args.batch_size}", batched, batched_s)
    single_rate = report("one at a time (baseline)", single, single_s)
    print(f"{'ratio':>24}: {batched_rate / single_rate:.2f}x rows/s, batched vs one at a time")


if __name__ == "__main__":
    main()
