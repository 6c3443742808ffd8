"""Side by side: is a candidate's gain over the baseline larger than the noise?

Evals are compared example by example (paired bootstrap, see intervals.paired_difference), which
only means something when they ran on the same examples in the same order; that is checked by
the example ids, and a mismatch is refused with the fix rather than compared anyway.

`save_comparison` keeps the result under the workspace as `evals/cmp-<id>/` (comparison.md,
comparison.html with the plots, result.json), so a comparison can be sent around like an eval.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from tools.evaluation.intervals import paired_difference
from tools.evaluation.report import cell
from tools.evaluation.runner import INTERVAL_METRICS

MOVERS = 10


@dataclass
class SavedComparison:
    """A comparison saved under evals/cmp-<id>/: its Markdown and HTML reports and the data."""

    id: str
    md_path: Path
    html_path: Path
    result: dict[str, Any]


def _scores(rows: Sequence[dict[str, Any]], metric: str) -> list[float] | None:
    values = [r["scores"].get(metric) for r in rows]
    return None if any(v is None for v in values) else [float(v) for v in values]


def compare(evals: Sequence[Any]) -> dict[str, Any]:
    """Deltas of every later eval against the first, per metric, with the examples that moved.

    `evals` are SavedEval-like objects (id, summary, rows). A positive delta means the candidate
    scores higher; for length_ratio higher is not better, so read it as "longer".
    """
    if len(evals) < 2:
        raise InvalidInput(
            "compare needs at least two evaluations.", "Pass the baseline's id first, then others."
        )
    base = evals[0]
    base_ids = [r["id"] for r in base.rows]
    candidates = []
    for other in evals[1:]:
        if [r["id"] for r in other.rows] != base_ids:
            raise InvalidInput(
                f"{other.id} and {base.id} were not run on the same examples.",
                "Evaluate both models with the same --data NAME@vN and --split, then compare.",
            )
        deltas = {}
        for metric in INTERVAL_METRICS:
            a, b = _scores(base.rows, metric), _scores(other.rows, metric)
            if a is None or b is None:
                continue
            delta, low, high, significant = paired_difference(a, b)
            deltas[metric] = {
                "base": sum(a) / len(a),
                "candidate": sum(b) / len(b),
                "delta": delta,
                "low": low,
                "high": high,
                "significant": significant,
            }
        moves = [
            {
                "id": r0["id"],
                "input": r0["input"],
                "reference": r0["reference"],
                "base_output": r0["output"],
                "candidate_output": r1["output"],
                "delta": r1["scores"].get("rouge_l", 0.0) - r0["scores"].get("rouge_l", 0.0),
            }
            for r0, r1 in zip(base.rows, other.rows, strict=True)
        ]
        moves.sort(key=lambda m: m["delta"])
        losses = [(e.summary.get("loss") or {}).get("eval_loss") for e in (base, other)]
        candidates.append(
            {
                "id": other.id,
                "model": other.summary["model"],
                "eval_loss": None
                if None in losses
                else {"base": losses[0], "candidate": losses[1]},
                "deltas": deltas,
                "improved": [m for m in reversed(moves) if m["delta"] > 0][:MOVERS],
                "worsened": [m for m in moves if m["delta"] < 0][:MOVERS],
            }
        )
    return {
        "base": {"id": base.id, "model": base.summary["model"]},
        "dataset": base.summary["dataset"],
        "split": base.summary["split"],
        "n": len(base_ids),
        "candidates": candidates,
    }


def render_comparison(result: dict[str, Any]) -> str:
    """The comparison as Markdown: one delta table and the movers per candidate."""
    base = result["base"]
    lines = [
        f"# Comparison against {base['id']} (`{base['model']}`)",
        "",
        f"{result['n']} examples of `{result['dataset']}`, split `{result['split']}`. "
        "Deltas are candidate minus baseline with 95% paired bootstrap intervals; "
        "'larger than the noise' means the interval excludes 0.",
    ]
    for cand in result["candidates"]:
        lines += [
            "",
            f"## {cand['id']} (`{cand['model']}`)",
            "",
            "| metric | baseline | candidate | delta | 95% interval | larger than the noise |",
            "|---|---|---|---|---|---|",
        ]
        for name, d in cand["deltas"].items():
            lines.append(
                f"| {name} | {d['base']:.3f} | {d['candidate']:.3f} | {d['delta']:+.3f} "
                f"| [{d['low']:+.3f}, {d['high']:+.3f}] | {'yes' if d['significant'] else 'no'} |"
            )
        if cand.get("eval_loss"):
            loss = cand["eval_loss"]
            lines += [
                "",
                f"Eval loss (nats per reference token, lower is better): {loss['base']:.4f} -> "
                f"{loss['candidate']:.4f}; perplexity {math.exp(loss['base']):.2f} -> "
                f"{math.exp(loss['candidate']):.2f}.",
            ]
        movers = (("Improved most", cand["improved"]), ("Worsened most", cand["worsened"]))
        for title, moves in movers:
            lines += ["", f"### {title} (ROUGE-L)", ""]
            if not moves:
                lines.append("(none)")
                continue
            lines += [
                "| id | delta | input | reference | baseline | candidate |",
                "|---|---|---|---|---|---|",
            ]
            for m in moves:
                lines.append(
                    f"| {cell(m['id'])} | {m['delta']:+.3f} | {cell(m['input'])} "
                    f"| {cell(m['reference'])} | {cell(m['base_output'])} "
                    f"| {cell(m['candidate_output'])} |"
                )
    return "\n".join(lines) + "\n"


def new_comparison_id() -> str:
    return f"cmp-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def save_comparison(eval_ids: Sequence[str], ws: Any = None) -> SavedComparison:
    """Compare saved evals (the first is the baseline) and write the reports under the workspace."""
    from core.atomic import write_json, write_text
    from core.workspace import Workspace
    from tools.evaluation.html import render_comparison_html
    from tools.evaluation.plots import eval_images
    from tools.evaluation.store import EvalStore

    store = EvalStore(ws or Workspace.from_settings())
    evals = [store.load(i) for i in eval_ids]
    result = compare(evals)
    result["evals"] = [{"id": e.id, "model": e.summary["model"]} for e in evals]
    comparison_id = new_comparison_id()
    folder = store.ws.artifact_dir("evals", comparison_id)
    images = eval_images(evals, store.ws, folder)
    md_path, html_path = folder / "comparison.md", folder / "comparison.html"
    write_json(folder / "result.json", result)
    write_text(md_path, render_comparison(result))
    write_text(html_path, render_comparison_html(result, evals, images))
    store.ws.record_event("compare.done", f"eval:{evals[0].id}", {"id": comparison_id})
    return SavedComparison(comparison_id, md_path, html_path, result)
