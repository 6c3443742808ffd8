"""Evaluations tab: every eval with its metrics and 95% intervals, a comparison of several
(deltas with intervals, the most improved and worsened examples side by side), the eval's plots
and reports, and the prompt-lab matrices kept under experiments/.

Reports and images are offered only from inside the workspace (the server serves nothing else).
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from ui.gradio.common import md_table, shows_errors, workspace

EVAL_HEADERS = ["eval", "created", "model", "dataset", "split", "n", "metrics (95% interval)"]
REPORT_SUFFIXES = (".html", ".md")
MATRIX_SUFFIXES = (".md", ".html", ".csv", ".json")


def _interval(metric: dict) -> str:
    return f"{metric['mean']:.3f} [{metric['low']:.3f}, {metric['high']:.3f}]"


def evals_table() -> tuple[list[list], list[str]]:
    """Every evaluation, newest first, with its metric means and intervals."""
    ws = workspace()
    with ws.connect() as conn:
        found = conn.execute(
            "SELECT id, created_at, model, dataset, split, summary FROM evals "
            "ORDER BY created_at DESC, id DESC"
        ).fetchall()
    rows = []
    for row in found:
        summary = json.loads(row["summary"] or "{}")
        metrics = summary.get("metrics", {})
        shown = "; ".join(f"{name} {_interval(m)}" for name, m in metrics.items())
        rows.append(
            [
                row["id"],
                row["created_at"],
                row["model"],
                row["dataset"],
                row["split"],
                summary.get("n", ""),
                shown,
            ]
        )
    return rows, [row["id"] for row in found]


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[str]:
    return [str(p) for p in sorted(folder.glob("*")) if p.is_file() and p.suffix in suffixes]


def _gallery(evals: list, folder: Path) -> list[tuple]:
    """The plots the HTML report embeds (scores with intervals, lengths, loss), as images."""
    import io

    from PIL import Image

    from tools.evaluation.plots import eval_images

    return [
        (Image.open(io.BytesIO(png)), caption)
        for caption, png in eval_images(evals, workspace(), folder)
    ]


@shows_errors
def show_eval(eval_id: str | None) -> tuple[str, list[tuple], list[str] | None]:
    """One eval's metric table, its plots and its report files."""
    if not eval_id:
        return "No evaluation yet: ask the chat to evaluate, or `tunesmith eval`.", [], None
    from tools.evaluation.store import EvalStore

    saved = EvalStore(workspace()).load(eval_id)
    metrics = saved.summary.get("metrics", {})
    table = md_table(
        ["metric", "mean", "95% interval", "n"],
        [
            [name, f"{m['mean']:.4f}", f"[{m['low']:.4f}, {m['high']:.4f}]", m["n"]]
            for name, m in metrics.items()
        ],
    )
    head = (
        f"**{saved.id}**: `{saved.summary.get('model')}` on `{saved.summary.get('dataset')}` "
        f"(split {saved.summary.get('split')}), {saved.summary.get('n')} examples, "
        f"{saved.summary.get('failed', 0)} failed"
    )
    images = _gallery([saved], saved.path)
    return f"{head}\n\n{table}", images, _files(saved.path, REPORT_SUFFIXES) or None


@shows_errors
def compare_evals(eval_ids: list[str] | None) -> tuple[str, list[tuple], list[str] | None]:
    """Deltas of each later eval against the first with the movers side by side, its plots,
    and its Markdown and HTML reports (saved under evals/cmp-…/ like the CLI's)."""
    if not eval_ids or len(eval_ids) < 2:
        return "Pick the baseline eval first, then one or more to compare with it.", [], None
    from tools.evaluation.compare import render_comparison, save_comparison
    from tools.evaluation.store import EvalStore

    saved = save_comparison(eval_ids, workspace())
    folder = saved.html_path.parent
    store = EvalStore(workspace())
    images = _gallery([store.load(i) for i in eval_ids], folder)
    return render_comparison(saved.result), images, _files(folder, REPORT_SUFFIXES) or None


def matrices() -> tuple[str, list[str] | None]:
    """The prompt-lab matrices (Markdown shown inline, other files offered for download)."""
    root = workspace().root / "experiments"
    folders = sorted((p for p in root.glob("*") if p.is_dir()), reverse=True)
    texts, files = [], []
    for folder in folders:
        for path in _files(folder, MATRIX_SUFFIXES + (".png",)):
            files.append(path)
            if path.endswith(".md"):
                body = Path(path).read_text(encoding="utf-8", errors="replace")
                texts.append(f"### {folder.name}\n\n{body}")
    if not folders:
        return "No prompt-lab experiment yet: ask the chat to try prompts on models.", None
    return "\n\n".join(texts) or "Experiments exist; their files are below.", files or None


def build() -> tuple:
    """Lay out the tab; return (refresh function, its outputs)."""
    table = gr.Dataframe(
        headers=EVAL_HEADERS, label="Evaluations", interactive=False, wrap=True, elem_id="evals"
    )
    with gr.Row():
        chosen = gr.Dropdown(label="Evaluation", choices=[], scale=4)
        refresh_btn = gr.Button("Refresh", scale=1)
    detail = gr.Markdown(elem_id="eval-detail")
    images = gr.Gallery(
        label="Plots", height=360, columns=2, object_fit="contain", elem_id="eval-plots"
    )
    reports = gr.File(label="Reports", file_count="multiple")
    with gr.Accordion("Compare evaluations", open=False):
        to_compare = gr.Dropdown(
            label="Baseline first, then candidates", multiselect=True, elem_id="eval-compare"
        )
        compare_btn = gr.Button("Compare")
        comparison = gr.Markdown(elem_id="eval-comparison")
        comparison_images = gr.Gallery(
            label="Comparison plots", height=360, columns=2, object_fit="contain"
        )
        comparison_reports = gr.File(
            label="Comparison reports", file_count="multiple", elem_id="eval-comparison-files"
        )
    with gr.Accordion("Prompt-lab matrices", open=False):
        matrix_md = gr.Markdown()
        matrix_files = gr.File(label="Experiment files", file_count="multiple")

    def refresh() -> tuple:
        rows, ids = evals_table()
        first = ids[0] if ids else None
        return (
            rows,
            gr.update(choices=ids, value=first),
            gr.update(choices=ids),
            *show_eval(first),
            *matrices(),
        )

    outputs = [table, chosen, to_compare, detail, images, reports, matrix_md, matrix_files]
    refresh_btn.click(refresh, outputs=outputs)
    chosen.input(show_eval, inputs=chosen, outputs=[detail, images, reports])
    compare_btn.click(
        compare_evals,
        inputs=to_compare,
        outputs=[comparison, comparison_images, comparison_reports],
    )
    return refresh, outputs
