"""evaluate_model, compare_evaluations, suggest_next_run: evidence, then the next recipe from it.

The defaults follow the workflow: evaluate the base model and the current run on the current
dataset's held-out split, compare those two evaluations, then diagnose the run from its curves
and that comparison (tools.tuning, as `tunesmith advise` does).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.errors import InvalidInput
from tools.agent_tools.common import (
    MAX_K,
    MAX_MODELS,
    base_model_of,
    check_refs,
    checked_approval,
    from_position,
    pick,
    project_of,
    strip_prefix,
    workspace,
)
from tools.registry import ToolContext, ToolResult, ToolSpec

SHOWN_METRICS = ("rouge_l", "chrf", "embedding_similarity", "format_ok", "judge")


class EvaluateArgs(BaseModel):
    models: list[str] | None = Field(
        None,
        max_length=MAX_MODELS,
        description="Model refs to evaluate (default: the base model and the current run).",
    )
    dataset: str | None = Field(None, description="Dataset version NAME@vN (default: current).")
    split: str = Field("eval", pattern=r"^[a-z]+$", description="Which split: eval or train.")
    kb: str | None = Field(None, description="Put retrieved passages of this kb in the prompt.")
    k: int = Field(3, ge=1, le=MAX_K, description=f"Passages retrieved per question, 1-{MAX_K}.")
    judge: str | None = Field(None, description="Model ref that scores each answer 1-5.")
    max_new_tokens: int = Field(128, ge=1, le=1024, description="Longest answer, in tokens.")


def _default_models(ctx: ToolContext) -> list[str]:
    models = [base_model_of(None, ctx)]
    run = from_position(ctx, "run")
    if run:
        models.append(f"run:{run}")
    return models


def _default_dataset(given: str | None, ctx: ToolContext) -> str:
    if given or from_position(ctx, "dataset"):
        return pick("dataset", given, ctx, "Which dataset?", "coffee@v2")
    run = from_position(ctx, "run")
    if run:
        from trainers.jobs.registry import get_run

        return strip_prefix("dataset", get_run(workspace(ctx), run).dataset)
    raise InvalidInput(
        "Which dataset should I evaluate on? e.g. coffee@v2", "Say e.g. 'coffee@v2'."
    )


def _metric_line(summary: dict[str, Any]) -> str:
    metrics = summary.get("metrics", {})
    shown = [m for m in SHOWN_METRICS if m in metrics] or list(metrics)[:4]
    return ", ".join(f"{m} {metrics[m]['mean']:.3f}" for m in shown)


def evaluate_tool(args: EvaluateArgs, ctx: ToolContext) -> ToolResult:
    from tools.evaluation.runner import evaluate

    models = check_refs(args.models or _default_models(ctx))
    dataset = _default_dataset(args.dataset, ctx)
    kb = strip_prefix("kb", args.kb) if args.kb else None
    saved = evaluate(
        models,
        dataset,
        split=args.split,
        kb=kb,
        k=args.k,
        judge=check_refs([args.judge])[0] if args.judge else None,
        project=project_of(None, ctx),
        max_new_tokens=args.max_new_tokens,
        ws=workspace(ctx),
        progress=lambda ref, done, total: ctx.emit(f"evaluating {ref}", done, total, ""),
    )
    rows = [
        {
            "eval": f"eval:{s.id}",
            "model": s.summary.get("model"),
            "n": s.summary.get("n"),
            **{m: round(v["mean"], 4) for m, v in s.summary.get("metrics", {}).items()},
        }
        for s in saved
    ]
    lines = [f"eval:{s.id} {s.summary.get('model')}: {_metric_line(s.summary)}" for s in saved]
    ids = [f"eval:{s.id}" for s in saved]
    text = (
        f"Evaluated {len(saved)} model(s) on {dataset} ({args.split}, "
        f"{saved[0].summary.get('n', '?')} examples):\n" + "\n".join(lines)
    )
    text += "\nNext: compare them." if len(saved) > 1 else ""
    artifact = {
        "evals": ids,
        "table": rows,
        "html": str(saved[-1].html_path),
        "reports": [str(s.html_path) for s in saved],
    }
    return ToolResult(text, artifact, {"eval": ids[-1], "evals": ids})


# -- compare ---------------------------------------------------------------------------------------


class CompareEvaluationsArgs(BaseModel):
    eval_ids: list[str] | None = Field(
        None,
        min_length=2,
        max_length=MAX_MODELS,
        description="Evaluation ids, baseline first (default: the latest evaluations).",
    )


def compare_evaluations_tool(args: CompareEvaluationsArgs, ctx: ToolContext) -> ToolResult:
    from tools.evaluation.compare import save_comparison

    ids = args.eval_ids or (ctx.position or {}).get("evals") or []
    ids = [strip_prefix("eval", i) for i in ids]
    if len(ids) < 2:
        raise InvalidInput(
            "Which evaluations should I compare? I need two or more, e.g. eval:e-1 eval:e-2",
            "Evaluate the base model and the tuned one first ('evaluate the model').",
        )
    saved = save_comparison(ids, ws=workspace(ctx))
    result = saved.result
    rows, lines = [], []
    for cand in result["candidates"]:
        for metric, d in cand["deltas"].items():
            rows.append(
                {
                    "candidate": cand["model"],
                    "metric": metric,
                    "base": round(d["base"], 4),
                    "candidate_score": round(d["candidate"], 4),
                    "delta": round(d["delta"], 4),
                    "significant": d["significant"],
                }
            )
        better = [m for m, d in cand["deltas"].items() if d["significant"] and d["delta"] > 0]
        worse = [m for m, d in cand["deltas"].items() if d["significant"] and d["delta"] < 0]
        lines.append(
            f"{cand['model']} vs {result['base']['model']}: better beyond noise on "
            f"{', '.join(better) or 'nothing'}; worse on {', '.join(worse) or 'nothing'}."
        )
    text = "\n".join(lines) + f"\nReport: {saved.html_path}. Next: ask what to change next."
    artifact = {"comparison": saved.id, "table": rows, "html": str(saved.html_path)}
    artifact["md"] = str(saved.md_path)
    return ToolResult(text, artifact, {"evals": [f"eval:{i}" for i in ids]})


# -- advice ---------------------------------------------------------------------------------


class SuggestArgs(BaseModel):
    run_id: str | None = Field(None, description="The run to diagnose (default: current).")
    sweep: bool = Field(False, description="Launch a small sweep of the proposed changes.")
    max_runs: int = Field(4, ge=1, le=6, description="Runs in a sweep, 1 to 6.")


def _eval_pair(run_id: str, ctx: ToolContext) -> tuple[str | None, str | None]:
    """(tuned eval, base eval) among the position's evaluations: the tuned one evaluated run:ID."""
    from tools.evaluation.store import EvalStore

    ids = [strip_prefix("eval", i) for i in (ctx.position or {}).get("evals") or []]
    store = EvalStore(workspace(ctx))
    tuned = base = None
    for eval_id in ids:
        model = store.load(eval_id).summary.get("model", "")
        if model == f"run:{run_id}":
            tuned = eval_id
        else:
            base = base or eval_id
    return tuned, (base if tuned else None)


