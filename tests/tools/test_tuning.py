"""Tuning advice on synthetic metric curves: each diagnosis, and the proposals it leads to."""

from __future__ import annotations

import json
import math

import pytest

from core.errors import InvalidInput
from tools.tuning import Proposal, apply, diagnose, estimate_cost, propose
from tools.tuning.diagnose import (
    FORMAT_FAILURES,
    HEALTHY,
    INSTABILITY,
    LR_TOO_LOW,
    NO_GAIN,
    NOT_ENOUGH_DATA,
    OUTPUTS_TOO_LONG,
    OUTPUTS_TOO_SHORT,
    OVERFITTING,
    PROBLEM,
    UNDERFITTING,
    WARNING,
)
from trainers.hardware import cpu_hardware
from trainers.jobs.layout import read_metrics
from trainers.profile import DataProfile
from trainers.recipe import Recipe

STEPS_PER_EPOCH = 40


def curve(losses, evals=None, grad_norms=None):
    """metrics.jsonl-shaped records: one per logged step, evaluations as their own records."""
    records = []
    for i, loss in enumerate(losses):
        step = i + 1
        record = {"step": step, "epoch": step / STEPS_PER_EPOCH, "loss": loss}
        record["learning_rate"] = 2e-4
        record["grad_norm"] = grad_norms[i] if grad_norms else 1.0
        records.append(record)
    for step, value in (evals or {}).items():
        records.append({"step": step, "epoch": step / STEPS_PER_EPOCH, "eval_loss": value})
    return records


def converged(n=100):
    """Falls fast, then levels off near 1.0, with a little deterministic noise."""
    return [1.0 + 1.5 * math.exp(-s / 8) + 0.01 * math.sin(3 * s) for s in range(1, n + 1)]


def profile(p50, p95):
    """180 train rows of about `p50` tokens."""
    return DataProfile(
        rows=200,
        train_rows=180,
        eval_rows=20,
        row_format="messages",
        p50_tokens=p50,
        p95_tokens=p95,
        max_tokens=p95 + 200,
        total_tokens=180 * (p50 + 20),
    )


def kinds(findings):
    return [f.kind for f in findings]


def check_proposals(proposals, recipe):
    """Every proposal is a valid recipe of at most two changes."""
    for proposal in proposals:
        assert len(proposal.changes) <= 2
        new = apply(proposal, recipe)
        for key, value in proposal.changes.items():
            assert getattr(new, key) == value
        assert proposal.reason and proposal.expected_effect


def test_u_shaped_eval_loss_is_overfitting_with_the_best_step():
    train = [2.5 * math.exp(-s / 30) + 0.2 for s in range(1, 101)]  # still falling: memorising
    evals = {20: 1.5, 40: 1.21, 60: 1.25, 80: 1.36, 100: 1.48}
    findings = diagnose(curve(train, evals))
    assert kinds(findings) == [OVERFITTING]
    found = findings[0]
    assert found.best_step == 40
    assert found.best_epoch == 1.0
    assert "1.21 at step 40" in found.evidence and "1.48 at step 100" in found.evidence

    recipe = Recipe(epochs=3.0)
    proposals = propose(findings, recipe)
    check_proposals(proposals, recipe)
    assert proposals[0].changes == {"epochs": 1.0, "lora_dropout": 0.1}
    assert "1.21" in proposals[0].reason and "1.48" in proposals[0].reason
    full = propose(findings, Recipe(method="full", epochs=3.0, learning_rate=2e-5))[0]
    assert full.changes == {"epochs": 1.0, "learning_rate": 1e-5}


def test_small_eval_wobble_is_not_overfitting():
    evals = {20: 1.3, 40: 1.15, 60: 1.12, 80: 1.14, 100: 1.13}  # +1.8% over the minimum
    assert OVERFITTING not in kinds(diagnose(curve(converged(), evals)))


def test_steadily_falling_loss_is_underfitting():
    findings = diagnose(curve([2.0 - 0.012 * s for s in range(100)]))
    assert kinds(findings) == [UNDERFITTING]
    assert "still falling" in findings[0].evidence and "0.812" in findings[0].evidence

    lora = Recipe(learning_rate=2e-4)
    proposal = propose(findings, lora)[0]
    check_proposals([proposal], lora)
    assert proposal.changes == {"learning_rate": 4e-4}
    assert "0.812" in proposal.reason
    full = Recipe(method="full", epochs=3.0)
    assert propose(findings, full)[0].changes == {"epochs": 4.5}
    capped = Recipe(max_steps=100)
    assert propose(findings, capped)[0].changes == {"learning_rate": 4e-4}
    at_ceiling = Recipe(learning_rate=1e-3, max_steps=100)
    assert propose(findings, at_ceiling)[0].changes == {"max_steps": 150}


