"""Diagnose a finished (or stopped) run from its metric curves and its evaluation summary.

`diagnose(records, eval_summary=...)` reads the records of metrics.jsonl (`read_metrics`) and an
optional evaluation summary, and returns findings a person can check by eye: each carries the
numbers it rests on ("eval loss rose from 1.21 at step 40 to 1.48 at step 100"), so the advice
that follows (`tools.tuning.proposals`) can cite them. Every threshold is a named constant below
with the reason for its value; the curves are noisy, so checks compare medians of windows rather
than single points wherever one point could flip the verdict.

Bad input never raises: missing fields, strings, NaN in the wrong place, one point or none give
a "not enough data" finding (and NaN or inf losses are themselves a finding: instability).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

OVERFITTING = "overfitting"
UNDERFITTING = "underfitting"
LR_TOO_LOW = "learning_rate_too_low"
INSTABILITY = "instability"
OUTPUTS_TOO_LONG = "outputs_too_long"
OUTPUTS_TOO_SHORT = "outputs_too_short"
FORMAT_FAILURES = "format_failures"
NO_GAIN = "no_gain"
NOT_ENOUGH_DATA = "not_enough_data"
HEALTHY = "healthy"

INFO = "info"
WARNING = "warning"
PROBLEM = "problem"

MIN_TREND_POINTS = 6
"""Training-loss points needed before judging a trend: the last third must hold at least two."""

MIN_EVAL_POINTS = 3
"""Evaluations needed to see eval loss go down and then up again (a U needs three points)."""

OVERFIT_MARGIN = 0.05
"""Relative rise of the last eval loss over its minimum that counts as overfitting. Eval loss on a
small held-out split wobbles by a few percent between evaluations; 5% is beyond that wobble."""

UNDERFIT_SLOPE = 0.05
"""Relative fall of the fitted training loss across the last third of the run that means "still
learning". A converged run's tail is flat within noise (a fit over many points averages it out);
a 5% fall over the last third says more steps would still have paid off."""

HIGH_FINAL_LOSS = 2.0
"""Final training loss (nats per token) that is high for supervised fine-tuning on chat data: a
model that learned its data usually ends well below 1.5, an untuned small model starts at 2-3."""

FLAT_CHANGE = 0.05
"""Relative change of training loss from start to end below which it "barely moved": the learning
rate (or the number of steps) is too small for the adapter or weights to learn anything."""

EDGE_WINDOW = 3
"""Points whose median stands for the start or the end of a curve, so one noisy point cannot."""

SPIKE_FACTOR = 2.0
"""A training-loss point above this many times the running median of the points before it is a
spike: ordinary step-to-step noise in SFT stays within tens of percent."""

SPIKE_WINDOW = 10
"""Points in the running median that a spike is measured against."""

GRAD_EXPLOSION_FACTOR = 10.0
"""A gradient norm above this many times the run's median gradient norm is an explosion. Norms
are reported before clipping, so clipping hides nothing here, and a 10x jump is never noise."""

GRAD_SKIP_SHARE = 0.1
"""Share of the first gradient norms left out of the explosion check: the first steps of a run
(a cold optimizer, a randomly initialised head) often show large norms that are not a problem."""

LONG_RATIO = 1.5
"""Tuned output length over reference length above which outputs are too long."""

SHORT_RATIO = 0.6
"""Tuned output length over reference length below which outputs are too short."""

FORMAT_PASS_MIN = 0.9
"""Share of outputs passing the format check below which format failures are worth fixing."""

MIN_GAIN = 0.01
"""Smallest metric improvement over the base model that counts as a gain when the summary does
not say whether the difference is significant (metrics here are 0-1 scores like ROUGE-L)."""


@dataclass(frozen=True)
class Finding:
    """One diagnosis: what (`kind`), how bad (`severity`), and the numbers behind it.

    `best_step`/`best_epoch` are set where a better point exists in the run (overfitting: the
    lowest eval loss), so a proposal can stop there.
    """

    kind: str
    severity: str
    evidence: str
    best_step: int | None = None
    best_epoch: float | None = None


def diagnose(records: list[dict], *, eval_summary: dict | None = None) -> list[Finding]:
    """Findings on a run's metric records and optional evaluation summary, worst first.

    `records` are metrics.jsonl lines (step, epoch, loss, learning_rate, grad_norm, eval_loss...);
    `eval_summary` may hold length_ratio, format_pass_rate and delta_vs_base ({metric: delta,
    "significant": bool}). Returns [Finding(HEALTHY...)] when nothing is wrong and
    [Finding(NOT_ENOUGH_DATA...)] when there is too little to judge.
    """
    records = [r for r in records or [] if isinstance(r, dict)]
    train = _series(records, "loss")
    evals = _series(records, "eval_loss")
    findings = _instability(train, _series(records, "grad_norm"))
    overfit = _overfitting(evals)
    findings += overfit
    enough = len(_finite(train)) >= MIN_TREND_POINTS
    if enough:
        flat = _flat(train)
        findings += flat
        if not overfit:
            findings += _underfitting(train, skip_high_loss=bool(flat))
    findings += _from_summary(eval_summary or {})
    judged = enough or len(_finite(evals)) >= MIN_EVAL_POINTS or bool(eval_summary)
    if not judged:
        points = len(_finite(train))
        findings.append(
            Finding(
                NOT_ENOUGH_DATA,
                INFO,
                f"{points} training-loss point(s) and {len(_finite(evals))} evaluation(s); "
                f"at least {MIN_TREND_POINTS} loss points or {MIN_EVAL_POINTS} evaluations "
                "are needed to judge the curves",
            )
        )
    if not findings:
        findings.append(Finding(HEALTHY, INFO, _healthy_evidence(train, evals)))
    order = {PROBLEM: 0, WARNING: 1, INFO: 2}
    return sorted(findings, key=lambda f: order.get(f.severity, 3))


# --- curves -------------------------------------------------------------------------------------

Point = tuple[int, float | None, float]  # step, epoch, value (value may be NaN/inf)


def _series(records: list[dict], key: str) -> list[Point]:
    """(step, epoch, value) for each record holding a number under `key`, in step order."""
    points = []
    for index, record in enumerate(records):
        value = _number(record.get(key))
        if value is None:
            continue
        step = record.get("step")
        step = int(step) if _number(step) is not None and math.isfinite(step) else index
        epoch = _number(record.get("epoch"))
        points.append((step, epoch if epoch is not None and math.isfinite(epoch) else None, value))
    return sorted(points, key=lambda p: p[0])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _finite(points: list[Point]) -> list[Point]:
    return [p for p in points if math.isfinite(p[2])]


def _at(point: Point) -> str:
    text = f"step {point[0]}"
    return f"{text} (epoch {point[1]:.2g})" if point[1] is not None else text


# --- checks -------------------------------------------------------------------------------------


def _instability(train: list[Point], grads: list[Point]) -> list[Finding]:
    """Non-finite loss or gradient norm, loss spikes, gradient-norm explosions: one finding."""
    parts: list[str] = []
    bad = [p for p in train + grads if not math.isfinite(p[2])]
    if bad:
        first = min(bad, key=lambda p: p[0])
        parts.append(f"{len(bad)} non-finite loss/grad-norm value(s), first at {_at(first)}")
    spikes = []
    finite = _finite(train)
    for i in range(3, len(finite)):
        median = statistics.median(p[2] for p in finite[max(0, i - SPIKE_WINDOW) : i])
        if median > 0 and finite[i][2] > SPIKE_FACTOR * median:
            spikes.append((finite[i], median))
    if spikes:
        point, median = max(spikes, key=lambda s: s[0][2] / s[1])
        parts.append(
            f"{len(spikes)} loss spike(s); worst {point[2]:.3g} at {_at(point)} against a running "
            f"median of {median:.3g} ({point[2] / median:.1f}x)"
        )
    norms = _finite(grads)
    norms = norms[math.ceil(len(norms) * GRAD_SKIP_SHARE) :]
    if len(norms) >= 3:
        median = statistics.median(p[2] for p in norms)
        worst = max(norms, key=lambda p: p[2])
        if median > 0 and worst[2] > GRAD_EXPLOSION_FACTOR * median:
            parts.append(
                f"gradient norm reached {worst[2]:.3g} at {_at(worst)}, "
                f"{worst[2] / median:.0f}x its median of {median:.3g}"
            )
    if not parts:
        return []
    return [Finding(INSTABILITY, PROBLEM if bad else WARNING, "; ".join(parts))]


def _overfitting(evals: list[Point]) -> list[Finding]:
    """Eval loss that reached its minimum before the end and then rose by more than the margin."""
    finite = _finite(evals)
    if len(finite) < MIN_EVAL_POINTS:
        return []
    best = min(finite, key=lambda p: p[2])
    last = finite[-1]
    if best is last or best[2] <= 0 or last[2] < best[2] * (1 + OVERFIT_MARGIN):
        return []
    rise = last[2] / best[2] - 1
    evidence = (
        f"eval loss rose from {best[2]:.3g} at {_at(best)} to {last[2]:.3g} at {_at(last)} "
        f"(+{rise:.0%}); the best checkpoint is at step {best[0]}"
    )
    severity = PROBLEM if rise > 4 * OVERFIT_MARGIN else WARNING
    return [Finding(OVERFITTING, severity, evidence, best_step=best[0], best_epoch=best[1])]


def _flat(train: list[Point]) -> list[Finding]:
    """Training loss whose end is within FLAT_CHANGE of its start: the learning rate is too low."""
    finite = _finite(train)
    start = statistics.median(p[2] for p in finite[:EDGE_WINDOW])
    end = statistics.median(p[2] for p in finite[-EDGE_WINDOW:])
    if start <= 0 or abs(start - end) / start >= FLAT_CHANGE:
        return []
    evidence = (
        f"training loss barely moved: {start:.3g} at the start, {end:.3g} at the end "
        f"({(end - start) / start:+.1%} over {finite[-1][0] - finite[0][0]} steps)"
    )
    return [Finding(LR_TOO_LOW, WARNING, evidence)]


def _underfitting(train: list[Point], *, skip_high_loss: bool) -> list[Finding]:
    """Training loss still clearly falling over the last third, or ending high."""
    finite = _finite(train)
    tail = finite[len(finite) - max(2, len(finite) // 3) :]
    slope = _slope([p[0] for p in tail], [p[2] for p in tail])
    level = statistics.mean(p[2] for p in tail)
    span = tail[-1][0] - tail[0][0]
    fall = -slope * span / level if level > 0 else 0.0
    if fall > UNDERFIT_SLOPE:
        fitted_end = level + slope * (tail[-1][0] - statistics.mean(p[0] for p in tail))
        evidence = (
            f"training loss was still falling at the end: about {fall:.0%} over the last third "
            f"(steps {tail[0][0]}-{tail[-1][0]}), down to {fitted_end:.3g}"
        )
        return [Finding(UNDERFITTING, WARNING, evidence)]
    end = statistics.median(p[2] for p in finite[-EDGE_WINDOW:])
    if end > HIGH_FINAL_LOSS and not skip_high_loss:
        evidence = f"final training loss {end:.3g} is above {HIGH_FINAL_LOSS:g}"
        return [Finding(UNDERFITTING, WARNING, evidence)]
    return []


def _slope(xs: list[int], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 when xs do not vary)."""
    mean_x, mean_y = statistics.mean(xs), statistics.mean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def _from_summary(summary: dict) -> list[Finding]:
    """Findings on the evaluation summary: output length, format, gain over the base model."""
    findings = []
    ratio = _number(summary.get("length_ratio"))
    if ratio is not None and math.isfinite(ratio):
        if ratio > LONG_RATIO:
            evidence = f"outputs are {ratio:.2g}x the reference length (limit {LONG_RATIO:g}x)"
            findings.append(Finding(OUTPUTS_TOO_LONG, WARNING, evidence))
        elif ratio < SHORT_RATIO:
            evidence = f"outputs are {ratio:.2g}x the reference length (floor {SHORT_RATIO:g}x)"
            findings.append(Finding(OUTPUTS_TOO_SHORT, WARNING, evidence))
    rate = _number(summary.get("format_pass_rate"))
    if rate is not None and math.isfinite(rate) and rate < FORMAT_PASS_MIN:
        evidence = f"{rate:.0%} of outputs pass the format check (want {FORMAT_PASS_MIN:.0%})"
        findings.append(Finding(FORMAT_FAILURES, PROBLEM if rate < 0.5 else WARNING, evidence))
    delta = summary.get("delta_vs_base")
    if isinstance(delta, dict):
        findings += _no_gain(delta)
    return findings


