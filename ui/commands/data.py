"""`tunesmith data ...`: datasets you can import, inspect, reshape and export, version by version.

Every command takes NAME (the latest version) or NAME@vN, and has --json. Commands that change
rows write a new version whose parent is the one they read; nothing is ever overwritten.
The reshaping commands live in data_ops.py and synthesis in data_synth.py; they register on `app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ui.console import out, print_json, quiet_libraries

app = typer.Typer(help="Datasets: import, synthesize, inspect, reshape, version, export.")

JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON.")
MODEL_HELP = "Model whose tokenizer counts tokens (default: the base model); 'words' counts words."


def store():
    from tools.datasets.store import DatasetStore

    return DatasetStore()


def token_counter(model: str | None):
    """The base model's token counter, or a word counter when asked or when it has no folder."""
    from core.models.registry import local_model_dir
    from core.settings import get_settings
    from tools.datasets.fields import count_words
    from tools.datasets.quality.length import tokenizer_counter

    if model == "words":
        return count_words, "words"
    ref = model or get_settings().base_model
    quiet_libraries()
    folder = local_model_dir(ref)
    if folder is None:
        return count_words, f"words ({ref} has no local tokenizer)"
    return tokenizer_counter(folder), f"{ref} tokens"


def print_version(info: Any, result: Any = None, json_out: bool = False) -> None:
    """Report a newly written version: lineage, rows in/kept/removed, reasons, notes."""
    if json_out:
        data = {"version": info.to_dict()}
        if result is not None:
            data["removed"] = [{"id": r.id, "reason": r.reason} for r in result.removed]
            data["notes"] = result.notes
        print_json(data)
        return
    parent = f"from v{info.parent}" if info.parent else "new"
    out.print(f"[green]{info.ref}[/] ({info.operation}, {parent}): {info.rows} rows")
    if result is not None and result.removed:
        reasons = ", ".join(f"{n} × {why}" for why, n in result.reasons().items())
        out.print(f"  removed {len(result.removed)}: {reasons}")


STEP_NOTE_KEYS = (
    "threshold",
    "method",
    "found",
    "train_rows",
    "eval_rows",
    "ok",
    "mean",
    "shared_documents",
    "eval_empty_reason",
    "unscored",
    "warning",
)


def print_steps(steps: list[dict]) -> None:
    """One line per quality step: rows in -> out and the notes a person needs (thresholds...)."""
    for step in steps:
        notes = ", ".join(f"{k}={v}" for k, v in step["notes"].items() if k in STEP_NOTE_KEYS)
        out.print(f"  {step['step']:<10} {step['rows_in']} -> {step['rows_out']}  [dim]{notes}[/]")


def _message_lines(row: dict) -> list[str]:
    from tools.datasets.rows import row_format

    fmt = row_format(row)
    if fmt == "messages":
        return [f"[bold]{m.get('role')}:[/] {m.get('content')}" for m in row["messages"]]
    if fmt == "completion":
        return [
            f"[bold]prompt:[/] {row.get('prompt')}",
            f"[bold]completion:[/] {row.get('completion')}",
        ]
    return [f"[bold]text:[/] {row.get('text')}"]


def print_rows(rows: list[dict], width: int = 400) -> None:
    from tools.datasets.rows import meta

    for row in rows:
        info = meta(row)
        tags = [f"split={info['split']}"] if info.get("split") else []
        if info.get("sources"):
            tags.append("sources=" + ",".join(info["sources"]))
        out.print(f"[cyan]{row.get('id')}[/] [dim]{' '.join(tags)}[/]")
        for line in _message_lines(row):
            out.print("  " + (line if len(line) <= width else line[:width] + "…"))