def test_high_final_loss_is_underfitting():
    losses = [3.0 + 0.5 * math.exp(-s / 5) + 0.01 * math.sin(s) for s in range(60)]
    findings = diagnose(curve(losses))
    assert kinds(findings) == [UNDERFITTING]
    assert "above 2" in findings[0].evidence


def test_flat_loss_is_learning_rate_too_low():
    losses = [2.3 + 0.02 * math.sin(s) for s in range(80)]
    findings = diagnose(curve(losses))
    assert kinds(findings) == [LR_TOO_LOW]  # not also "final loss high": one cause, one fix
    assert "barely moved" in findings[0].evidence and "2.3" in findings[0].evidence

    recipe = Recipe(learning_rate=1e-4)
    proposals = propose(findings, recipe)
    check_proposals(proposals, recipe)
    assert proposals[0].changes == {"learning_rate": 3e-4}
    assert "2.3" in proposals[0].reason


def test_loss_spike_is_instability():
    losses = converged()
    losses[49] = 8.0  # step 50
    findings = diagnose(curve(losses))
    assert kinds(findings) == [INSTABILITY]
    assert "8 at step 50" in findings[0].evidence
    assert findings[0].severity == WARNING

    recipe = Recipe(learning_rate=2e-4, warmup_ratio=0.03)
    proposals = propose(findings, recipe)
    check_proposals(proposals, recipe)
    assert proposals[0].changes == {"learning_rate": 1e-4, "warmup_ratio": 0.1}
    assert "step 50" in proposals[0].reason
    warmed = Recipe(warmup_ratio=0.2)
    assert propose(findings, warmed)[0].changes == {"learning_rate": 1e-4, "max_grad_norm": 0.5}


def test_nan_grad_norm_and_explosion_are_instability():
    norms = [1.0] * 100
    norms[0] = 40.0  # a large first step is normal, not an explosion
    norms[30] = 60.0
    norms[70] = float("nan")
    findings = diagnose(curve(converged(), grad_norms=norms))
    assert kinds(findings) == [INSTABILITY]
    assert findings[0].severity == PROBLEM
    assert "non-finite" in findings[0].evidence and "step 71" in findings[0].evidence
    assert "60 at step 31" in findings[0].evidence and "step 1 " not in findings[0].evidence


def test_unstable_and_flat_run_does_not_raise_the_learning_rate():
    losses = [2.3 + 0.02 * math.sin(s) for s in range(80)]
    losses[40] = float("inf")
    findings = diagnose(curve(losses))
    assert set(kinds(findings)) == {INSTABILITY, LR_TOO_LOW}
    assert findings[0].kind == INSTABILITY  # worst first
    proposals = propose(findings, Recipe())
    assert [p.finding for p in proposals] == [INSTABILITY]


def test_clean_converged_curve_looks_healthy():
    evals = {20: 1.3, 40: 1.15, 60: 1.12, 80: 1.11, 100: 1.11}
    norms = [40.0, 12.0] + [1.0] * 98  # large first norms are normal
    findings = diagnose(curve(converged(), evals, grad_norms=norms))
    assert kinds(findings) == [HEALTHY]
    assert "looks healthy" in findings[0].evidence
    assert propose(findings, Recipe()) == []


@pytest.mark.parametrize(
    "records",
    [
        [],
        [{"step": 1, "loss": 2.0}],
        [{"step": "x", "loss": "high"}, {"loss": None}, "not a record", {"epoch": 1}],
        [{"eval_loss": 1.0}, {"eval_loss": 1.2}],
    ],
)
def test_too_little_data_says_so(records):
    findings = diagnose(records)
    assert kinds(findings) == [NOT_ENOUGH_DATA]
    assert propose(findings, Recipe()) == []


def test_reads_a_real_metrics_file(tmp_path):
    """Round trip through metrics.jsonl, NaN included (json writes it as NaN), torn last line."""
    losses = converged(60)
    losses[40] = float("nan")
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps(r) for r in curve(losses, {20: 1.4, 40: 1.3, 60: 1.29})]
    path.write_text("\n".join(lines) + '\n{"step": 61, "lo', encoding="utf-8")
    findings = diagnose(read_metrics(path))
    assert kinds(findings) == [INSTABILITY]
    assert "step 41" in findings[0].evidence


