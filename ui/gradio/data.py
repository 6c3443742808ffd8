"""Data tab: dataset versions with lineage, a paged row table, stats with the length histogram,
the diff between two versions and export buttons.

Everything reads the immutable versions through DatasetStore; the only files written are the
histogram and the exports, both under the workspace's `exports/<dataset>/` folder so they can
be served (only the workspace is).
"""

from __future__ import annotations

import json

import gradio as gr

from ui.gradio.common import fmt, md_table, shows_errors, workspace

PAGE_ROWS = 20
ROW_HEADERS = ["id", "split", "prompt", "response"]
EXPORTS = {"jsonl": ".jsonl", "openai": ".openai.jsonl", "csv": ".csv"}


def _store():
    from tools.datasets.store import DatasetStore

    return DatasetStore(workspace())


def _versions(name: str | None) -> list[str]:
    return [f"{name}@v{v.version}" for v in _store().versions(name)] if name else []


@shows_errors
def lineage(name: str | None) -> str:
    """Every version of a dataset with the operation that made it from its parent."""
    if not name:
        return "No dataset yet: `tunesmith data import` or `data synth`, or ask in the chat."
    rows = [
        [
            f"v{v.version}",
            f"v{v.parent}" if v.parent else "-",
            v.operation,
            json.dumps(v.params, ensure_ascii=False),
            v.rows,
            v.created_at,
        ]
        for v in _store().versions(name)
    ]
    return md_table(["version", "parent", "operation", "params", "rows", "created"], rows)


@shows_errors
def page(ref: str | None, page_no: float) -> tuple[list[list], str]:
    """One page of rows (20 a page) and a caption saying which."""
    if not ref:
        return [], ""
    from tools.datasets.rows import prompt_and_response

    _, rows = _store().read(ref)
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    number = min(max(1, int(page_no or 1)), pages)
    shown = rows[(number - 1) * PAGE_ROWS : number * PAGE_ROWS]
    table = [
        [row.get("id", ""), (row.get("meta") or {}).get("split", ""), *prompt_and_response(row)]
        for row in shown
    ]
    return table, f"page {number} of {pages} ({len(rows)} rows)"


@shows_errors
def stats(ref: str | None) -> tuple[str, str | None]:
    """Counts and word lengths of one version, and its length histogram PNG."""
    if not ref:
        return "", None
    from tools.datasets.stats import dataset_stats

    store = _store()
    info, rows = store.read(ref)
    png = store.ws.artifact_dir("exports", info.dataset) / f"v{info.version}-lengths.png"
    found = dataset_stats(rows, histogram=png, unit="words")
    lengths = [
        [part, s.min, fmt(s.median), s.p95, s.max]
        for part, s in (("prompt", found.prompt_tokens), ("response", found.response_tokens))
    ]
    lines = [
        f"**{info.ref}**: {found.rows} rows ({found.row_format}), splits "
        f"{found.splits}, exact duplicates {found.exact_duplicates}, "
        f"rows without a source {found.rows_without_source}",
        md_table(["words", "min", "median", "p95", "max"], lengths),
    ]
    if found.sources:
        lines.append(md_table(["source", "rows"], list(found.sources.items())[:10]))
    return "\n\n".join(lines), found.histogram


@shows_errors
def diff(old: str | None, new: str | None) -> str:
    """What changed between two versions: added, removed and changed rows, field by field."""
    if not old or not new:
        return "Pick two versions."
    from tools.datasets.diffing import diff_versions

    found = diff_versions(_store(), old, new)
    changes = [
        [change.id, c.field, c.before, c.after] for change in found.changed for c in change.changes
    ]
    parts = [f"**{found.summary()}**"]
    if found.added:
        parts.append("added: " + ", ".join(found.added[:50]))
    if found.removed:
        parts.append("removed: " + ", ".join(found.removed[:50]))
    parts.append(md_table(["row", "field", "before", "after"], changes[:100]))
    return "\n\n".join(p for p in parts if p)


@shows_errors
def export(ref: str | None, fmt_name: str) -> str | None:
    """Write the version in `fmt_name` under exports/<dataset>/ and offer it for download."""
    if not ref:
        raise gr.Error("Pick a dataset version first.")
    from tools.datasets.exporting import export_dataset

    store = _store()
    info = store.info(ref)
    folder = store.ws.artifact_dir("exports", info.dataset)
    path = folder / f"{info.dataset}-v{info.version}{EXPORTS[fmt_name]}"
    return export_dataset(store, info.ref, path, fmt=fmt_name, overwrite=True).path


def choose(name: str | None) -> tuple:
    """A dataset was picked: its lineage, versions (latest selected) and first page."""
    versions = _versions(name)
    latest = versions[-1] if versions else None
    rows, caption = page(latest, 1)
    older = versions[-2] if len(versions) > 1 else latest
    return (
        lineage(name),
        gr.update(choices=versions, value=latest),
        rows,
        caption,
        gr.update(choices=versions, value=older),
        gr.update(choices=versions, value=latest),
    )


def build() -> tuple:
    """Lay out the tab; return (refresh function, its outputs)."""
    with gr.Row():
        name = gr.Dropdown(label="Dataset", choices=[], scale=4)
        refresh_btn = gr.Button("Refresh", scale=1)
    lineage_md = gr.Markdown(elem_id="ds-lineage")
    with gr.Row():
        version = gr.Dropdown(label="Version", choices=[], scale=3)
        page_no = gr.Number(value=1, label="Page", precision=0, minimum=1, scale=1)
    caption = gr.Markdown(elem_id="ds-page")
    rows = gr.Dataframe(
        headers=ROW_HEADERS, label="Rows", interactive=False, wrap=True, elem_id="ds-rows"
    )
    with gr.Accordion("Stats and length histogram", open=False):
        stats_btn = gr.Button("Compute stats")
        stats_md = gr.Markdown(elem_id="ds-stats")
        histogram = gr.Image(
            label="Length histogram (words)", type="filepath", elem_id="length-histogram"
        )
    with gr.Accordion("Diff two versions", open=False):
        with gr.Row():
            old = gr.Dropdown(label="Old", choices=[])
            new = gr.Dropdown(label="New", choices=[])
        diff_btn = gr.Button("Diff")
        diff_md = gr.Markdown(elem_id="ds-diff")
    with gr.Row():
        fmt_name = gr.Radio(list(EXPORTS), value="jsonl", label="Export format")
        export_btn = gr.Button("Export")
    exported = gr.File(label="Exported file", elem_id="ds-export")

    outputs = [lineage_md, version, rows, caption, old, new]

    def refresh() -> tuple:
        names = _store().names()
        chosen = names[0] if names else None
        return (gr.update(choices=names, value=chosen), *choose(chosen))

    refresh_btn.click(refresh, outputs=[name, *outputs])
    name.input(choose, inputs=name, outputs=outputs)
    version.input(page, inputs=[version, page_no], outputs=[rows, caption])
    page_no.submit(page, inputs=[version, page_no], outputs=[rows, caption])
    stats_btn.click(stats, inputs=version, outputs=[stats_md, histogram])
    diff_btn.click(diff, inputs=[old, new], outputs=diff_md)
    export_btn.click(export, inputs=[version, fmt_name], outputs=exported)
    return refresh, [name, *outputs]
