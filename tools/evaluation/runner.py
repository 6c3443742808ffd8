"""Run one model over a dataset split and score every answer: the evidence behind "is it better?".

One eval = one model on one dataset split. Every example becomes a chat request (the turns before
the last assistant turn; a completion row becomes one user turn) whose reference is that last
assistant turn (or the completion). Generation goes through the engine in batches; a failed
request is kept as a row with its error and scored as an empty answer, so one bad request costs
one example, never the whole run, and the failure count is reported beside the scores.

Several models are evaluated on the *same* examples in the same order, which is what lets
`compare` pair them example by example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidInput
from core.models.engine import ChatRequest, Engine
from tools.datasets.rows import meta, row_format
from tools.evaluation.intervals import bootstrap_ci
from tools.evaluation.metrics import Encoder, score_examples

#: Metrics whose per-example scores get a bootstrap interval in the summary.
INTERVAL_METRICS = (
    "rouge_l",
    "bleu",
    "chrf",
    "exact_match",
    "embedding_similarity",
    "length_ratio",
    "format_ok",
)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EvalExample:
    """One held-out example: the conversation the model continues and the answer it should give."""

    id: str
    messages: list[dict]
    reference: str

    @property
    def input(self) -> str:
        """The last user turn, which is what a person reading the report wants to see."""
        users = [m.get("content", "") for m in self.messages if m.get("role") == "user"]
        return users[-1] if users else ""


@dataclass
class EvalResult:
    """Per-example rows and the summary of one model on one split (not yet saved)."""

    model: str
    dataset: str
    split: str
    rows: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)


def example_from_row(row: dict, index: int) -> EvalExample | None:
    """The chat request and reference of one dataset row; None for rows with nothing to score.

    Text rows have no input and messages rows without an assistant turn have no reference, so
    neither can be evaluated against a reference.
    """
    row_id = str(row.get("id", f"row{index + 1}"))
    fmt = row_format(row)
    if fmt == "completion":
        prompt = row.get("prompt", "")
        return EvalExample(row_id, [{"role": "user", "content": prompt}], row.get("completion", ""))
    if fmt != "messages":
        return None
    messages = row["messages"]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None or last == 0:
        return None
    context = [{"role": m.get("role"), "content": m.get("content", "")} for m in messages[:last]]
    return EvalExample(row_id, context, messages[last].get("content", ""))


def examples_for_split(rows: Sequence[dict], split: str, dataset: str) -> list[EvalExample]:
    """The examples of one split, in dataset order, or a clear error when there are none."""
    chosen = [(i, r) for i, r in enumerate(rows) if meta(r).get("split") == split]
    if not chosen:
        name = dataset.removeprefix("ds:").split("@")[0]
        raise InvalidInput(
            f"{dataset} has no rows in the {split!r} split ({len(rows)} rows in all).",
            f"Hold out an eval split first: run `tunesmith data split {name}`, then evaluate "
            "the new version.",
        )
    examples = [ex for i, r in chosen if (ex := example_from_row(r, i)) is not None]
    if not examples:
        raise InvalidInput(
            f"None of the {len(chosen)} {split!r} rows of {dataset} has a reference answer.",
            "Evaluation needs prompt/completion rows or messages that end with an assistant turn.",
        )
    return examples


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarize(rows: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Aggregates with 95% bootstrap intervals per metric, plus what the answers cost.

    Intervals cover every example, failed ones included (scored as empty answers): a model that
    fails half its requests should not look good on the half that came back.
    """
    metrics: dict[str, dict[str, float]] = {}
    for name in INTERVAL_METRICS:
        values = [r["scores"][name] for r in rows if name in r["scores"]]
        if values:
            mean, low, high = bootstrap_ci(values, seed=seed)
            metrics[name] = {"mean": mean, "low": low, "high": high, "n": len(values)}
    ok = [r for r in rows if r["error"] is None]
    return {
        "n": len(rows),
        "failed": len(rows) - len(ok),
        "metrics": metrics,
        "cost": {
            "mean_prompt_tokens": _mean([r["prompt_tokens"] for r in ok]),
            "mean_output_tokens": _mean([r["output_tokens"] for r in ok]),
            "mean_latency_s": _mean([r["latency_s"] for r in ok]),
            "total_latency_s": sum(r["latency_s"] for r in rows),
        },
    }


