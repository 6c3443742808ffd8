"""`synthesize`: one call from a request to rows, rejects and an honest account of any shortfall.

It checks everything that can be checked before a model is loaded (names, knowledge base, input
files), finds or starts the job file, runs the loop under the job's lock (two processes on one job
would write the same rows twice), and reports. It does not commit a dataset version: the caller
runs the quality pipeline first, commits, then calls `finish_job`, so a crash anywhere before the
commit still leaves a resumable job.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

from core.errors import InvalidInput
from core.models.engine import Engine
from core.models.refs import parse_ref
from core.settings import Settings, get_settings
from core.workspace import Workspace
from tools.knowledge.kb import open_kb
from tools.knowledge.store import Snapshot
from tools.synth.journal import SUFFIX, Journal, job_key, job_path
from tools.synth.model import open_engine
from tools.synth.parsing import PLURALS
from tools.synth.request import (
    DEFAULT_N,
    ProgressCallback,
    Reject,
    SynthRequest,
    SynthResult,
)
from tools.synth.runner import Runner, RunOutcome
from tools.synth.strategy import Strategy

OVERSAMPLE = 2
"""At most this many items per requested row are tried, so a model that keeps failing stops."""
LOCK_TIMEOUT_S = 2.0


def synthesize(
    request: SynthRequest,
    *,
    ws: Workspace | None = None,
    settings: Settings | None = None,
    engine: Engine | None = None,
    progress: ProgressCallback | None = None,
) -> SynthResult:
    """Make up to `request.n` training rows; resume the same job if an earlier run was cut short.

    `engine` replaces the model named by `request.model` (tests pass a scripted one); otherwise the
    model is loaded only if there is something left to generate.
    """
    request.validate()
    settings = settings or get_settings()
    ws = ws or Workspace.from_settings(settings)
    snapshot = open_kb(request.kb, ws)
    if not snapshot.chunks:
        raise InvalidInput(
            f"The knowledge base {request.kb!r} has no chunks to ground rows in.",
            f"Add documents with `tunesmith kb add {request.kb} PATH...`, then run this again.",
        )
    model_ref = (
        engine.ref
        if engine is not None
        else parse_ref(request.model or settings.base_model).canonical
    )
    strategy, inputs_digest = _strategy(request, snapshot, ws, settings)
    n = request.n or (strategy.capacity() if request.strategy == "golden" else DEFAULT_N)
    budget = min(strategy.capacity(), OVERSAMPLE * n)
    identity = {
        "strategy": request.strategy,
        "kb": request.kb,
        "kb_generation": snapshot.generation,
        "inputs": inputs_digest,
        "model": model_ref,
        "n": n,
        "seed": request.seed,
        "prompt_version": strategy.prompt_version,
        "use_case": request.use_case,
        "system_prompt": request.system_prompt,
        "max_new_tokens": request.max_new_tokens,
        "temperature": request.temperature,
        "context_chunks": request.context_chunks,
    }
    key = job_key(identity)
    journal = Journal(job_path(ws, request.dataset, key), header=identity)
    loaded: list[Engine] = [engine] if engine is not None else []

    def get_engine() -> Engine:
        if not loaded:
            loaded.append(open_engine(model_ref, settings))
        return loaded[0]

    with ws.lock(f"synth-{key}", timeout=LOCK_TIMEOUT_S):
        outcome = Runner(
            strategy,
            get_engine,
            journal,
            model_ref=model_ref,
            n=n,
            budget=budget,
            batch_size=request.batch_size,
            retries=request.retries,
            settings=settings,
            progress=progress,
        ).run()
    return _result(request, strategy, identity, outcome, journal)


def _result(
    request: SynthRequest,
    strategy: Strategy,
    identity: dict[str, Any],
    outcome: RunOutcome,
    journal: Journal,
) -> SynthResult:
    """Rows and rejects in plan order, with the summary a dataset version records."""
    records = [outcome.records[k] for k in outcome.order if k in outcome.records]
    rows = [r["row"] for r in records if r["kept"]]
    rejects = [Reject(r["key"], r["reason"], r.get("detail", "")) for r in records if not r["kept"]]
    reasons = Counter(r.reason for r in rejects)
    n = identity["n"]
    summary = {
        **{k: identity[k] for k in ("strategy", "model", "prompt_version", "kb", "kb_generation")},
        "target": n,
        "kept": len(rows),
        "rejected": len(rejects),
        "reasons": dict(reasons.most_common()),
        "resumed": outcome.resumed,
        "generated": outcome.generated,
        "seconds": round(outcome.seconds, 2),
        "job_key": journal.path.name.removesuffix(SUFFIX),
    }
    return SynthResult(
        rows=rows,
        rejects=rejects,
        summary=summary,
        shortfall_reason=shortfall(n, strategy, outcome, reasons),
        job_path=journal.path,
        params={**request.to_params(), "n": n, "model": identity["model"]},
    )


def finish_job(result: SynthResult) -> None:
    """Forget a job once its rows are committed, so the same command later starts afresh."""
    Journal(result.job_path, header={}).remove()


def shortfall(n: int, strategy: Strategy, outcome: RunOutcome, reasons: Counter[str]) -> str | None:
    """Why fewer than `n` rows came out, in one line; None when the target was met."""
    if outcome.kept >= n:
        return None
    parts = []
    tried = len(outcome.order)
    if strategy.capacity() < n or tried >= strategy.capacity():
        parts.append(strategy.capacity_note())  # the sources are used up
    elif outcome.budget_reached:
        parts.append(f"stopped after trying {tried} items ({OVERSAMPLE}x the target)")
    if reasons:
        listed = ", ".join(f"{count} {PLURALS.get(r, r)}" for r, count in reasons.most_common())
        parts.append(f"{sum(reasons.values())} rejects: {listed}")
    return f"made {outcome.kept} of {n}: " + "; ".join(parts)


def _strategy(
    request: SynthRequest, snapshot: Snapshot, ws: Workspace, settings: Settings
) -> tuple[Strategy, str]:
    """The strategy object for the request, and the digest of its input file(s)."""
    if request.strategy == "golden":
        from tools.synth.golden import GoldenStrategy
        from tools.synth.golden_file import load_golden_file

        golden = load_golden_file(request.golden_path or "")
        search_kwargs: dict[str, Any] = {"ws": ws, "settings": settings}
        return GoldenStrategy(request, snapshot, golden.outputs, search_kwargs), golden.digest
    if request.strategy == "augment":
        from core.embeddings import get_embedder
        from tools.synth.augment import AugmentStrategy
        from tools.synth.seeds import load_seeds

        seeds = load_seeds(request.seeds or "", ws)
        # On CPU: a batch's worth of short texts does not need the GPU. Loaded on first use.
        embedder = partial(get_embedder, snapshot.embedding_model)
        return AugmentStrategy(request, snapshot, seeds.examples, embedder), seeds.digest
    from tools.synth.grounded import GroundedStrategy

    return GroundedStrategy(request, snapshot), ""
