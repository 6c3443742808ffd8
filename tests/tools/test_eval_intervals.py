"""Bootstrap intervals: exact on degenerate data, stable per seed, and right about noise."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInput
from tools.evaluation import bootstrap_ci, paired_difference
from tools.evaluation import intervals as intervals_module


def test_constant_values_give_a_zero_width_interval():
    assert bootstrap_ci([0.7] * 50) == pytest.approx((0.7, 0.7, 0.7))
    assert tuple(bootstrap_ci([1.0])) == (1.0, 1.0, 1.0)


def test_interval_contains_the_mean_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = rng.uniform(0, 1, 30)
    large = rng.uniform(0, 1, 3000)
    mean, low, high = bootstrap_ci(small)
    assert mean == pytest.approx(small.mean())
    assert low < mean < high
    wide = high - low
    # standard error of a uniform(0,1) mean is 0.289/sqrt(n): 95% width ~ 3.92 * that
    assert wide == pytest.approx(3.92 * 0.289 / 30**0.5, rel=0.3)
    _, low_l, high_l = bootstrap_ci(large)
    assert high_l - low_l < wide / 5  # 100x the data -> ~10x narrower


def test_higher_confidence_gives_a_wider_interval():
    values = np.random.default_rng(2).normal(0, 1, 100)
    _, low90, high90 = bootstrap_ci(values, confidence=0.90)
    _, low99, high99 = bootstrap_ci(values, confidence=0.99)
    assert low99 < low90 and high90 < high99


def test_deterministic_per_seed():
    values = np.random.default_rng(3).normal(0.5, 0.2, 200)
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)
    assert paired_difference(values, values + 0.01, seed=4) == paired_difference(
        values, values + 0.01, seed=4
    )


def test_blocked_resampling_matches_a_different_block_size(monkeypatch):
    # the block size bounds memory; it must not change the distribution of the resample means
    values = np.random.default_rng(4).normal(0, 1, 500)
    _, low, high = bootstrap_ci(values, n_resamples=2000)
    monkeypatch.setattr(intervals_module, "_CHUNK_CELLS", 600)  # one resample per block
    _, low_b, high_b = bootstrap_ci(values, n_resamples=2000)
    assert (low, high) == pytest.approx((low_b, high_b), abs=0.02)


def test_paired_difference_sees_a_clear_shift():
    rng = np.random.default_rng(5)
    base = rng.uniform(0.1, 0.9, 200)  # easy and hard examples: wide spread
    tuned = base + 0.03 + rng.normal(0, 0.02, 200)  # small but consistent gain
    delta, low, high, significant = paired_difference(base, tuned)
    assert delta == pytest.approx(np.mean(tuned - base))
    assert 0 < low < delta < high
    assert significant
    # the unpaired intervals overlap: only pairing separates the gain from example difficulty
    _, _, base_high = bootstrap_ci(base)
    _, tuned_low, _ = bootstrap_ci(tuned)
    assert tuned_low < base_high
    # and the other direction is a significant loss
    assert paired_difference(tuned, base).high < 0


def test_paired_difference_calls_noise_noise():
    rng = np.random.default_rng(6)
    base = rng.uniform(0.1, 0.9, 200)
    noise = rng.normal(0, 0.1, 200)
    tuned = base + (noise - noise.mean())  # differences centred exactly on 0
    delta, low, high, significant = paired_difference(base, tuned)
    assert delta == pytest.approx(0.0, abs=1e-12)
    assert low < 0 < high
    assert not significant
    identical = paired_difference(base, base)
    assert tuple(identical) == (0.0, 0.0, 0.0, False)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bootstrap_ci([]), "non-empty"),
        (lambda: bootstrap_ci([[1.0, 2.0]]), "flat list"),
        (lambda: bootstrap_ci([1.0, float("nan")]), "NaN"),
        (lambda: bootstrap_ci(["a"]), "must be numbers"),
        (lambda: bootstrap_ci([1.0], n_resamples=0), "n_resamples"),
        (lambda: bootstrap_ci([1.0], confidence=95), "confidence"),
        (lambda: paired_difference([1.0, 2.0], [1.0]), "same examples"),
    ],
)
def test_bad_input_is_refused_with_a_fix(call, message):
    with pytest.raises(InvalidInput, match=message) as info:
        call()
    assert info.value.hint
