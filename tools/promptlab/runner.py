"""Run one prompt template over several models and inputs, score every cell, save the matrix.

Every input is rendered before any model loads, so a template that does not fit the inputs fails
in a second, not after the first model's generations. Models then run one at a time (each is
loaded, asked every input in one batched `generate`, and released), because two local models in
memory at once is what runs a laptop out of RAM. A model that cannot be loaded, or a request that
fails, is kept as an error in its cells: the rest of the matrix still says which model to pick.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, TunesmithError
from core.models.engine import ChatRequest, Generation
from core.names import validate_name
from core.workspace import utc_now
from tools.promptlab.inputs import LabInput, load_inputs
from tools.promptlab.store import PROMPT, ExperimentStore, SavedExperiment, new_experiment_id
from tools.promptlab.template import PromptTemplate, load_template

MAX_MODELS = 8
MAX_NEW_TOKENS = 4096
SCORED = ("rouge_l", "bleu", "chrf", "exact_match", "embedding_similarity", "length_ratio")
"""Reference metrics averaged per model (the ones evaluation reports), plus format_ok."""

Progress = Callable[[str, int, int], None]
"""`progress(stage, done, total)`: the stage is the model ref being generated (or 'judge')."""


def model_list(model_refs: str | Sequence[str]) -> list[str]:
    """Canonical refs from 'A,B' or a list, duplicates dropped, each checked by parse_ref."""
    from core.models.refs import parse_ref

    items = model_refs.split(",") if isinstance(model_refs, str) else list(model_refs)
    refs: list[str] = []
    for item in items:
        if str(item).strip():
            ref = parse_ref(str(item).strip()).canonical
            if ref not in refs:
                refs.append(ref)
    if not refs:
        raise InvalidInput("No model to try.", "Name one or more, e.g. --models builtin:…,hf:DIR.")
    if len(refs) > MAX_MODELS:
        raise InvalidInput(
            f"{len(refs)} models in one experiment; at most {MAX_MODELS}.",
            "Split them into several experiments.",
        )
    return refs


def run_experiment(
    template: str | Path | dict | PromptTemplate,
    model_refs: str | Sequence[str],
    inputs: str | Path | Sequence[str | dict | LabInput],
    *,
    project: str = "default",
    judge: str | None = None,
    max_new_tokens: int = 128,
    ws: Any = None,
    progress: Progress | None = None,
    similarity: bool = False,
) -> SavedExperiment:
    """Generate every (input, model) cell, score it, and save the experiment; return it.

    `inputs` is anything `load_inputs` takes. Cells with a reference get evaluation's metrics;
    every cell gets the project's use-case format checks; `judge` (a model ref) adds a 1-5
    rubric score per cell. `similarity` adds MiniLM embedding similarity (loads MiniLM).
    """
    from tools.usecase import get_use_case

    template = load_template(template)
    refs = model_list(model_refs)
    if not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise InvalidInput(
            f"max_new_tokens must be 1-{MAX_NEW_TOKENS}, got {max_new_tokens}.", "Use e.g. 128."
        )
    store = ExperimentStore(ws)
    checks = get_use_case(validate_name(project, "project name"), store.ws).format_checks()
    items = load_inputs(inputs, store.ws, project=project)
    prompts = [template.messages(item.values(), f"input {item.id!r}") for item in items]
    warnings: list[str] = []
    rows: list[dict[str, Any]] = []
    for ref in refs:
        step = None if progress is None else (lambda d, t, r=ref: progress(r, d, t))
        gens = _generate(ref, prompts, max_new_tokens, step)
        rows += _score(ref, items, prompts, gens, checks, similarity)
    if judge:
        warnings += _judge(rows, judge, progress)
    summary = {
        "id": new_experiment_id(PROMPT),
        "created_at": utc_now(),
        "kind": PROMPT,
        "project": project,
        "template": {"name": template.name, "version": template.version},
        "models": refs,
        "inputs": len(items),
        "with_reference": sum(item.reference is not None for item in items),
        "judge": judge,
        "max_new_tokens": max_new_tokens,
        "format_checks": checks,
        "warnings": warnings,
        "per_model": {ref: per_model([r for r in rows if r["model"] == ref]) for ref in refs},
    }
    import yaml

    from tools.promptlab.matrix import render_html, render_markdown

    texts = {
        "template.yaml": yaml.safe_dump(template.to_dict(), sort_keys=False, allow_unicode=True),
        "matrix.md": render_markdown(summary, rows),
        "matrix.html": render_html(summary, rows),
    }
    return store.save(summary, project=project, models=refs, rows=rows, texts=texts)


def _generate(
    ref: str, prompts: list[list[dict]], max_new_tokens: int, progress: Any
) -> list[Generation]:
    """One model's answers to every prompt; a model that will not load fails each of its cells."""
    from core.models.registry import load_engine

    try:
        engine = load_engine(ref)
    except TunesmithError as error:
        failed = f"model not loaded: {error.message}"
        return [Generation("", 0, 0, 0.0, failed) for _ in prompts]
    requests = [ChatRequest(list(messages), max_new_tokens=max_new_tokens) for messages in prompts]
    try:
        return engine.generate(requests, progress=progress)
    finally:
        del engine
        gc.collect()