def run_eval(
    engine: Engine,
    examples: Sequence[EvalExample],
    *,
    dataset: str,
    split: str = "eval",
    max_new_tokens: int = 256,
    batch_size: int | None = None,
    encoder: Encoder | None = None,
    progress: Progress | None = None,
) -> EvalResult:
    """Generate an answer for every example through `engine`, score it, and summarise.

    `encoder` adds embedding similarity (pass core.embeddings.get_embedder(), or a fake in
    tests); without one that metric is left out rather than guessed.
    """
    if max_new_tokens < 1:
        raise InvalidInput(
            f"--max-new-tokens must be at least 1, got {max_new_tokens}.", "Use e.g. 256."
        )
    requests = [ChatRequest(list(ex.messages), max_new_tokens=max_new_tokens) for ex in examples]
    generations = engine.generate(requests, batch_size=batch_size, progress=progress)
    texts = [g.text if g.error is None else "" for g in generations]
    scores = score_examples(texts, [ex.reference for ex in examples], encoder=encoder)
    rows = [
        {
            "id": ex.id,
            "input": ex.input,
            "messages": ex.messages,
            "reference": ex.reference,
            "output": text,
            "scores": score,
            "prompt_tokens": gen.prompt_tokens,
            "output_tokens": gen.output_tokens,
            "latency_s": gen.latency_s,
            "error": gen.error,
        }
        for ex, gen, text, score in zip(examples, generations, texts, scores, strict=True)
    ]
    result = EvalResult(engine.ref, dataset, split, rows)
    result.summary = {
        "model": engine.ref,
        "dataset": dataset,
        "split": split,
        "max_new_tokens": max_new_tokens,
        "embedding_similarity": encoder is not None,
        **summarize(rows),
    }
    return result


def default_encoder() -> Encoder | None:
    """MiniLM when its package is installed; None (metric skipped) when it is not."""
    from core.embeddings import get_embedder
    from core.errors import ModelUnavailable

    try:
        return get_embedder()
    except (ModelUnavailable, ImportError):
        return None


def evaluate(
    model_refs: Sequence[str],
    data: str,
    *,
    split: str = "eval",
    max_new_tokens: int = 256,
    batch_size: int | None = None,
    encoder: Encoder | None | bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    ws: Any = None,
) -> list[Any]:
    """Evaluate each model on the same examples of `data`'s split and save each as an eval.

    `encoder=True` uses MiniLM when installed, False/None skips embedding similarity, and an
    object with `encode` is used as given. `progress(model_ref, done, total)` follows each model.
    Returns the SavedEval of each model, in the order given.
    """
    from core.models.registry import load_engine
    from tools.datasets.store import DatasetStore
    from tools.evaluation.store import EvalStore

    if not model_refs:
        raise InvalidInput("No model to evaluate.", "Name at least one MODEL_REF.")
    datasets = DatasetStore(ws)
    info, rows = datasets.read(data)
    examples = examples_for_split(rows, split, info.ref)
    chosen = default_encoder() if encoder is True else (encoder or None)
    store = EvalStore(datasets.ws)
    saved = []
    for ref in model_refs:
        engine = load_engine(ref)
        step = None if progress is None else (lambda d, t, r=ref: progress(r, d, t))
        result = run_eval(
            engine,
            examples,
            dataset=info.ref,
            split=split,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            encoder=chosen,
            progress=step,
        )
        saved.append(store.save(result))
        del engine
    return saved
