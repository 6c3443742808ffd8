"""Bootstrap confidence intervals: how much of a score, or of a difference, is noise.

An eval set of a few hundred examples gives a mean that would move if other examples had been
drawn. The percentile bootstrap estimates that spread without assuming a distribution: resample
the examples with replacement B times, take each resample's mean, and read the interval off the
quantiles of those B means. It needs enough examples to be honest (with under ~20 the intervals
come out too narrow), and a fixed seed keeps reports reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from core.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

_CHUNK_CELLS = 1_000_000  # resample indices drawn per block, so memory stays ~8 MB at any size


class Interval(NamedTuple):
    """A sample mean and its bootstrap interval: unpacks as (mean, low, high)."""

    mean: float
    low: float
    high: float


class PairedDelta(NamedTuple):
    """Mean of b - a over paired examples, its interval, and whether the interval excludes 0."""

    delta: float
    low: float
    high: float
    significant: bool


def _as_values(values: Sequence[float] | np.ndarray, name: str = "values") -> np.ndarray:
    import numpy as np

    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"The {name} to bootstrap must be numbers.", "Pass a list of per-example scores."
        ) from exc
    if array.ndim != 1 or array.size == 0:
        raise InvalidInput(
            f"The {name} to bootstrap must be a non-empty flat list, got shape {array.shape}.",
            "Pass one score per example (evaluate at least one example first).",
        )
    if not np.all(np.isfinite(array)):
        raise InvalidInput(
            f"The {name} to bootstrap contain NaN or infinite scores.",
            "Drop the examples without a score before computing intervals.",
        )
    return array


def _check_options(n_resamples: int, confidence: float) -> None:
    if not isinstance(n_resamples, int) or n_resamples < 1:
        raise InvalidInput(
            f"n_resamples must be a whole number >= 1, got {n_resamples!r}.",
            "Use 1000 (the default) or more for a stable interval.",
        )
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(
            f"confidence must lie strictly between 0 and 1, got {confidence!r}.",
            "Use 0.95 for a 95% interval.",
        )


def _resampled_means(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of `n_resamples` with-replacement resamples, drawn in blocks to bound memory."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = values.size
    block = max(1, _CHUNK_CELLS // n)
    means = np.empty(n_resamples, dtype=np.float64)
    for begin in range(0, n_resamples, block):
        size = min(block, n_resamples - begin)
        indices = rng.integers(0, n, size=(size, n))
        means[begin : begin + size] = values[indices].mean(axis=1)
    return means


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Sample mean and percentile-bootstrap interval: (mean, low, high).

    With alpha = 1 - confidence, low and high are the alpha/2 and 1 - alpha/2 quantiles of the
    resample means. Same values and seed -> same interval; constant values -> zero width.
    """
    import numpy as np

    _check_options(n_resamples, confidence)
    array = _as_values(values)
    mean = float(array.mean())
    if np.all(array == array[0]):  # every resample mean is the same number
        return Interval(mean, mean, mean)
    alpha = 1.0 - confidence
    low, high = np.quantile(_resampled_means(array, n_resamples, seed), [alpha / 2, 1 - alpha / 2])
    return Interval(mean, float(low), float(high))


def paired_difference(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDelta:
    """Mean of b - a on the same examples, with a paired bootstrap interval.

    a and b are one metric's per-example scores for two models on the SAME examples, in the same
    order (a = baseline, b = candidate: a positive delta means b scores higher). Resampling
    example indices and recomputing mean(b[i] - a[i]) is the bootstrap of the per-example
    differences, so the example-to-example spread (easy vs hard prompts) that both models share
    cancels out; that is why a paired test detects a small consistent gain that two separate
    intervals would hide. `significant` is True when the interval excludes 0.
    """
    first, second = _as_values(a, "baseline scores"), _as_values(b, "candidate scores")
    if first.size != second.size:
        raise InvalidInput(
            f"Paired scores need the same examples: got {first.size} and {second.size} scores.",
            "Evaluate both models on the same eval split and pass the scores in the same order.",
        )
    delta, low, high = bootstrap_ci(second - first, n_resamples, confidence, seed)
    return PairedDelta(delta, low, high, bool(low > 0.0 or high < 0.0))
