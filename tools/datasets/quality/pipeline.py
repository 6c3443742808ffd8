"""The quality pipeline: apply configured steps in order and report what each one did.

Synthesis and the CLI call `run_quality(rows, steps)`; every step is a small config dataclass
(plain data: it can come from YAML or CLI flags and is recorded as a version's parameters) whose
`run` calls the plain function of its module. What a step needs at run time but is not data (a
tokenizer already loaded, a chunk lookup, an embedder, a judge engine) is passed to `run_quality`
as `QualityDeps`; a step whose need is neither configured nor given fails with a message that says
which setting to add.

Each step yields a `StepReport`: rows in, rows out, every removal with its reason, removals counted
by kind (the part of a reason before its colon: "near duplicate", "PII", ...), the step's notes
(thresholds, counts) and its duration.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from core.errors import InvalidInput
from core.models.engine import Engine
from tools.datasets.quality.dedupe import dedupe
from tools.datasets.quality.grounding import DEFAULT_THRESHOLD, ChunkLookup, grounding
from tools.datasets.quality.judge import judge
from tools.datasets.quality.leakage import check_leakage
from tools.datasets.quality.length import TokenCounter, length_filter, tokenizer_counter
from tools.datasets.quality.near import Encoder, default_encoder
from tools.datasets.quality.pii import PII_KINDS, pii_filter
from tools.datasets.quality.split import split_rows
from tools.datasets.rows import OpResult, Removal


@dataclass
class QualityDeps:
    """Run-time helpers the steps may need; anything left None is built from the step's config."""

    count_tokens: TokenCounter | None = None
    chunk_lookup: ChunkLookup | None = None
    encoder: Encoder | None = None
    judge_engine: Engine | None = None


def _help(text: str, default: Any = None) -> Any:
    """A dataclass field whose help text serves the CLI, YAML docs and the agent alike."""
    return field(default=default, metadata={"help": text})


@dataclass
class DedupeStep:
    name: ClassVar[str] = "dedupe"
    method: str = _help(
        '"embedding" (MiniLM cosine), "minhash" (word shingles) or "exact".', "embedding"
    )
    threshold: float | None = _help("Similarity that makes a duplicate (0.95 cosine, 0.8 Jaccard).")

    def run(self, rows: list[dict], deps: QualityDeps) -> OpResult:
        return dedupe(rows, self.method, self.threshold, encoder=deps.encoder)


@dataclass
class LengthStep:
    name: ClassVar[str] = "length"
    tokenizer: str | None = _help("Folder of the base model whose tokenizer counts the tokens.")
    min_prompt: int | None = _help("Fewest prompt tokens a row may have.")
    max_prompt: int | None = _help("Most prompt tokens a row may have.")
    min_response: int | None = _help("Fewest response tokens a row may have.")
    max_response: int | None = _help("Most response tokens a row may have.")
    max_total: int | None = _help("Most prompt + response tokens (the training max length).")

    def run(self, rows: list[dict], deps: QualityDeps) -> OpResult:
        count = deps.count_tokens or (tokenizer_counter(self.tokenizer) if self.tokenizer else None)
        if count is None:
            raise InvalidInput(
                "The length step needs a tokenizer to count tokens.",
                "Set tokenizer to the base model's folder (the model you will train).",
            )
        bounds = {k: v for k, v in asdict(self).items() if k != "tokenizer"}
        return length_filter(rows, count, **bounds)


@dataclass
class GroundingStep:
    name: ClassVar[str] = "grounding"
    kb: str | None = _help("Knowledge base whose chunks the rows' chunk ids refer to.")
    threshold: float | None = _help(
        "Rows scoring below are removed; None only scores.", DEFAULT_THRESHOLD
    )
    semantic: bool = _help(
        "Blend in MiniLM sentence similarity (slower, kinder to paraphrase).", False
    )
    require_sources: bool = _help("Remove rows that have no source text to check.", False)

    def run(self, rows: list[dict], deps: QualityDeps) -> OpResult:
        lookup = deps.chunk_lookup
        if lookup is None and self.kb:
            from tools.datasets.quality.grounding import kb_chunk_lookup

            lookup = kb_chunk_lookup(self.kb)
        encoder = (deps.encoder or default_encoder()) if self.semantic else None
        return grounding(
            rows,
            chunk_lookup=lookup,
            threshold=self.threshold,
            encoder=encoder,
            require_sources=self.require_sources,
        )