def test_eval_summary_findings():
    summary = {
        "length_ratio": 1.8,
        "format_pass_rate": 0.6,
        "delta_vs_base": {"rouge_l": -0.01, "significant": False},
    }
    findings = diagnose([], eval_summary=summary)
    assert set(kinds(findings)) == {OUTPUTS_TOO_LONG, FORMAT_FAILURES, NO_GAIN}
    evidence = " ".join(f.evidence for f in findings)
    assert "1.8x" in evidence and "60%" in evidence and "rouge_l -0.01" in evidence

    short = diagnose([], eval_summary={"length_ratio": 0.4})
    assert kinds(short) == [OUTPUTS_TOO_SHORT]
    gain = {"delta_vs_base": {"rouge_l": 0.08, "significant": True}, "format_pass_rate": 1.0}
    assert kinds(diagnose([], eval_summary=gain)) == [HEALTHY]
    unknown = {"delta_vs_base": {"rouge_l": 0.004}}
    assert kinds(diagnose([], eval_summary=unknown)) == [NO_GAIN]
    worse = {"delta_vs_base": {"rouge_l": -0.05, "significant": True}}
    assert diagnose([], eval_summary=worse)[0].severity == PROBLEM
    junk = {"length_ratio": "long", "format_pass_rate": None, "delta_vs_base": [1]}
    assert kinds(diagnose([], eval_summary=junk)) == [HEALTHY]


def test_eval_summary_proposals():
    summary = {
        "length_ratio": 1.8,
        "format_pass_rate": 0.6,
        "delta_vs_base": {"rouge_l": -0.01, "significant": False},
        "extra": "ignored",
    }
    findings = diagnose([], eval_summary=summary)
    recipe = Recipe(max_length=512)
    truncated = profile(p50=300, p95=700)
    proposals = {p.finding: p for p in propose(findings, recipe, profile=truncated)}
    check_proposals(proposals.values(), recipe)
    assert proposals[OUTPUTS_TOO_LONG].changes == {"max_length": 704}
    assert "1.8x" in proposals[OUTPUTS_TOO_LONG].reason
    assert "Filter" in proposals[OUTPUTS_TOO_LONG].hint
    assert proposals[NO_GAIN].changes == {"lora_r": 32, "lora_alpha": 64}
    assert "larger base model" in proposals[NO_GAIN].hint
    assert proposals[FORMAT_FAILURES].changes == {} and proposals[FORMAT_FAILURES].hint
    fitting = profile(p50=100, p95=300)
    long_only = propose(findings, recipe, profile=fitting)[0]
    assert long_only.finding == OUTPUTS_TOO_LONG and long_only.changes == {}


def test_apply_validates_through_the_recipe():
    recipe = Recipe()
    with pytest.raises(InvalidInput, match="learning_rat"):
        apply(Proposal({"learning_rat": 1e-4}, "typo", ""), recipe)
    with pytest.raises(InvalidInput, match="more than 2"):
        apply(Proposal({"epochs": 1.0, "seed": 1, "lora_r": 8}, "too many", ""), recipe)
    new = apply(Proposal({"epochs": "2"}, "from the CLI", ""), recipe)
    assert new.epochs == 2.0 and new.reasons["epochs"] == "set by you"
    assert recipe.epochs == 3.0  # the current recipe is untouched


def test_estimated_cost_of_stopping_early_is_lower():
    evals = {20: 1.5, 40: 1.21, 60: 1.25, 80: 1.36, 100: 1.48}
    train = [2.5 * math.exp(-s / 30) + 0.2 for s in range(1, 101)]
    recipe = Recipe(epochs=3.0)
    proposal = propose(diagnose(curve(train, evals)), recipe)[0]
    cost = estimate_cost(proposal, recipe, profile(p50=200, p95=400), 135_000_000, cpu_hardware())
    estimated = (cost.proposed_seconds, cost.current_seconds)  # from trainers.estimate: no clock
    assert estimated[0] == min(estimated) and estimated[0] != estimated[1] and min(estimated) > 0
    assert cost.proposed.steps < 3 * 45  # 1 epoch of 45 steps, not 3
    assert "~" in cost.describe() and "%" in cost.describe()
