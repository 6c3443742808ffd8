"""RAG synthesis: training rows from a knowledge base, golden outputs or seed examples.

    from tools.synth import SynthRequest, synthesize, finish_job
    result = synthesize(SynthRequest("posts", kb="docs", golden_path="golden.jsonl"))
    # run the quality pipeline, commit result.rows as a dataset version, then:
    finish_job(result)

Three strategies (golden.py, grounded.py, augment.py) share one plan/prompt/row shape
(strategy.py), one batched, retrying, resumable loop (runner.py + journal.py) and one lenient
output parser (parsing.py). Importing this package loads no model.
"""

from tools.synth.api import finish_job, synthesize
from tools.synth.request import STRATEGIES, Reject, SynthProgress, SynthRequest, SynthResult

__all__ = [
    "STRATEGIES",
    "Reject",
    "SynthProgress",
    "SynthRequest",
    "SynthResult",
    "finish_job",
    "synthesize",
]
