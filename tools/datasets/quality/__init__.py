"""Dataset quality: plain functions over rows, each returning `rows.OpResult`.

    dedupe.py     exact and near duplicates (MiniLM cosine or MinHash), first of each cluster kept
    length.py     token-length bounds in the base model's tokenizer
    grounding.py  how much of each response its source chunks support (meta.scores.grounding)
    pii.py        emails, phones, IBANs, card numbers: redact or drop
    judge.py      optional 1-5 rubric scores from a judge model (meta.scores.judge)
    split.py      train/eval split grouped by source document (meta.split)
    leakage.py    what eval shares with train: documents, exact and near duplicates
    pipeline.py   run_quality(rows, steps) with one StepReport per step
Helpers: text.py (normalisation), rowmeta.py (id/meta access), near.py and minhash.py (similarity).
"""

from tools.datasets.quality.dedupe import dedupe
from tools.datasets.quality.grounding import grounding, kb_chunk_lookup, lexical_support
from tools.datasets.quality.judge import judge, parse_score, weak_judge_warning
from tools.datasets.quality.leakage import LeakageReport, check_leakage
from tools.datasets.quality.length import length_filter, tokenizer_counter
from tools.datasets.quality.pii import find_pii, pii_filter
from tools.datasets.quality.pipeline import (
    DedupeStep,
    GroundingStep,
    JudgeStep,
    LeakageStep,
    LengthStep,
    PiiStep,
    QualityDeps,
    SplitStep,
    StepReport,
    run_quality,
    step_from_dict,
)
from tools.datasets.quality.split import split_rows

__all__ = [
    "DedupeStep",
    "GroundingStep",
    "JudgeStep",
    "LeakageReport",
    "LeakageStep",
    "LengthStep",
    "PiiStep",
    "QualityDeps",
    "SplitStep",
    "StepReport",
    "check_leakage",
    "dedupe",
    "find_pii",
    "grounding",
    "judge",
    "kb_chunk_lookup",
    "length_filter",
    "lexical_support",
    "parse_score",
    "pii_filter",
    "run_quality",
    "split_rows",
    "step_from_dict",
    "tokenizer_counter",
    "weak_judge_warning",
]