def _no_gain(delta: dict) -> list[Finding]:
    """No gain: not significant, or (significance unknown) no metric improved by MIN_GAIN."""
    metrics = {k: v for k, v in delta.items() if k != "significant" and _number(v) is not None}
    metrics = {k: float(v) for k, v in metrics.items() if math.isfinite(v)}
    significant = delta.get("significant")
    shown = ", ".join(f"{k} {v:+.3g}" for k, v in sorted(metrics.items())) or "no metrics"
    best = max(metrics.values(), default=0.0)
    if significant is True and best > 0:
        return []
    if significant is None and best >= MIN_GAIN:
        return []
    if significant is True:  # significant, and nothing improved: the tuned model is worse
        return [Finding(NO_GAIN, PROBLEM, f"tuned model is significantly worse than base: {shown}")]
    why = "not significant" if significant is False else f"no metric up by {MIN_GAIN:g}"
    severity = PROBLEM if metrics and best < 0 else WARNING
    return [Finding(NO_GAIN, severity, f"no gain over the base model ({why}): {shown}")]


def _healthy_evidence(train: list[Point], evals: list[Point]) -> str:
    parts = []
    finite = _finite(train)
    if finite:
        parts.append(f"training loss {finite[0][2]:.3g} -> {finite[-1][2]:.3g} and levelled off")
    finite_evals = _finite(evals)
    if finite_evals:
        best = min(finite_evals, key=lambda p: p[2])
        parts.append(f"eval loss lowest at {_at(best)} ({best[2]:.3g})")
    return "looks healthy: " + ("; ".join(parts) or "the evaluation shows no problem")
