"""The Markdown report of one evaluation: scores with their noise, cost, and examples to read.

Numbers alone do not say *why*; the best and worst examples by ROUGE-L let a person see what the
model gets right and wrong in a minute of reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SHOWN_EXAMPLES = 5
CELL_CHARS = 160


def cell(text: Any, limit: int = CELL_CHARS) -> str:
    """Text made safe for one Markdown table cell: one line, pipes escaped, long text cut."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def metric_table(summary: dict[str, Any]) -> list[str]:
    """`| metric | mean | 95% interval | n |`, one row per scored metric."""
    lines = ["| metric | mean | 95% interval | n |", "|---|---|---|---|"]
    for name, stats in summary["metrics"].items():
        lines.append(
            f"| {name} | {stats['mean']:.3f} | [{stats['low']:.3f}, {stats['high']:.3f}] "
            f"| {stats['n']} |"
        )
    return lines


def cost_table(summary: dict[str, Any]) -> list[str]:
    cost = summary["cost"]
    return [
        "| mean prompt tokens | mean output tokens | mean latency (s) | failed |",
        "|---|---|---|---|",
        f"| {cost['mean_prompt_tokens']:.1f} | {cost['mean_output_tokens']:.1f} "
        f"| {cost['mean_latency_s']:.3f} | {summary['failed']} of {summary['n']} |",
    ]


def example_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| id | ROUGE-L | input | reference | output | tokens in/out | latency (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        output = f"(failed: {row['error']})" if row.get("error") else row["output"]
        lines.append(
            f"| {cell(row['id'])} | {row['scores'].get('rouge_l', 0.0):.3f} | "
            f"{cell(row['input'])} | {cell(row['reference'])} | {cell(output)} "
            f"| {row['prompt_tokens']}/{row['output_tokens']} | {row['latency_s']:.3f} |"
        )
    return lines


def best_and_worst(
    rows: Sequence[dict[str, Any]], k: int = SHOWN_EXAMPLES
) -> tuple[list[dict], list[dict]]:
    """The k highest and k lowest ROUGE-L rows; ties keep dataset order (stable sort)."""
    ranked = sorted(rows, key=lambda r: -r["scores"].get("rouge_l", 0.0))
    worst = sorted(rows, key=lambda r: r["scores"].get("rouge_l", 0.0))
    return ranked[:k], worst[:k]


def setup_lines(summary: dict[str, Any]) -> list[str]:
    """What the model was given besides the question: prompt file, retrieval, checks, judge."""
    lines = []
    prompt = summary.get("prompt")
    if prompt:
        lines.append(
            f"prompt file: {prompt['file']} (sha256 {prompt['sha256'][:12]}, "
            f"first line: {prompt['first_line']!r})"
        )
    if summary.get("kb"):
        lines.append(f"retrieval: top {summary['k']} chunks of knowledge base {summary['kb']!r}")
    checks = summary.get("format_checks")
    if checks:
        listed = ", ".join(f"{name}={value!r}" for name, value in checks.items())
        lines.append(f"format checks (project {summary.get('project', 'default')!r}): {listed}")
    return lines + loss_and_judge_lines(summary)


LOSS_LINE = (
    "eval loss {eval_loss:.4f} nats/token, perplexity {perplexity:.2f} "
    "over {tokens} reference tokens"
)
LOSS_SKIPPED_LINE = "eval loss skipped: {reason}"
JUDGE_LINE = (
    "judge: {model} (prompt v{prompt_version}), {scored} scored, {unscored} unscored; {scale}"
)


def loss_and_judge_lines(
    summary: dict[str, Any],
    loss_line: str = LOSS_LINE,
    skipped_line: str = LOSS_SKIPPED_LINE,
    judge_line: str = JUDGE_LINE,
) -> list[str]:
    """The eval-loss (or why it was skipped) and judge lines, each filled from the summary.

    report.md and `tunesmith eval` word them differently (the terminal adds markup), so the
    wording is a template; which lines appear, and from which fields, is decided here once.
    """
    lines = []
    loss = summary.get("loss")
    if loss:
        lines.append(loss_line.format(**loss))
    elif summary.get("loss_skipped"):
        lines.append(skipped_line.format(reason=summary["loss_skipped"]))
    judge = summary.get("judge")
    if judge:
        lines.append(judge_line.format(**judge))
    return lines


def render_report(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """The whole report.md of one evaluation."""
    lines = [
        f"# Evaluation {summary.get('id', '')}".rstrip(),
        "",
        f"- model: `{summary['model']}`",
        f"- data: `{summary['dataset']}`, split `{summary['split']}`, {summary['n']} examples",
    ]
    if summary["failed"]:
        lines.append(
            f"- **{summary['failed']} generation(s) failed**; they are scored as empty answers."
        )
    if not summary.get("embedding_similarity", True):
        lines.append("- embedding similarity skipped: no embedding model was available.")
    judge = summary.get("judge") or {}
    if judge.get("warning"):
        lines.append(f"- **warning:** {judge['warning']}")
    lines += [f"- {line}" for line in setup_lines(summary)]
    lines += ["", "## Scores", "", *metric_table(summary), ""]
    lines += [
        "Text-overlap metrics are on 0-1; embedding similarity is a cosine; length_ratio is "
        "output words / reference words (1.0 is the reference's length); judge is the judge's "
        "1-5 score as (score - 1) / 4; format_ok is the share of answers passing every format "
        "check. Intervals are 95% bootstrap intervals over the examples. Eval loss is the mean "
        "negative log-likelihood (nats) of the reference tokens given the prompt; perplexity is "
        "exp(eval loss).",
        "",
        "## Cost",
        "",
        *cost_table(summary),
        "",
    ]
    best, worst = best_and_worst(rows)
    lines += ["## Best examples (ROUGE-L)", "", *example_table(best), ""]
    lines += ["## Worst examples (ROUGE-L)", "", *example_table(worst), ""]
    return "\n".join(lines)
