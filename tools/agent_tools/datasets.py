"""synthesize_dataset, import_dataset, show_dataset, edit_dataset: training data by versions.

Every change writes a new immutable version (tools.datasets.store) and moves the position's
dataset to it, so "undo" is a revert and the lineage says who did what. Synthesis is the same
call as `tunesmith data synth` (tools.synth.commit: synthesize, quality pipeline, commit).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from core.errors import InvalidInput
from tools.agent_tools.common import (
    RowCount,
    base_model_of,
    check_refs,
    checked_approval,
    emitter,
    pick,
    project_of,
    quote,
    readable_path,
    workspace,
)
from tools.registry import ToolContext, ToolResult, ToolSpec

SYNTH_APPROVAL_ROWS = 20
"""Synthesis of more rows than this runs a model for minutes: it waits for the person's yes."""

DATASET_EXAMPLE = "coffee@v2"


def _store(ctx: ToolContext):
    from tools.datasets.store import DatasetStore

    return DatasetStore(workspace(ctx))


def _dataset(given: str | None, ctx: ToolContext) -> str:
    return pick("dataset", given, ctx, "Which dataset?", DATASET_EXAMPLE)


def _removed_text(result) -> str:
    reasons = result.reasons() if result is not None else {}
    return (
        (", removed " + ", ".join(f"{n} × {why}" for why, n in reasons.items())) if reasons else ""
    )


# -- synthesize ----------------------------------------------------------------------------------


class SynthesizeArgs(BaseModel):
    kb: str | None = Field(
        None, description="Knowledge base that grounds the rows (default: current)."
    )
    dataset: str | None = Field(
        None, description="Name of the dataset to create or extend (default: '<kb>-train')."
    )
    n: RowCount | None = Field(
        None, description="Rows to make, 1 to 500 (default: one per golden output, else 50)."
    )
    strategy: Literal["golden", "grounded", "augment"] | None = Field(
        None,
        description="golden: inputs for the person's golden outputs; grounded: question/answer "
        "pairs from the documents; augment: variations of an existing dataset. Default: golden "
        "when a golden file is given, else grounded.",
    )
    golden: str | None = Field(None, description="Path of golden outputs (JSONL with 'text').")
    model: str | None = Field(None, description="Model ref that writes the rows (default: base).")
    max_new_tokens: int = Field(256, ge=16, le=2048, description="Longest answer, in tokens.")


def _synth_plan(args: SynthesizeArgs, ctx: ToolContext) -> dict:
    """The resolved request, checked before anything runs (and shown in the approval)."""
    from tools.synth.request import DEFAULT_N

    kb = pick("kb", args.kb, ctx, "Which knowledge base should ground the rows?", "kb:docs")
    strategy = args.strategy or ("golden" if args.golden else "grounded")
    golden = readable_path(args.golden, ctx, "golden file") if args.golden else None
    if strategy == "golden" and golden is None:
        raise InvalidInput(
            "The golden strategy needs a file of golden outputs.",
            "Upload it or name it, e.g. 'synthesize from golden.jsonl', or ask for grounded rows.",
        )
    seeds = _dataset(None, ctx) if strategy == "augment" else None
    model = base_model_of(args.model, ctx)
    n = args.n or (None if strategy == "golden" else DEFAULT_N)
    return {
        "kb": kb,
        "dataset": (args.dataset or "").removeprefix("ds:").split("@")[0] or f"{kb}-train",
        "strategy": strategy,
        "golden": golden,
        "seeds": seeds,
        "model": model,
        "n": n,
    }


@checked_approval
def synth_approval(args: SynthesizeArgs, ctx: ToolContext) -> str | None:
    if args.n is not None and args.n <= SYNTH_APPROVAL_ROWS:
        return None
    plan = _synth_plan(args, ctx)
    rows = plan["n"] or "one per golden output"
    return (
        f"Synthesize {rows} rows ({plan['strategy']}) from kb:{plan['kb']} with {plan['model']} "
        f"into dataset {plan['dataset']}: the model runs for every row, minutes on a CPU."
    )