@app.command("import")
def import_(
    name: str = typer.Argument(help="Dataset name (a new version if it exists)."),
    path: Path = typer.Argument(help="A JSONL or CSV file, or a saved HF dataset folder."),
    map_: list[str] = typer.Option(
        [], "--map", help="Rename a column: --map question=prompt --map answer=completion."
    ),
    fmt: str | None = typer.Option(None, "--format", help="jsonl, csv or hf (default: guessed)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Import rows (messages, prompt/completion or text). A refused file changes nothing."""
    from tools.datasets.importing import import_dataset, parse_mapping

    info = import_dataset(name, path, mapping=parse_mapping(map_), fmt=fmt, store=store())
    print_version(info, json_out=json_out)


@app.command("versions")
def versions(
    name: str | None = typer.Argument(None, help="Dataset name; omit to list every dataset."),
    json_out: bool = JSON_OPTION,
) -> None:
    """List datasets, or one dataset's versions with their lineage."""
    s = store()
    names = [name] if name else s.names()
    listing = {n: [v.to_dict() for v in s.versions(n)] for n in names}
    if name and not listing[name]:
        from core.errors import NotFound

        raise NotFound(
            f"There is no dataset named {name!r}.", "`tunesmith data versions` lists them."
        )
    if json_out:
        print_json(listing)
        return
    if not names:
        out.print("No datasets yet. Make one: tunesmith data import NAME FILE, or data synth.")
    for n, rows in listing.items():
        out.print(f"[bold]{n}[/]")
        for v in rows:
            parent = f"<- v{v['parent']}" if v["parent"] else "      "
            params = ", ".join(f"{k}={v2}" for k, v2 in v["params"].items() if k != "mapping")
            out.print(
                f"  v{v['version']:<3} {parent:<7} {v['operation']:<8} {v['rows']:>6} rows  "
                f"[dim]{v['created_at']}  {params[:80]}[/]"
            )


@app.command("show")
def show(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    n: int = typer.Option(5, "-n", help="Rows per page."),
    page: int = typer.Option(1, "--page", help="Page number, from 1."),
    sample: bool = typer.Option(False, "--sample", help="A random sample instead of a page."),
    seed: int = typer.Option(0, "--seed", help="Seed for --sample."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show rows: a page in order, or a random sample."""
    from tools.datasets.operations import page_rows, sample_rows

    info, rows = store().read(ref)
    if sample:
        shown, header = sample_rows(rows, n=n, seed=seed), f"{n} random rows"
    else:
        paged = page_rows(rows, page=page, size=n)
        shown, header = paged.rows, f"page {paged.page} of {paged.pages}"
    if json_out:
        print_json({"ref": info.ref, "rows": shown})
        return
    out.print(f"[bold]{info.ref}[/]: {info.rows} rows, {header}\n")
    print_rows(shown)


@app.command("stats")
def stats(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP),
    png: Path | None = typer.Option(
        None, "--png", help="Where to save the token-length histogram (default: beside the data)."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Counts, token lengths, sources covered, duplicates, splits, scores, and a histogram PNG."""
    from tools.datasets.stats import dataset_stats

    info, rows = store().read(ref)
    count, unit = token_counter(model)
    target = png or info.path.with_name(f"v{info.version}.lengths.png")
    result = dataset_stats(
        rows,
        count_tokens=count,
        histogram=target,
        unit="words" if unit.startswith("words") else "tokens",
    )
    data = {"ref": info.ref, "unit": unit, **result.to_dict()}
    if json_out:
        print_json(data)
        return
    out.print(f"[bold]{info.ref}[/]: {result.rows} rows ({result.row_format}); lengths in {unit}")
    for label, s in (("prompt", result.prompt_tokens), ("response", result.response_tokens)):
        out.print(f"  {label:<9} min {s.min}  median {s.median}  p95 {s.p95}  max {s.max}")
    out.print(f"  splits: {result.splits}   exact duplicates: {result.exact_duplicates}")
    covered = ", ".join(f"{k} ({v})" for k, v in list(result.sources.items())[:10])
    out.print(
        f"  sources: {covered or 'none recorded'}; rows without source: "
        f"{result.rows_without_source}"
    )
    if result.scores:
        out.print(f"  scores: {result.scores}")
    out.print(f"  histogram: {result.histogram}")


@app.command("diff")
def diff(
    old: str = typer.Argument(help="NAME@vN (the older version)."),
    new: str = typer.Argument(help="NAME@vM (the newer version)."),
    limit: int = typer.Option(20, "--limit", help="At most this many changes listed."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Rows added, removed and changed between two versions (matched by row id)."""
    from tools.datasets.diffing import diff_versions

    result = diff_versions(store(), old, new)
    if json_out:
        print_json(result.to_dict())
        return
    out.print(result.summary())
    for row_id in result.added[:limit]:
        out.print(f"  [green]+[/] {row_id}")
    for row_id in result.removed[:limit]:
        out.print(f"  [red]-[/] {row_id}")
    for change in result.changed[:limit]:
        out.print(f"  [yellow]~[/] {change.id}")
        for field in change.changes:
            out.print(f"      {field.field}: {field.before!r} -> {field.after!r}")


@app.command("export")
def export(
    ref: str = typer.Argument(help="NAME or NAME@vN."),
    out_path: Path = typer.Option(..., "--out", "-o", help="File (or folder for hf) to write."),
    fmt: str | None = typer.Option(
        None, "--format", help="openai (chat JSONL), hf (dataset folder), csv, jsonl."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Export a version: OpenAI chat fine-tuning JSONL, an HF dataset folder, or CSV."""
    from tools.datasets.exporting import export_dataset

    report = export_dataset(store(), ref, out_path, fmt=fmt, overwrite=overwrite)
    if json_out:
        print_json(report.to_dict())
        return
    out.print(f"Wrote {report.rows} rows of {report.ref} as {report.fmt} to {report.path}")
