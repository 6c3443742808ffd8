"""`tunesmith data filter|delete|edit|rewrite|dedupe|split|quality|merge|revert`.

Each reads NAME or NAME@vN and writes the next version with that one as its parent, then reports
rows in, rows kept and every removal's reason.
"""

from __future__ import annotations

import typer

from ui.commands.data import (
    JSON_OPTION,
    MODEL_HELP,
    app,
    print_steps,
    print_version,
    store,
    token_counter,
)
from ui.console import out, print_json, progress_bar, quiet_libraries


@app.command("filter")
def filter_(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    where: str = typer.Argument(
        help="Keep rows where this holds, e.g. 'tokens < 512 and contains(response, \"refund\")'."
    ),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP),
    json_out: bool = JSON_OPTION,
) -> None:
    """Keep the rows a readable condition selects.

    Fields: prompt, response (completion), text, any, id, source, split, tokens, len(FIELD),
    score.NAME. Tests: == != < <= > >=, contains(FIELD, "x"), regex(FIELD, "re"); and, or, not.
    """
    from tools.datasets.operations import apply_operation

    count, _ = token_counter(model) if "tokens" in where else (None, "")
    info, result = apply_operation(store(), ref, "filter", {"where": where}, count_tokens=count)
    print_version(info, result, json_out)