@dataclass
class PiiStep:
    name: ClassVar[str] = "pii"
    mode: str = _help('"redact" (replace with [EMAIL], [PHONE], ...) or "drop" the row.', "redact")
    kinds: tuple[str, ...] = _help("Which kinds to look for.", PII_KINDS)

    def run(self, rows: list[dict], deps: QualityDeps) -> OpResult:
        return pii_filter(rows, self.mode, self.kinds)


@dataclass
class JudgeStep:
    name: ClassVar[str] = "judge"
    model: str = _help("Model ref of the judge.", "builtin:smollm2-135m-instruct")
    min_score: float | None = _help("Rows the judge scores below are removed; None only scores.")
    max_attempts: int = _help("Answers asked per row before giving up on parsing a score.", 3)

    def run(self, rows: list[dict], deps: QualityDeps) -> OpResult:
        engine = deps.judge_engine
        if engine is None:
            from core.models import load_engine

            engine = load_engine(self.model)
        return judge(rows, engine, max_attempts=self.max_attempts, min_score=self.min_score)


@dataclass
class SplitStep:
    name: ClassVar[str] = "split"
    eval_fraction: float = _help("Share of rows for eval, met by whole document groups.", 0.1)
    seed: int = _help("Seed of the group shuffle: the same seed gives the same split.", 0)
    group_by: str = _help(
        'Documents that join rows: "all", the "primary" one, "auto" (all, else primary).',
        "auto",
    )

    def run(self, rows: list[dict], deps: QualityDeps) -> OpResult:
        return split_rows(rows, self.eval_fraction, self.seed, self.group_by)


@dataclass
class LeakageStep:
    name: ClassVar[str] = "leakage"
    method: str | None = _help(
        'Near-duplicate measure: "embedding", "minhash" or None.', "embedding"
    )
    threshold: float | None = _help("Similarity that counts as a leak (defaults as dedupe).")

    def run(self, rows: list[dict], deps: QualityDeps) -> OpResult:
        report = check_leakage(rows, self.method, self.threshold, encoder=deps.encoder)
        return OpResult(rows, [], report.to_dict())


Step = DedupeStep | LengthStep | GroundingStep | PiiStep | JudgeStep | SplitStep | LeakageStep
STEP_TYPES: dict[str, type] = {
    cls.name: cls
    for cls in (DedupeStep, LengthStep, GroundingStep, PiiStep, JudgeStep, SplitStep, LeakageStep)
}


def step_from_dict(spec: dict[str, Any]) -> Step:
    """A step from plain data, e.g. {"step": "dedupe", "method": "minhash", "threshold": 0.8}."""
    spec = dict(spec)
    kind = spec.pop("step", None)
    if kind not in STEP_TYPES:
        raise InvalidInput(
            f"Unknown quality step {kind!r}.", f"Use one of: {', '.join(STEP_TYPES)}."
        )
    cls = STEP_TYPES[kind]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise InvalidInput(
            f"The {kind} step has no setting {', '.join(unknown)}.",
            f"Its settings are: {', '.join(sorted(known))}.",
        )
    return cls(**spec)


def reason_kind(reason: str) -> str:
    """The kind of a removal reason: the text before its first colon."""
    return reason.split(":", 1)[0].strip()


@dataclass
class StepReport:
    step: str
    params: dict[str, Any]
    rows_in: int
    rows_out: int
    removed: list[Removal]
    notes: dict[str, Any]
    seconds: float

    @property
    def removed_by_kind(self) -> dict[str, int]:
        return dict(Counter(reason_kind(r.reason) for r in self.removed))

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "params": self.params,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "removed": len(self.removed),
            "removed_by_kind": self.removed_by_kind,
            "removals": [asdict(r) for r in self.removed],
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }


def run_quality(
    rows: list[dict],
    steps: list[Step],
    deps: QualityDeps | None = None,
    *,
    on_step: Callable[[StepReport], None] | None = None,
) -> tuple[list[dict], list[StepReport]]:
    """Apply `steps` in order; return the final rows and one report per step.

    `on_step` is called with each report as soon as its step finishes (for progress output).
    """
    deps = deps or QualityDeps()
    reports: list[StepReport] = []
    for step in steps:
        started = time.perf_counter()
        result = step.run(rows, deps)
        report = StepReport(
            step=step.name,
            params=asdict(step),
            rows_in=len(rows),
            rows_out=len(result.kept),
            removed=list(result.removed),
            notes=result.notes,
            seconds=time.perf_counter() - started,
        )
        reports.append(report)
        if on_step:
            on_step(report)
        rows = result.kept
    return rows, reports
