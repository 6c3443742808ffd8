"""The pictures of an evaluation report, as PNG bytes ready to inline in a self-contained HTML file.

Three pictures answer three questions: metric bars with their interval whiskers ("is the gap
larger than the noise?"), output length against reference length ("does it ramble or stop
short?"), and the run's loss curve ("did training itself go well?"). Drawn with matplotlib's Agg
backend through `Figure` (no pyplot global state, no display), imported only when called.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Metrics drawn on the shared 0-1 axis; length_ratio (ideal 1.0, unbounded) gets its own words.
BAR_METRICS = (
    "rouge_l",
    "bleu",
    "chrf",
    "exact_match",
    "embedding_similarity",
    "format_ok",
    "judge",
)


def _figure(width: float = 7.0, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _png(figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """`data:image/png;base64,...`: an image that needs no file and no network."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def metric_bars(series: Sequence[tuple[str, Mapping[str, Any]]]) -> bytes | None:
    """Grouped bars, one group per metric and one bar per eval, whiskers = 95% intervals.

    `series` is (label, summary["metrics"]) per eval. Only metrics every eval has are drawn, so
    bars side by side always measure the same thing. None when there is nothing to draw.
    """
    names = [m for m in BAR_METRICS if all(m in metrics for _, metrics in series)]
    if not series or not names:
        return None
    figure = _figure(max(6.0, 1.1 * len(names) * max(1, len(series)) ** 0.5 + 2), 3.8)
    axes = figure.add_subplot()
    width = 0.8 / len(series)
    for k, (label, metrics) in enumerate(series):
        xs = [i - 0.4 + width * (k + 0.5) for i in range(len(names))]
        means = [metrics[m]["mean"] for m in names]
        below = [metrics[m]["mean"] - metrics[m]["low"] for m in names]
        above = [metrics[m]["high"] - metrics[m]["mean"] for m in names]
        axes.bar(xs, means, width, yerr=[below, above], capsize=3, label=label)
    axes.set_xticks(range(len(names)), names, rotation=20)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("mean (0-1), 95% interval")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)


def length_distribution(
    series: Sequence[tuple[str, Sequence[int]]], reference_words: Sequence[int]
) -> bytes | None:
    """Histograms of output words per eval over the reference answers' words (outlined)."""
    if not reference_words:
        return None
    figure = _figure()
    axes = figure.add_subplot()
    top = max([*reference_words, *(w for _, words in series for w in words), 1])
    bins = list(range(0, top + 2, max(1, (top + 1) // 30 + 1)))
    axes.hist(
        reference_words, bins=bins, histtype="step", linewidth=2, color="black", label="reference"
    )
    for label, words in series:
        axes.hist(words, bins=bins, alpha=0.45, label=label)
    axes.set_xlabel("words per answer")
    axes.set_ylabel("examples")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)


def run_loss_curve(model_ref: str, ws: Any, png: Path) -> bytes | None:
    """The loss curve of a `run:<id>` model from its metrics.jsonl, drawn into `png`.

    None for other refs, and for a run with no loss logged (or a missing run folder): a report
    still renders without it. The drawing is trainers.plots.plot_loss, the one the run itself uses.
    """
    from core.errors import TunesmithError
    from core.models.refs import parse_ref

    try:
        parsed = parse_ref(model_ref)
    except TunesmithError:
        return None
    if parsed.scheme != "run":
        return None
    from trainers.jobs.layout import RunPaths, read_metrics
    from trainers.plots import plot_loss

    try:
        folder = ws.artifact_dir("runs", parsed.target)
    except TunesmithError:
        return None
    records = read_metrics(RunPaths(folder).metrics)
    if not plot_loss(records, png, title=f"Loss of {parsed.canonical}"):
        return None
    return png.read_bytes()


def words(text: str) -> int:
    return len(text.split())


def eval_images(evals: Sequence[Any], ws: Any, folder: Path) -> list[tuple[str, bytes]]:
    """The (caption, png) plots of one eval or a comparison of several (SavedEval-like objects).

    Loss curves of run: models are also left as loss-<run>.png files in `folder`.
    """
    images: list[tuple[str, bytes]] = []
    labels = [
        f"{e.summary['model']} ({e.id})" if len(evals) > 1 else e.summary["model"] for e in evals
    ]
    pairs = list(zip(labels, evals, strict=True))
    bars = metric_bars([(label, e.summary["metrics"]) for label, e in pairs])
    if bars:
        images.append(("Mean scores with 95% bootstrap intervals", bars))
    lengths = length_distribution(
        [(label, [words(r["output"]) for r in e.rows]) for label, e in pairs],
        [words(r["reference"]) for r in evals[0].rows],
    )
    if lengths:
        images.append(("Answer length in words: outputs against the references", lengths))
    seen: set[str] = set()
    for e in evals:
        model = e.summary["model"]
        if model in seen:
            continue
        seen.add(model)
        png_name = "loss-" + "".join(c if c.isalnum() else "-" for c in model) + ".png"
        curve = run_loss_curve(model, ws, folder / png_name)
        if curve:
            images.append((f"Training loss of {model}", curve))
    return images
