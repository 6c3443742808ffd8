"""The side-by-side matrix of a prompt-lab experiment, as Markdown and as one self-contained HTML.

Inputs are rows, models are columns, and each cell holds the output with what it cost (latency,
prompt -> output tokens) and how it scored (ROUGE-L against the reference, the format check,
the judge). The last row aggregates each model's column. The HTML file has no external asset
(inline CSS, no scripts), so it opens from a mail attachment or a Slack upload, and every piece
of model or user text in it is escaped: outputs are data, never markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from tools.evaluation.report import cell

MD_CELL_CHARS = 240


def cell_facts(row: dict[str, Any]) -> str:
    """'0.41 s · 23→12 tok · ROUGE-L 0.52 · format ok · judge 4' for one cell."""
    parts = [f"{row['latency_s']:.2f} s", f"{row['prompt_tokens']}→{row['output_tokens']} tok"]
    scores = row.get("scores", {})
    if "rouge_l" in scores:
        parts.append(f"ROUGE-L {scores['rouge_l']:.2f}")
    if "format_ok" in scores:
        parts.append("format ok" if scores["format_ok"] else "format FAIL")
    if row.get("judge") is not None:
        parts.append(f"judge {row['judge']:g}")
    return " · ".join(parts)


def model_facts(stats: dict[str, Any]) -> str:
    """One model's aggregate: mean latency and tokens, mean scores, failures."""

    def num(value: float | None, fmt: str) -> str:
        return "–" if value is None else format(value, fmt)

    parts = [
        f"{num(stats['mean_latency_s'], '.2f')} s",
        f"{num(stats['mean_prompt_tokens'], '.0f')}→{num(stats['mean_output_tokens'], '.0f')} tok",
    ]
    metrics = stats.get("metrics", {})
    if "rouge_l" in metrics:
        parts.append(f"ROUGE-L {metrics['rouge_l']:.3f}")
    if "format_ok" in metrics:
        parts.append(f"format {metrics['format_ok']:.0%}")
    if stats.get("judge") is not None:
        parts.append(f"judge {stats['judge']:.2f}")
    parts.append(f"{stats['failed']} failed")
    return " · ".join(parts)


def _grid(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> list[tuple[dict, list]]:
    """[(first row of an input, [its row for each model, in summary order])], in input order."""
    by_cell = {(r["input_id"], r["model"]): r for r in rows}
    order: list[str] = []
    for r in rows:
        if r["input_id"] not in order:
            order.append(r["input_id"])
    grid = []
    for input_id in order:
        cells = [by_cell.get((input_id, model)) for model in summary["models"]]
        first = next(c for c in cells if c is not None)
        grid.append((first, cells))
    return grid


def _title(summary: dict[str, Any]) -> str:
    template = summary["template"]
    return f"Prompt lab {summary['id']}: {template['name']} (v{template['version']})"


def _about(summary: dict[str, Any]) -> str:
    judge = summary.get("judge") or "none"
    return (
        f"Project {summary['project']} · {summary['inputs']} input(s), "
        f"{summary['with_reference']} with a reference · at most {summary['max_new_tokens']} "
        f"new tokens · judge: {judge}"
    )


def render_markdown(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    lines = [f"# {_title(summary)}", "", _about(summary), ""]
    lines += [f"> Warning: {w}" for w in summary.get("warnings", [])]
    lines += ["", "| input | " + " | ".join(cell(m) for m in summary["models"]) + " |"]
    lines.append("|---" * (len(summary["models"]) + 1) + "|")
    for first, cells in _grid(summary, rows):
        head = cell(first["input"])
        if first.get("reference") is not None:
            head += f"<br>*reference:* {cell(first['reference'])}"
        body = []
        for row in cells:
            if row is None:
                body.append("–")
                continue
            text = f"**failed:** {cell(row['error'])}" if row["error"] else cell(row["output"])
            body.append(f"{cell(text, MD_CELL_CHARS)}<br>*{cell_facts(row)}*")
        lines.append(f"| {head} | " + " | ".join(body) + " |")
    means = [model_facts(summary["per_model"][m]) for m in summary["models"]]
    lines.append("| **per model** | " + " | ".join(f"**{m}**" for m in means) + " |")
    return "\n".join(lines) + "\n"


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #ccc; padding: .5rem; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
pre { white-space: pre-wrap; word-wrap: break-word; margin: 0 0 .4rem; font: inherit; }
.facts { color: #666; font-size: 12px; }
.ref { color: #555; font-size: 12px; margin-top: .4rem; }
.error { color: #b00020; }
.warning { background: #fff4d6; padding: .5rem; border-left: 4px solid #e0a800; }
tfoot td { background: #f7f7f7; font-weight: 600; }
"""


def render_html(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(m)}</th>" for m in summary["models"])
    body = []
    for first, cells in _grid(summary, rows):
        ref = first.get("reference")
        parts = [f"<td><pre>{e(first['input'])}</pre>"]
        if ref is not None:
            parts.append(f'<div class="ref">reference: {e(ref)}</div>')
        parts.append("</td>")
        for row in cells:
            if row is None:
                parts.append("<td>–</td>")
                continue
            text = (
                f'<pre class="error">failed: {e(row["error"])}</pre>'
                if row["error"]
                else f"<pre>{e(row['output'])}</pre>"
            )
            parts.append(f'<td>{text}<div class="facts">{e(cell_facts(row))}</div></td>')
        body.append("<tr>" + "".join(parts) + "</tr>")
    foot = "".join(f"<td>{e(model_facts(summary['per_model'][m]))}</td>" for m in summary["models"])
    warnings = "".join(f'<p class="warning">{e(w)}</p>' for w in summary.get("warnings", []))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(_title(summary))}</title><style>{STYLE}</style></head><body>"
        f"<h1>{e(_title(summary))}</h1><p>{e(_about(summary))}</p>{warnings}"
        f"<table><thead><tr><th>input</th>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"<tfoot><tr><td>per model</td>{foot}</tr></tfoot></table></body></html>\n"
    )