def synthesize_tool(args: SynthesizeArgs, ctx: ToolContext) -> ToolResult:
    from tools.synth import SynthRequest
    from tools.synth.commit import synthesize_and_commit
    from tools.usecase import get_use_case

    plan = _synth_plan(args, ctx)
    ws = workspace(ctx)
    use_case = get_use_case(project_of(None, ctx), ws)
    request = SynthRequest(
        dataset=plan["dataset"],
        kb=plan["kb"],
        strategy=plan["strategy"],
        n=plan["n"],
        model=plan["model"],
        golden_path=plan["golden"],
        seeds=plan["seeds"],
        use_case=use_case.description,
        system_prompt=use_case.system_prompt,
        max_new_tokens=args.max_new_tokens,
    )
    done = synthesize_and_commit(
        request,
        ws=ws,
        progress=lambda p: ctx.emit("synthesizing", p.done, p.total, f"{p.kept} kept"),
    )
    info, result, s = done.info, done.result, done.result.summary
    steps_table = [
        {"step": r.step, "rows_in": r.rows_in, "rows_out": r.rows_out, "removed": len(r.removed)}
        for r in done.reports
    ]
    text = (
        f"Saved {info.ref}: {info.rows} rows ({s['kept']} of {s['target']} synthesized with "
        f"{s['model']}, then cleaned: "
        + ", ".join(f"{t['step']} {t['rows_in']}->{t['rows_out']}" for t in steps_table)
        + ")."
        + (f" Fewer than asked: {result.shortfall_reason}." if result.shortfall_reason else "")
        + " Next: look at a few rows, then train on it."
    )
    artifact = {"dataset": info.ref, "version": info.to_dict(), "table": steps_table}
    return ToolResult(text, artifact, {"dataset": info.ref})


# -- import ----------------------------------------------------------------------------------------


class ImportDatasetArgs(BaseModel):
    paths: list[str] = Field(
        min_length=1,
        max_length=1,
        description="The one file to import: JSONL or CSV (messages, prompt/completion or text).",
    )
    dataset: str | None = Field(None, description="Dataset name (default: from the file name).")


