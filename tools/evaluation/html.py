"""Self-contained HTML reports: one file that opens anywhere, offline, and can be mailed around.

Everything is inline: the CSS in a <style> block and every plot as a base64 PNG `data:` URI; there
is no script, no font and no URL to fetch. Every piece of text that came from data (inputs,
answers, model refs, file names) goes through `html.escape`, so an answer containing `<script>` is
shown, never run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from tools.evaluation.plots import data_uri
from tools.evaluation.report import best_and_worst, setup_lines

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
td.text { max-width: 28em; white-space: pre-wrap; word-break: break-word; }
.warn { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.5em 1em; }
.yes { color: #0a7d22; font-weight: bold; } .no { color: #777; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
"""

Image = tuple[str, bytes]  # (caption, png bytes)


def page(title: str, parts: Iterable[str]) -> str:
    """A whole HTML document around already-escaped `parts`."""
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], text_columns=()) -> str:
    """An HTML table; every cell escaped, columns in `text_columns` wrapped as long text.

    A cell given as `Raw(...)` is inserted as is (for markup built here, never from data).
    """
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    lines = [f"<table>\n<tr>{head}</tr>"]
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            css = ' class="text"' if i in text_columns else ""
            content = value.html if isinstance(value, Raw) else escape(str(value))
            cells.append(f"<td{css}>{content}</td>")
        lines.append(f"<tr>{''.join(cells)}</tr>")
    lines.append("</table>")
    return "\n".join(lines)


class Raw:
    """Markup made by this module (a yes/no badge), marked so `table` does not escape it."""

    def __init__(self, html: str) -> None:
        self.html = html


def figure(caption: str, png: bytes) -> str:
    return (
        f'<figure><img src="{data_uri(png)}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def figures(images: Sequence[Image]) -> list[str]:
    return [figure(caption, png) for caption, png in images]


def warning(text: str) -> str:
    return f'<p class="warn">{escape(text)}</p>'


def metric_rows(metrics: dict[str, dict[str, float]]) -> list[list[Any]]:
    return [
        [name, f"{s['mean']:.3f}", f"[{s['low']:.3f}, {s['high']:.3f}]", s["n"]]
        for name, s in metrics.items()
    ]


def _example_rows(rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            r["id"],
            f"{r['scores'].get('rouge_l', 0.0):.3f}",
            r["input"],
            r["reference"],
            f"(failed: {r['error']})" if r.get("error") else r["output"],
            f"{r['prompt_tokens']}/{r['output_tokens']}",
            f"{r['latency_s']:.3f}",
        ]
        for r in rows
    ]


def render_eval_html(
    summary: dict[str, Any], rows: Sequence[dict[str, Any]], images: Sequence[Image]
) -> str:
    """report.html of one evaluation: setup, scores, cost, plots, best and worst examples."""
    cost = summary["cost"]
    parts = [
        f"<p>model <code>{escape(summary['model'])}</code> on <code>"
        f"{escape(summary['dataset'])}</code>, split <code>{escape(summary['split'])}</code>, "
        f"{summary['n']} examples, {summary['failed']} failed.</p>"
    ]
    judge = summary.get("judge") or {}
    if judge.get("warning"):
        parts.append(warning(judge["warning"]))
    setup = setup_lines(summary)
    if setup:
        parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in setup) + "</ul>")
    parts += [
        "<h2>Scores</h2>",
        table(["metric", "mean", "95% interval", "n"], metric_rows(summary["metrics"])),
        "<h2>Cost</h2>",
        table(
            ["mean prompt tokens", "mean output tokens", "mean latency (s)", "failed"],
            [
                [
                    f"{cost['mean_prompt_tokens']:.1f}",
                    f"{cost['mean_output_tokens']:.1f}",
                    f"{cost['mean_latency_s']:.3f}",
                    f"{summary['failed']} of {summary['n']}",
                ]
            ],
        ),
        "<h2>Plots</h2>",
        *figures(images),
    ]
    best, worst = best_and_worst(rows)
    header = ["id", "ROUGE-L", "input", "reference", "output", "tokens in/out", "latency (s)"]
    parts += ["<h2>Best examples (ROUGE-L)</h2>", table(header, _example_rows(best), (2, 3, 4))]
    parts += ["<h2>Worst examples (ROUGE-L)</h2>", table(header, _example_rows(worst), (2, 3, 4))]
    return page(f"Evaluation {summary.get('id', '')}".strip(), parts)


def render_comparison_html(
    result: dict[str, Any], evals: Sequence[Any], images: Sequence[Image]
) -> str:
    """comparison.html: every eval's scores, deltas against the baseline, plots and movers."""
    base = result["base"]
    parts = [
        f"<p>{result['n']} examples of <code>{escape(result['dataset'])}</code>, split "
        f"<code>{escape(result['split'])}</code>. Baseline: <code>{escape(base['id'])}</code> "
        f"(<code>{escape(base['model'])}</code>). Deltas are candidate minus baseline with 95% "
        "paired bootstrap intervals; a difference is larger than the noise when its interval "
        "excludes 0.</p>",
        "<h2>Evaluations</h2>",
        table(
            ["eval", "model", "setup"],
            [[e.id, e.summary["model"], "; ".join(setup_lines(e.summary)) or "-"] for e in evals],
            (2,),
        ),
    ]
    for e in evals:
        judge = e.summary.get("judge") or {}
        if judge.get("warning"):
            parts.append(warning(f"{e.id}: {judge['warning']}"))
    parts += ["<h2>Plots</h2>", *figures(images)]
    for cand in result["candidates"]:
        parts += [
            f"<h2>{escape(cand['id'])} (<code>{escape(cand['model'])}</code>) against the "
            "baseline</h2>",
            table(
                ["metric", "baseline", "candidate", "delta", "95% interval", "larger than noise"],
                [
                    [
                        name,
                        f"{d['base']:.3f}",
                        f"{d['candidate']:.3f}",
                        f"{d['delta']:+.3f}",
                        f"[{d['low']:+.3f}, {d['high']:+.3f}]",
                        Raw(
                            '<span class="yes">yes</span>'
                            if d["significant"]
                            else '<span class="no">no</span>'
                        ),
                    ]
                    for name, d in cand["deltas"].items()
                ],
            ),
        ]
        for title, moves in (
            ("Improved most", cand["improved"]),
            ("Worsened most", cand["worsened"]),
        ):
            parts.append(f"<h3>{title} (ROUGE-L)</h3>")
            if not moves:
                parts.append("<p>(none)</p>")
                continue
            parts.append(
                table(
                    ["id", "delta", "input", "reference", "baseline output", "candidate output"],
                    [
                        [
                            m["id"],
                            f"{m['delta']:+.3f}",
                            m["input"],
                            m["reference"],
                            m["base_output"],
                            m["candidate_output"],
                        ]
                        for m in moves
                    ],
                    (2, 3, 4, 5),
                )
            )
    return page(f"Comparison against {base['id']}", parts)