@app.command("delete")
def delete(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    ids: list[str] = typer.Argument(None, help="Row ids to delete (see `data show`)."),
    where: str | None = typer.Option(
        None, "--where", help="Delete the rows this condition selects."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Delete rows by id, or by a condition."""
    from tools.datasets.operations import apply_operation

    params = {"where": where} if where else {"ids": list(ids or [])}
    info, result = apply_operation(store(), ref, "delete", params)
    print_version(info, result, json_out)


@app.command("edit")
def edit(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    row_id: str = typer.Argument(help="The row's id."),
    field: str = typer.Argument(
        help="prompt, response, completion, text, messages.N.content (N from 1, -1 last), meta.KEY."
    ),
    value: str = typer.Argument(help="The new value."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Change one field of one row (the edited row is validated first)."""
    from tools.datasets.operations import apply_operation

    params = {"row_id": row_id, "field": field, "value": value}
    info, result = apply_operation(store(), ref, "edit", params)
    print_version(info, result, json_out)


@app.command("rewrite")
def rewrite(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    instruction: str = typer.Argument(help='What to change, e.g. "make the answers shorter".'),
    where: str | None = typer.Option(None, "--where", help="Only rows this condition selects."),
    target: str = typer.Option(
        "response", "--target", help="Which part to rewrite: response or prompt."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model ref that rewrites (default: base model)."
    ),
    apply: bool = typer.Option(
        False, "--apply", help="Rewrite every selected row and save a version."
    ),
    n: int = typer.Option(3, "-n", help="Rows in the preview."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Rewrite a subset with a model. Without --apply, previews a few rows and saves nothing."""
    from core.models import load_engine
    from core.settings import get_settings
    from tools.datasets.operations import apply_operation
    from tools.datasets.rewrite import preview_rewrite

    quiet_libraries()
    engine = load_engine(model or get_settings().base_model)
    if not apply:
        _, rows = store().read(ref)
        pairs = preview_rewrite(rows, engine, instruction, where, n=n, target=target)
        if json_out:
            print_json([p.to_dict() for p in pairs])
            return
        for pair in pairs:
            data = pair.to_dict()
            out.print(
                f"[cyan]{data.get('id')}[/]\n  [red]before:[/] {data.get('before')}\n"
                f"  [green]after:[/]  {data.get('after')}"
            )
        out.print("\nPreview only. Add --apply to rewrite every selected row as a new version.")
        return
    params = {"instruction": instruction, "where": where, "target": target, "model": engine.ref}
    with progress_bar(not json_out) as progress:
        info, result = apply_operation(
            store(),
            ref,
            "rewrite",
            params,
            fn=_rewrite_op,
            engine=engine,
            progress=lambda d, t: progress("rewriting", d, t),
        )
    print_version(info, result, json_out)


def _rewrite_op(rows, *, instruction, where, target, model, engine, progress):
    """apply_rewrite, taking `model` only so that the version records which model rewrote."""
    from tools.datasets.rewrite import apply_rewrite

    del model
    return apply_rewrite(rows, engine, instruction, where, target=target, progress=progress)


@app.command("dedupe")
def dedupe(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    method: str = typer.Option(
        "embedding", "--method", help="embedding (MiniLM cosine), minhash or exact."
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        help="Similarity that makes a duplicate (default 0.95 cosine, 0.8 Jaccard).",
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Remove exact and near duplicates; each removal names the row it duplicates."""
    from tools.datasets.operations import apply_operation
    from tools.datasets.quality.dedupe import dedupe as run_dedupe

    quiet_libraries()
    params = {"method": method, "threshold": threshold}
    info, result = apply_operation(store(), ref, "dedupe", params, fn=run_dedupe)
    print_version(info, result, json_out)
    if not json_out:
        out.print(f"  {result.notes}")


@app.command("split")
def split(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    eval_fraction: float = typer.Option(
        0.1, "--eval-fraction", help="Share of rows for evaluation."
    ),
    seed: int = typer.Option(0, "--seed", help="The same seed gives the same split."),
    group_by: str = typer.Option(
        "auto", "--group-by", help="all sources, the primary source, or auto (all, else primary)."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Split train/eval grouped by source document, then check for leakage."""
    from tools.datasets.operations import apply_operation
    from tools.datasets.quality.leakage import check_leakage
    from tools.datasets.quality.split import split_rows

    quiet_libraries()
    params = {"eval_fraction": eval_fraction, "seed": seed, "group_by": group_by}
    info, result = apply_operation(store(), ref, "split", params, fn=split_rows)
    leakage = check_leakage(result.kept)
    if json_out:
        print_json({"version": info.to_dict(), "notes": result.notes, "leakage": leakage.to_dict()})
        return
    print_version(info, result)
    out.print(
        f"  train {leakage.train_rows}, eval {leakage.eval_rows}, unsplit {leakage.unsplit_rows}; "
        f"{result.notes}"
    )
    verdict = (
        "no leakage"
        if leakage.ok
        else (
            f"[red]leakage[/]: {len(leakage.shared_documents)} shared documents, "
            f"{len(leakage.exact)} exact and {len(leakage.near)} near duplicates across sides"
        )
    )
    out.print(f"  leakage check: {verdict}")


@app.command("quality")
def quality(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    steps: list[str] = typer.Option(
        ...,
        "--step",
        help="step[:key=value,...] in order, e.g. --step pii:mode=drop --step length:max_total=512 "
        "--step grounding:kb=sample,threshold=0.3 --step judge:min_score=3. "
        "Steps: dedupe, length, grounding, pii, judge, split, leakage.",
    ),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP + " (length step)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run quality steps in order and save the result as one new version."""
    from tools.datasets.operations import apply_operation
    from tools.datasets.quality.pipeline import QualityDeps, run_quality

    parsed = [_parse_step(text) for text in steps]
    deps = QualityDeps()
    if any(s.name == "length" and not getattr(s, "tokenizer", None) for s in parsed):
        deps.count_tokens, _ = token_counter(model)
    quiet_libraries()

    def pipeline(rows, **_):
        from tools.datasets.rows import OpResult

        kept, reports = run_quality(rows, parsed, deps)
        removed = [r for report in reports for r in report.removed]
        return OpResult(
            kept, removed, {"steps": [r.to_dict() | {"removed": len(r.removed)} for r in reports]}
        )

    params = {"steps": steps}
    info, result = apply_operation(store(), ref, "quality", params, fn=pipeline)
    print_version(info, result, json_out)
    if not json_out:
        print_steps(result.notes["steps"])


def _parse_step(text: str):
    """`pii:mode=drop,kinds=email` -> a step dataclass (values parsed as YAML scalars)."""
    import yaml

    from core.errors import InvalidInput
    from tools.datasets.quality.pipeline import step_from_dict

    name, _, rest = text.partition(":")
    spec: dict = {"step": name.strip()}
    for pair in filter(None, rest.split(",")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(
                f"{pair!r} in --step {text!r} is not key=value.", "e.g. --step pii:mode=drop"
            )
        spec[key.strip()] = yaml.safe_load(value)
    return step_from_dict(spec)


@app.command("merge")
def merge(
    ref: str = typer.Argument(help="NAME or NAME@vN: the dataset that receives the rows."),
    other: str = typer.Argument(help="NAME@vN whose rows are added."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Add another version's rows as a new version (clashing ids are renamed)."""
    from tools.datasets.operations import merge_versions

    info, result = merge_versions(store(), ref, other)
    print_version(info, result, json_out)


@app.command("revert")
def revert(
    ref: str = typer.Argument(help="NAME@vN: the version to make current again."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Make an earlier version the latest again (as a new version; nothing is deleted)."""
    from tools.datasets.operations import revert_to

    info = revert_to(store(), ref)
    print_version(info, json_out=json_out)