def _name_from_file(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._")[:60]
    return name or "imported"


def import_dataset_tool(args: ImportDatasetArgs, ctx: ToolContext) -> ToolResult:
    from tools.datasets.importing import import_dataset

    path = readable_path(args.paths[0], ctx, "dataset file")
    if not path.is_file():
        raise InvalidInput(f"{args.paths[0]} is a folder.", "Name one JSONL or CSV file.")
    name = (args.dataset or "").removeprefix("ds:").split("@")[0] or _name_from_file(path)
    info = import_dataset(name, path, store=_store(ctx))
    text = (
        f"Imported {path.name} as {info.ref}: {info.rows} rows "
        f"({info.summary.get('row_format', '?')} format). Next: show it, or train on it."
    )
    return ToolResult(text, {"dataset": info.ref, "version": info.to_dict()}, {"dataset": info.ref})


# -- show ------------------------------------------------------------------------------------------


class ShowDatasetArgs(BaseModel):
    dataset: str | None = Field(None, description="NAME or NAME@vN (default: the current one).")
    n: int = Field(3, ge=0, le=20, description="How many rows to show, 0 to 20.")


def _row_text(row: dict) -> tuple[str, str]:
    from tools.datasets.rows import prompt_and_response

    return prompt_and_response(row)


def show_dataset_tool(args: ShowDatasetArgs, ctx: ToolContext) -> ToolResult:
    from tools.datasets.stats import dataset_stats

    store = _store(ctx)
    info, rows = store.read(_dataset(args.dataset, ctx))
    png = info.path.with_name(f"v{info.version}.lengths.png")
    stats = dataset_stats(rows, histogram=png, unit="words")
    versions = [
        {"ref": v.ref, "parent": v.parent, "operation": v.operation, "rows": v.rows}
        for v in store.versions(info.dataset)
    ]
    shown = []
    for row in rows[: args.n]:
        prompt, response = _row_text(row)
        shown.append({"id": row.get("id"), "prompt": prompt, "response": response})
    lines = [
        f"- {r['id']}: prompt {quote(r['prompt'], 160)} -> response {quote(r['response'], 160)}"
        for r in shown
    ]
    lineage = " <- ".join(
        f"v{v['ref'].rsplit('@v', 1)[1]} {v['operation']}" for v in versions[::-1]
    )
    text = (
        f"{info.ref}: {stats.rows} rows ({stats.row_format}), splits {stats.splits}, "
        f"{stats.exact_duplicates} exact duplicates; prompt words median "
        f"{stats.prompt_tokens.median}, response words median {stats.response_tokens.median}. "
        f"Versions: {lineage}." + ("\nRows (quoted data):\n" + "\n".join(lines) if lines else "")
    )
    artifact = {
        "dataset": info.ref,
        "stats": stats.to_dict(),
        "versions": versions,
        "table": shown,
        "image": stats.histogram,
    }
    return ToolResult(text, artifact, {"dataset": info.ref})


# -- edit ------------------------------------------------------------------------------------------

Operation = Literal["filter", "delete", "rewrite", "dedupe", "split", "revert"]


class EditDatasetArgs(BaseModel):
    operation: Operation = Field(
        description="filter (keep rows where a condition holds), delete (rows by id or "
        "condition), rewrite (change answers with a model), dedupe (remove near duplicates), "
        "split (train/eval by document), revert (make NAME@vN the latest again)."
    )
    dataset: str | None = Field(None, description="NAME or NAME@vN (default: the current one).")
    where: str | None = Field(
        None,
        max_length=500,
        description="A row condition, e.g. 'tokens < 512 and contains(response, \"refund\")'.",
    )
    ids: list[str] | None = Field(None, max_length=500, description="Row ids, for delete.")
    instruction: str | None = Field(
        None, max_length=1000, description="What a rewrite should change, e.g. 'shorter answers'."
    )
    percent: int | None = Field(
        None, ge=1, le=99, description="For split: the share of rows for evaluation, 1 to 99."
    )
    model: str | None = Field(None, description="Model ref that rewrites (default: base model).")


@checked_approval
def edit_approval(args: EditDatasetArgs, ctx: ToolContext) -> str | None:
    if args.operation not in ("delete", "rewrite"):
        return None
    ref = _dataset(args.dataset, ctx)
    if args.operation == "delete":
        what = f"rows {', '.join(args.ids[:10])}" if args.ids else f"rows where {args.where}"
        return f"Delete {what} from {ref} (a new version; the old one stays and can be reverted)."
    model = base_model_of(args.model, ctx)
    scope = f" where {args.where}" if args.where else ""
    return f"Rewrite the answers of {ref}{scope} with {model}: {args.instruction!r}."


def _rewrite(rows, *, instruction, where, target, model, engine, progress):
    """apply_rewrite, taking `model` only so that the version records which model rewrote."""
    from tools.datasets.rewrite import apply_rewrite

    del model
    return apply_rewrite(rows, engine, instruction, where, target=target, progress=progress)


def _operation(args: EditDatasetArgs, ctx: ToolContext) -> tuple[dict, dict]:
    """The operation's recorded params and its unrecorded context (function, engine, progress)."""
    if args.operation == "filter":
        if not args.where:
            raise InvalidInput("filter needs a condition.", "e.g. where='len(response) < 400'.")
        return {"where": args.where}, {}
    if args.operation == "delete":
        if not (args.ids or args.where):
            raise InvalidInput("delete needs row ids or a condition.", "e.g. ids=['r003'].")
        return ({"where": args.where} if args.where else {"ids": list(args.ids)}), {}
    if args.operation == "dedupe":
        from tools.datasets.quality.dedupe import dedupe

        return {"method": "embedding", "threshold": None}, {"fn": dedupe}
    if args.operation == "split":
        from tools.datasets.quality.split import split_rows

        fraction = (args.percent or 10) / 100
        return {"eval_fraction": fraction, "seed": 0, "group_by": "auto"}, {"fn": split_rows}
    if not args.instruction:
        raise InvalidInput("rewrite needs an instruction.", "e.g. 'make the answers shorter'.")
    from core.models import load_engine

    engine = load_engine(check_refs([base_model_of(args.model, ctx)])[0])
    params = {"instruction": args.instruction, "where": args.where, "target": "response"}
    params["model"] = engine.ref
    context = {"fn": _rewrite, "engine": engine, "progress": emitter(ctx, "rewriting")}
    return params, context


def edit_dataset_tool(args: EditDatasetArgs, ctx: ToolContext) -> ToolResult:
    from tools.datasets.operations import apply_operation, revert_to

    store = _store(ctx)
    ref = _dataset(args.dataset, ctx)
    if args.operation == "revert":
        info = revert_to(store, ref)
        text = f"{info.ref} now has the rows of {ref} ({info.rows} rows); nothing was deleted."
        return ToolResult(
            text, {"dataset": info.ref, "version": info.to_dict()}, {"dataset": info.ref}
        )
    params, context = _operation(args, ctx)
    info, result = apply_operation(store, ref, args.operation, params, **context)
    removed = [{"id": r.id, "reason": r.reason} for r in result.removed]
    text = (
        f"{args.operation} made {info.ref} from v{info.parent}: {info.rows} rows"
        f"{_removed_text(result)}. Undo with 'revert to {info.dataset}@v{info.parent}'."
    )
    artifact = {"dataset": info.ref, "version": info.to_dict(), "table": removed[:100]}
    return ToolResult(text, artifact, {"dataset": info.ref})


SYNTHESIZE_DATASET = ToolSpec(
    name="synthesize_dataset",
    description=(
        "Build a training dataset from a knowledge base with a model: 'golden' writes the inputs "
        "that lead to the person's own golden outputs, 'grounded' writes question/answer pairs "
        "from the documents, 'augment' varies an existing dataset. The rows are then cleaned "
        "(PII redaction, deduplication, grounding scores, a train/eval split by document) and "
        f"saved as a new dataset version. Needs approval above {SYNTH_APPROVAL_ROWS} rows."
    ),
    args_schema=SynthesizeArgs,
    run=synthesize_tool,
    examples=(
        "make 20 training examples from my documents",
        "generate a dataset of question and answer pairs from the knowledge base",
        "create training data using my golden outputs",
        "synthesize 100 rows grounded in kb:docs",
        "build me a fine-tuning set from these docs",
        "write more examples like the ones in my dataset",
        "synthesize 25 examples from kb:manuals",
        "produce synthetic question answer examples with openai:gpt-4o-mini",
        "create training data from the indexed docs",
        "make a dataset out of the knowledge base, about 200 rows",
        "auto-write example conversations for fine-tuning",
        "use the docs to come up with practice questions and answers",
        "draft 30 more samples in the style of my golden examples",
        "write training pairs covering every document",
    ),
    needs_approval=synth_approval,
)

IMPORT_DATASET = ToolSpec(
    name="import_dataset",
    description=(
        "Import an existing JSONL or CSV file (chat messages, prompt/completion pairs or plain "
        "text) as a new dataset version. The file is validated first; a refused file changes "
        "nothing. Only files in the workspace, its uploads, or a folder the person named."
    ),
    args_schema=ImportDatasetArgs,
    run=import_dataset_tool,
    examples=(
        "import train.jsonl as a dataset",
        "use my CSV file of questions and answers as training data",
        "load the uploaded jsonl into a dataset called support",
        "I already have a dataset file, bring it in",
        "read examples.csv into a new dataset",
        "take this spreadsheet of prompts and completions",
        "turn these exported emails into a dataset",
        "import data/pairs.csv",
        "load my own prompt/completion file",
        "use this uploaded file as the dataset",
        "bring our existing Q&A spreadsheet in as training data",
        "register ./exports/tickets.jsonl as dataset tickets",
        "I have labelled examples in a file, add them as a dataset",
        "convert this CSV into a tunesmith dataset",
    ),
)

SHOW_DATASET = ToolSpec(
    name="show_dataset",
    description=(
        "Show a dataset version: row count, format, train/eval split, duplicates, prompt and "
        "response lengths (with a histogram image), the version lineage, and a few rows. Use it "
        "to inspect data before training or after an edit."
    ),
    args_schema=ShowDatasetArgs,
    run=show_dataset_tool,
    examples=(
        "show me the dataset",
        "what does the training data look like?",
        "how many rows are in coffee@v2?",
        "print a few examples from the data",
        "give me statistics on the current dataset",
        "list the versions of my dataset",
        "show 5 rows of support@v1",
        "peek at the data",
        "what's inside the dataset?",
        "how many examples do we have?",
        "display the first ten rows",
        "which dataset versions exist?",
        "let me look at the samples we generated",
        "summarise the dataset: size and average length",
    ),
)

EDIT_DATASET = ToolSpec(
    name="edit_dataset",
    description=(
        "Change a dataset by writing its next version: filter rows by a condition, delete rows "
        "by id or condition, rewrite answers with a model following an instruction, remove near "
        "duplicates, split train/eval by percent, or revert to an earlier version. Nothing is "
        "overwritten. Delete and rewrite need approval."
    ),
    args_schema=EditDatasetArgs,
    run=edit_dataset_tool,
    examples=(
        "remove the duplicates",
        "drop rows longer than 400 tokens",
        "delete row r003",
        "rewrite the answers to be shorter and friendlier",
        "hold out 20 percent for evaluation",
        "undo that, go back to version 1",
        "keep only rows that mention refunds",
        "filter out rows that are too long",
        "keep just the examples on returns",
        "throw away every row that is not about pricing",
        "narrow the data down to examples about warranty",
        "dedupe coffee@v2",
        "split off 10% as a test set",
        "remove the examples that mention prices",
        "revert the dataset to v1",
        "shorten every answer in the data",
        "clean up the training set: drop empty answers",
    ),
    needs_approval=edit_approval,
)

TOOLS = [SYNTHESIZE_DATASET, IMPORT_DATASET, SHOW_DATASET, EDIT_DATASET]
