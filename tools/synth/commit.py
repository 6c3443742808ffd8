"""Synthesize, clean and commit in one call: what `tunesmith data synth`, the agent and the demo do.

Synthesis alone gives raw rows; a dataset version is only worth training on after the quality
pipeline (PII, dedupe, grounding, a grouped split, a leakage check). Keeping the composition here
means every door commits the same lineage for the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.synth.request import SynthRequest, SynthResult


@dataclass
class SynthCommit:
    """The committed version and its rows, the raw synthesis result, each quality step's report."""

    info: Any  # tools.datasets.store.VersionInfo
    rows: list[dict]
    result: SynthResult
    reports: list[Any]
    removed: list[Any]


def quality_steps(
    kb: str,
    strategy: str,
    pii: str = "redact",
    dedupe: str = "embedding",
    min_grounding: float | None = None,
    eval_fraction: float = 0.1,
    seed: int = 0,
) -> list:
    """The default cleaning of synthesized rows, each step one line of the version's lineage.

    Golden rows keep the person's own output verbatim, so grounding only scores them; rows the
    model wrote are removed below `min_grounding` (default 0.3).
    """
    from tools.datasets.quality.pipeline import (
        DedupeStep,
        GroundingStep,
        LeakageStep,
        PiiStep,
        SplitStep,
    )

    threshold = (
        None
        if strategy == "golden" and min_grounding is None
        else (0.3 if min_grounding is None else min_grounding)
    )
    return [
        PiiStep(mode=pii),
        DedupeStep(method=dedupe),
        GroundingStep(kb=kb, threshold=threshold),
        SplitStep(eval_fraction=eval_fraction, seed=seed),
        LeakageStep(method=dedupe if dedupe != "exact" else None),
    ]


def synthesize_and_commit(
    request: SynthRequest,
    *,
    steps: list | None = None,
    ws: Any = None,
    engine: Any = None,
    progress: Any = None,
) -> SynthCommit:
    """Run `request`, clean the rows with `steps` (default: quality_steps), commit one version.

    Raises InvalidInput when no usable row came out (nothing is committed then). The resumable
    job file is removed only after the commit, so a crash before it loses no generated row.
    """
    from core.errors import InvalidInput
    from tools.datasets.quality.pipeline import run_quality
    from tools.datasets.store import DatasetStore
    from tools.synth.api import finish_job, synthesize

    result = synthesize(request, ws=ws, engine=engine, progress=progress)
    if not result.rows:
        raise InvalidInput(
            f"No usable rows came out: {result.shortfall_reason or result.summary['reasons']}",
            "Check the knowledge base and golden outputs, or use a stronger model (--model).",
        )
    steps = steps if steps is not None else quality_steps(request.kb, request.strategy)
    rows, reports = run_quality(result.rows, steps)
    store = DatasetStore(ws)
    existing = store.versions(request.dataset)
    info = store.commit(
        request.dataset,
        rows,
        operation="synth",
        parent=existing[-1].version if existing else None,
        params={**result.params, "quality": [r.params | {"step": r.step} for r in reports]},
        summary={
            "synthesis": result.summary,
            "shortfall": result.shortfall_reason,
            "quality": [r.to_dict() | {"removed": len(r.removed)} for r in reports],
        },
    )
    finish_job(result)
    removed = [removal for report in reports for removal in report.removed]
    return SynthCommit(info, rows, result, reports, removed)
