"""Evaluation: score model outputs against references, with intervals that show the noise.

    from tools.evaluation import score_examples, aggregate, bootstrap_ci, paired_difference
    rows = score_examples(preds, refs, encoder=get_embedder(), checks={"max_words": 60})
    means = aggregate(rows)
    delta, low, high, significant = paired_difference(base_scores, tuned_scores)

metrics.py holds per-example and corpus metrics (all text-overlap scores on a 0-1 scale);
intervals.py holds the percentile and paired bootstraps. The rest, one concern each: runner.py
(evaluate: generate, score, retrieval and prompt files), likelihood.py (eval loss, perplexity),
judge.py (1-5 rubric scores), prompts_file.py (--prompt files), store.py (evals/<id>/),
report.py / html.py / plots.py (report.md, self-contained report.html, its PNGs), compare.py
(paired deltas, save_comparison). Importing this package loads no model and no torch.
"""

from tools.evaluation.intervals import Interval, PairedDelta, bootstrap_ci, paired_difference
from tools.evaluation.metrics import (
    FORMAT_CHECKS,
    aggregate,
    bleu,
    chrf,
    corpus_bleu,
    corpus_chrf,
    embedding_similarity,
    exact_match,
    format_checks,
    length_ratio,
    normalize_answer,
    rouge_l,
    score_examples,
)

__all__ = [
    "FORMAT_CHECKS",
    "Interval",
    "PairedDelta",
    "aggregate",
    "bleu",
    "bootstrap_ci",
    "chrf",
    "corpus_bleu",
    "corpus_chrf",
    "embedding_similarity",
    "exact_match",
    "format_checks",
    "length_ratio",
    "normalize_answer",
    "paired_difference",
    "rouge_l",
    "score_examples",
]