def _score(
    ref: str,
    items: list[LabInput],
    prompts: list[list[dict]],
    gens: list[Generation],
    checks: dict[str, Any],
    similarity: bool,
) -> list[dict[str, Any]]:
    from tools.evaluation.metrics import score_examples

    encoder = None
    if similarity:
        from tools.evaluation.runner import default_encoder

        encoder = default_encoder()
    texts = [g.text if g.ok else "" for g in gens]
    scores = score_examples(
        texts, [item.reference for item in items], encoder=encoder, checks=checks or None
    )
    return [
        {
            "input_id": item.id,
            "input": item.input,
            "reference": item.reference,
            "model": ref,
            "prompt": messages,
            "output": text,
            "error": gen.error,
            "prompt_tokens": gen.prompt_tokens,
            "output_tokens": gen.output_tokens,
            "latency_s": gen.latency_s,
            "scores": score,
            "judge": None,
        }
        for item, messages, gen, text, score in zip(
            items, prompts, gens, texts, scores, strict=True
        )
    ]


def _judge(rows: list[dict[str, Any]], judge_ref: str, progress: Progress | None) -> list[str]:
    """Judge scores into rows[i]['judge'] (1-5), through the dataset judge's rubric and parsing.

    Failed cells are not judged (an error is not a low-quality answer, it is no answer). The
    judge sees the whole rendered prompt, system part included, since that is what the answer
    was asked to follow (e.g. a word limit).
    """
    from core.models.refs import parse_ref
    from core.models.registry import load_engine
    from tools.datasets.quality.judge import judge, weak_judge_warning
    from tools.datasets.rows import meta

    warning = weak_judge_warning(parse_ref(judge_ref).canonical)
    answered = [i for i, r in enumerate(rows) if r["error"] is None and r["output"].strip()]
    if not answered:
        return [warning] if warning else []
    conversations = [
        {
            "id": str(i),
            "messages": [
                {"role": "user", "content": _prompt_text(rows[i]["prompt"])},
                {"role": "assistant", "content": rows[i]["output"]},
            ],
        }
        for i in answered
    ]
    engine = load_engine(judge_ref)
    step = None if progress is None else (lambda d, t: progress("judge", d, t))
    result = judge(conversations, engine, max_attempts=2, progress=step)
    del engine
    gc.collect()
    for scored in result.kept:
        score = meta(scored).get("scores", {}).get("judge")
        if score is not None:
            rows[int(scored["id"])]["judge"] = float(score)
    unscored = len(result.notes.get("unscored", []))
    notes = [f"the judge gave no score for {unscored} cell(s)"] if unscored else []
    return ([warning] if warning else []) + notes


def _prompt_text(messages: list[dict[str, str]]) -> str:
    return "\n\n".join(m["content"] for m in messages)


def per_model(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One model's column aggregate: failures, mean cost, mean of each metric, mean judge score."""

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    ok = [r for r in rows if r["error"] is None]
    metrics = {}
    for name in (*SCORED, "format_ok"):
        values = [r["scores"][name] for r in rows if name in r["scores"]]
        if values:
            metrics[name] = mean(values)
    judged = [r["judge"] for r in rows if r.get("judge") is not None]
    return {
        "n": len(rows),
        "failed": len(rows) - len(ok),
        "mean_latency_s": mean([r["latency_s"] for r in ok]),
        "mean_prompt_tokens": mean([r["prompt_tokens"] for r in ok]),
        "mean_output_tokens": mean([r["output_tokens"] for r in ok]),
        "metrics": metrics,
        "judge": mean(judged),
        "judged": len(judged),
    }