@checked_approval
def sweep_approval(args: SuggestArgs, ctx: ToolContext) -> str | None:
    if not args.sweep:
        return None
    run_id = pick("run", args.run_id, ctx, "Which run?", "r-20261127-101500-ab12")
    return f"Launch a sweep of up to {args.max_runs} training runs around run:{run_id}."


def suggest_next_run_tool(args: SuggestArgs, ctx: ToolContext) -> ToolResult:
    run_id = pick("run", args.run_id, ctx, "Which run should I diagnose?", "r-20261127-101500-ab12")
    if args.sweep:
        from tools.tuning.advice import eval_summary
        from tools.tuning.sweep import launch_sweep

        evidence = eval_summary(*_eval_pair(run_id, ctx), ws=workspace(ctx))
        sweep = launch_sweep(
            run_id, max_runs=args.max_runs, ws=workspace(ctx), eval_summary=evidence
        )
        runs = [f"run:{r}" for r in sweep.run_ids]
        text = (
            f"Sweep exp:{sweep.id} around run:{sweep.parent_run} queued {len(runs)} runs: "
            f"{', '.join(runs)}. They train one after another; ask for their status."
        )
        artifact = {"sweep": f"exp:{sweep.id}", "runs": runs, "table": sweep.grid}
        return ToolResult(text, artifact, {"experiment": f"exp:{sweep.id}"})
    return _advise(run_id, ctx)


