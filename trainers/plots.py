"""The loss curve of a run as a PNG, so a person can see at a glance whether it learned.

Drawn with matplotlib's Agg backend (no display needed) and written atomically: a watcher that
opens loss.png while the job redraws it sees the old picture or the new one, never half.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from core.atomic import write_bytes


def plot_loss(records: list[dict[str, Any]], png: str | Path, title: str = "") -> bool:
    """Draw training loss (and eval loss, when present) against step into `png`.

    Returns False, drawing nothing, when there is no loss to draw yet.
    """
    train = [(r["step"], r["loss"]) for r in records if r.get("loss") is not None and "step" in r]
    evals = [(r["step"], r["eval_loss"]) for r in records if r.get("eval_loss") is not None]
    if not train and not evals:
        return False
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    axes = figure.add_subplot()
    if train:
        axes.plot(*zip(*train, strict=True), label="training loss", linewidth=1.5)
    if evals:
        axes.plot(*zip(*evals, strict=True), "o-", label="eval loss", linewidth=1.5)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(title or "Loss")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    write_bytes(png, buffer.getvalue())
    return True
