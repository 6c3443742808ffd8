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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput
from core.models.engine import ChatRequest, Engine
from tools.datasets.rows import meta, row_format
from tools.evaluation.intervals import bootstrap_ci
from tools.evaluation.metrics import Encoder, score_examples

if TYPE_CHECKING:
    from tools.evaluation.prompts_file import PromptFile

#: Metrics whose per-example scores get a bootstrap interval in the summary.
INTERVAL_METRICS = (
    "rouge_l",
    "bleu",
    "chrf",
    "exact_match",
    "embedding_similarity",
    "length_ratio",
    "format_ok",
    "judge",
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


@dataclass(frozen=True)
class Retrieval:
    """The chunks retrieved for each example (same for every model, so RAG compares fairly)."""

    kb: str
    k: int
    hits: list[list[Any]]  # per example: tools.knowledge.kb.Hit, best first


def retrieve_for(examples: Sequence[EvalExample], kb: str, k: int, ws: Any) -> Retrieval:
    """Search `kb` once per example with its question (the last user turn, before any prompt)."""
    from tools.knowledge.context import retrieve

    if k < 1:
        raise InvalidInput(f"-k must be at least 1, got {k}.", "Use e.g. -k 3.")
    return Retrieval(
        kb, k, [retrieve(kb, ex.input, k, ws=ws) if ex.input.strip() else [] for ex in examples]
    )


def prompt_messages(
    example: EvalExample, index: int, prompt: PromptFile | None, retrieval: Retrieval | None
) -> list[dict]:
    """What the model is sent: the example's turns, under the prompt file, with the chunks."""
    from tools.knowledge.context import context_messages

    messages = prompt.apply(example.messages) if prompt else [dict(m) for m in example.messages]
    if retrieval is not None:
        messages = context_messages(messages, retrieval.hits[index])
    return messages


def _loss(engine: Engine, messages, examples, rows, batch_size) -> dict[str, Any]:
    """Eval loss fields of the summary; per-example NLL goes into the rows."""
    from tools.evaluation.likelihood import aggregate_loss, reference_nll, supports_likelihood

    if not supports_likelihood(engine):
        return {"loss": None, "loss_skipped": f"{engine.ref} is remote: no logits to score."}
    try:
        per_example = reference_nll(
            engine, messages, [ex.reference for ex in examples], batch_size=batch_size
        )
    except (RuntimeError, ValueError) as exc:  # e.g. out of memory: keep the generation scores
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return {"loss": None, "loss_skipped": f"scoring the references failed: {reason}"}
    for row, scored in zip(rows, per_example, strict=True):
        row["nll"], row["ref_tokens"] = scored["nll"], scored["tokens"]
        row["scores"]["mean_nll"] = scored["mean_nll"]
    return {"loss": aggregate_loss(per_example), "loss_skipped": None}


def _judge(judge_engine: Engine, rows, batch_size) -> dict[str, Any]:
    from tools.evaluation.judge import judge_answers, normalised

    judged = judge_answers(
        judge_engine,
        [r["input"] for r in rows],
        [r["reference"] for r in rows],
        [r["output"] for r in rows],
        batch_size=batch_size,
    )
    for row, score in zip(rows, judged.scores, strict=True):
        row["judge_score"] = score
        if score is not None:
            row["scores"]["judge"] = normalised(score)
    return judged.record()


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
    prompt: PromptFile | None = None,
    retrieval: Retrieval | None = None,
    checks: dict[str, Any] | None = None,
    judge_engine: Engine | None = None,
    loss: bool = True,
) -> EvalResult:
    """Generate an answer for every example through `engine`, score it, and summarise.

    `encoder` adds embedding similarity (pass core.embeddings.get_embedder(), or a fake in
    tests); without one that metric is left out rather than guessed. `prompt` and `retrieval`
    change what the model is sent (recorded per row in `messages` and `retrieved`), `checks` are
    format checks (metrics.FORMAT_CHECKS), `judge_engine` grades every answer, and `loss` scores
    the references' likelihood when the engine is local.
    """
    if max_new_tokens < 1:
        raise InvalidInput(
            f"--max-new-tokens must be at least 1, got {max_new_tokens}.", "Use e.g. 256."
        )
    messages = [prompt_messages(ex, i, prompt, retrieval) for i, ex in enumerate(examples)]
    requests = [ChatRequest(m, max_new_tokens=max_new_tokens) for m in messages]
    generations = engine.generate(requests, batch_size=batch_size, progress=progress)
    texts = [g.text if g.error is None else "" for g in generations]
    scores = score_examples(
        texts, [ex.reference for ex in examples], encoder=encoder, checks=checks or None
    )
    rows = [
        {
            "id": ex.id,
            "input": ex.input,
            "messages": sent,
            "reference": ex.reference,
            "output": text,
            "scores": score,
            "prompt_tokens": gen.prompt_tokens,
            "output_tokens": gen.output_tokens,
            "latency_s": gen.latency_s,
            "error": gen.error,
            "retrieved": [h.chunk.id for h in retrieval.hits[i]] if retrieval else None,
        }
        for i, (ex, sent, gen, text, score) in enumerate(
            zip(examples, messages, generations, texts, scores, strict=True)
        )
    ]
    extra: dict[str, Any] = {"loss": None, "loss_skipped": "not requested"}
    if loss:
        extra = _loss(engine, messages, examples, rows, batch_size)
    if judge_engine is not None:
        extra["judge"] = _judge(judge_engine, rows, batch_size)
    result = EvalResult(engine.ref, dataset, split, rows)
    result.summary = {
        "model": engine.ref,
        "dataset": dataset,
        "split": split,
        "max_new_tokens": max_new_tokens,
        "embedding_similarity": encoder is not None,
        "prompt": prompt.record() if prompt else None,
        "kb": retrieval.kb if retrieval else None,
        "k": retrieval.k if retrieval else None,
        "format_checks": dict(checks or {}),
        "judge": None,
        **extra,
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
    kb: str | None = None,
    k: int = 3,
    prompts: None | str | Path | Mapping[str, str | Path] = None,
    judge: str | None = None,
    project: str = "default",
    max_new_tokens: int = 256,
    batch_size: int | None = None,
    encoder: Encoder | None | bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    ws: Any = None,
) -> list[Any]:
    """Evaluate each model on the same examples of `data`'s split and save each as an eval.

    `kb` puts the top `k` chunks of that knowledge base in every prompt (retrieved once, the
    same for every model); `prompts` is a prompt file for all models or {model_ref: file} for
    some (prompts_file.py); `judge` is a model ref that grades every answer 1-5; the format
    checks come from `project`'s use case. `encoder=True` uses MiniLM when installed,
    False/None skips embedding similarity, and an object with `encode` is used as given.
    `progress(model_ref, done, total)` follows each model's generation.
    Returns the SavedEval of each model, in the order given.
    """
    from core.models.registry import load_engine
    from tools.datasets.store import DatasetStore
    from tools.evaluation.prompts_file import prompts_for_models
    from tools.evaluation.store import EvalStore
    from tools.usecase import get_use_case

    if not model_refs:
        raise InvalidInput("No model to evaluate.", "Name at least one MODEL_REF.")
    datasets = DatasetStore(ws)
    workspace = datasets.ws
    checks = get_use_case(project, workspace).format_checks()
    per_model = prompts_for_models(prompts, model_refs)  # bad files fail before any loading
    info, rows = datasets.read(data)
    examples = examples_for_split(rows, split, info.ref)
    retrieval = retrieve_for(examples, kb, k, workspace) if kb else None
    chosen = default_encoder() if encoder is True else (encoder or None)
    judge_engine = load_engine(judge) if judge else None
    store = EvalStore(workspace)
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
            prompt=per_model[ref],
            retrieval=retrieval,
            checks=checks,
            judge_engine=judge_engine,
        )
        result.summary["project"] = project
        saved.append(store.save(result))
        del engine
    return saved