def _advise(run_id: str, ctx: ToolContext) -> ToolResult:
    from dataclasses import asdict

    from tools.tuning.advice import advise_run

    tuned, base = _eval_pair(run_id, ctx)
    advice = advise_run(run_id, tuned, base, ws=workspace(ctx), with_cost=False)
    run, findings = advice.run, advice.findings
    table = [
        {**asdict(p), "recipe_file": path}
        for p, path in zip(advice.proposals, advice.recipe_files, strict=True)
    ]
    found = "; ".join(f"{f.kind} ({f.severity}): {f.evidence}" for f in findings[:4])
    if table:
        best = table[0]
        changes = ", ".join(f"{k}={v}" for k, v in best["changes"].items()) or best["hint"]
        next_step = (
            f"Proposal: {best['reason']} -> {changes}; expected: {best['expected_effect']}. "
            "Say 'train with those settings' or 'run a sweep' to try it."
        )
    else:
        next_step = "No change proposed: the run looks healthy on this evidence. Next: run tests."
    text = f"run:{run.id}: {found or 'no findings'}. {next_step}"
    artifact = {
        "run": f"run:{run.id}",
        "findings": [asdict(f) for f in findings],
        "proposals": table,
        "table": table,
    }
    return ToolResult(text, artifact, {"run": f"run:{run.id}"})


EVALUATE_MODEL = ToolSpec(
    name="evaluate_model",
    description=(
        "Score models on the held-out split of a dataset (ROUGE-L, chrF, BLEU, MiniLM "
        "similarity, the use case's format checks, optional judge, eval loss), with confidence "
        "intervals and an HTML report per model. By default it evaluates the base model and the "
        "current run on the current dataset, optionally with retrieval from a knowledge base."
    ),
    args_schema=EvaluateArgs,
    run=evaluate_tool,
    examples=(
        "evaluate the tuned model",
        "how good is the new model on held-out data?",
        "score base and fine-tuned side by side",
        "measure the accuracy of run r-20261127-101500-ab12",
        "test quality on the eval split with retrieval from kb docs",
        "benchmark the model against the baseline",
        "evaluate r-20261127-101500-ab12",
        "how well does the tuned model score?",
        "run an eval on ds:faq@v3",
        "measure the fine-tuned model's quality",
        "compute BLEU and the pass rate for the new model",
        "assess the trained model on held-out questions",
        "score the fine-tune against the base model on the test split",
        "get numbers for how good the model is now",
    ),
)

COMPARE_EVALUATIONS = ToolSpec(
    name="compare_evaluations",
    description=(
        "Compare two or more saved evaluations run on the same examples: per-metric deltas "
        "against the first with paired bootstrap intervals (which differences are larger than "
        "the noise), the examples that improved and worsened most, and an HTML report."
    ),
    args_schema=CompareEvaluationsArgs,
    run=compare_evaluations_tool,
    examples=(
        "compare the two evaluations",
        "did fine-tuning actually help?",
        "which one is better, base or tuned?",
        "show the difference between eval e-1 and eval e-2",
        "is the improvement significant or just noise?",
        "put the results next to each other",
        "compare eval:e-1 with eval:e-2",
        "show both evaluation results side by side",
        "diff the scores of the two evals",
        "was the tuned model better than the base?",
        "did the new run beat the last one?",
        "contrast the base and fine-tuned evaluation numbers",
        "which evaluation came out ahead?",
        "how much did the eval scores go up?",
    ),
)

SUGGEST_NEXT_RUN = ToolSpec(
    name="suggest_next_run",
    description=(
        "Diagnose a run from its loss curves and evaluations (overfitting, underfitting, learning "
        "rate too low, instability, answers too long or short, format failures, no gain over the "
        "base) and propose the next recipe change with its reason and expected effect. With "
        "sweep=true it launches a small grid of runs around the proposal (needs approval)."
    ),
    args_schema=SuggestArgs,
    run=suggest_next_run_tool,
    examples=(
        "what should I change for the next run?",
        "suggest better hyperparameters",
        "why is the model overfitting and how do I fix it?",
        "advise me on the learning rate",
        "run a sweep around the best settings",
        "how can I improve the results?",
        "is my learning rate too high?",
        "recommend settings for the next training",
        "what would make the next fine-tune better?",
        "the model underfits, what now for hyperparameters?",
        "should I train for more epochs?",
        "tune the hyperparameters for me",
        "propose a better config for run 2",
        "try a few learning rates and keep the best",
    ),
    needs_approval=sweep_approval,
)

TOOLS = [EVALUATE_MODEL, COMPARE_EVALUATIONS, SUGGEST_NEXT_RUN]
