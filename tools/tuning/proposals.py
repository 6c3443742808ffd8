"""The next recipe: one or two changes per finding, each with its reason and expected effect.

`propose(findings, recipe)` turns diagnoses (`tools.tuning.diagnose`) into proposals, most urgent
first: an unstable run is fixed before anything else (and then no proposal raises the learning
rate), overfitting before underfitting. A proposal changes at most two recipe settings, so the
next run can be compared with this one and the difference explained; its reason quotes the
finding's numbers. Where the recipe is not the fix (outputs too short, format failures), the
proposal has no changes and `hint` says what to change in the data or model instead.

`apply(proposal, recipe)` validates the changes through `Recipe.with_overrides`, and
`estimate_cost` prices the proposed recipe against the current one with `trainers.estimate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tools.tuning.diagnose import (
    FORMAT_FAILURES,
    INSTABILITY,
    LR_TOO_LOW,
    NO_GAIN,
    OUTPUTS_TOO_LONG,
    OUTPUTS_TOO_SHORT,
    OVERFITTING,
    UNDERFITTING,
    Finding,
)
from trainers.estimate import duration_text

if TYPE_CHECKING:
    from trainers.estimate import ModelShape
    from trainers.hardware import Hardware
    from trainers.profile import DataProfile
    from trainers.recipe import Recipe

MAX_CHANGES = 2
"""Settings one proposal may change: more and the next run cannot say which change helped."""

LR_CEILING = {"lora": 1e-3, "full": 1e-4}
"""Highest learning rate a proposal raises to, by method: LoRA adapters train well up to ~1e-3,
full fine-tuning of every weight diverges well before that."""

LR_RAISE = 3.0
"""Factor a flat loss raises the learning rate by: a flat curve is off by far more than 2x."""

UNDERFIT_LR_RAISE = 2.0
"""Factor a still-falling LoRA run raises the learning rate by (no extra time, unlike epochs)."""

EPOCH_GROWTH = 1.5
"""Factor a still-falling run extends its epochs (or max_steps) by."""

STABLE_WARMUP = 0.1
"""Warm-up share for an unstable run: early spikes come from full-size steps on a cold optimizer."""

STABLE_GRAD_NORM = 0.5
"""Clipping norm for an unstable run whose warm-up is already long."""

OVERFIT_DROPOUT = 0.1
"""LoRA dropout an overfitting run is raised to (at least double the current one)."""

LENGTH_ROUNDING = 64
"""max_length is raised to a multiple of this (GPU kernels like multiples of 64)."""


@dataclass(frozen=True)
class Proposal:
    """One next recipe: `changes` for `Recipe.with_overrides`, why, and what should happen.

    `finding` is the kind it answers; `hint` is advice outside the recipe (data, model), and is the
    whole proposal when `changes` is empty.
    """

    changes: dict[str, Any]
    reason: str
    expected_effect: str
    finding: str = ""
    hint: str = ""


@dataclass(frozen=True)
class Cost:
    """Estimated seconds of the current recipe and of the proposed one (approximate: show "~")."""

    current_seconds: float
    proposed_seconds: float
    proposed: Any = field(default=None, repr=False)  # the proposed trainers.estimate.Estimate

    def describe(self) -> str:
        """'~4 min (now ~6 min, -33%)'."""
        change = self.proposed_seconds / self.current_seconds - 1 if self.current_seconds else 0.0
        return (
            f"~{duration_text(self.proposed_seconds)} "
            f"(now ~{duration_text(self.current_seconds)}, {change:+.0%})"
        )


def propose(
    findings: list[Finding], recipe: Recipe, *, profile: DataProfile | None = None
) -> list[Proposal]:
    """Proposals for `findings` on a run of `recipe`, most urgent first, one per finding kind.

    `profile` (the dataset's token statistics) lets a too-long-outputs finding check whether rows
    were truncated; without it that proposal is a data hint only.
    """
    by_kind = {f.kind: f for f in findings}
    unstable = INSTABILITY in by_kind
    proposals = []
    for kind, make in _RULES:
        finding = by_kind.get(kind)
        if finding is None:
            continue
        proposal = make(finding, recipe, profile, unstable)
        if proposal is not None and proposal not in proposals:
            proposals.append(proposal)
    return proposals


def apply(proposal: Proposal, recipe: Recipe) -> Recipe:
    """The proposed recipe, validated by `Recipe.with_overrides` (raises InvalidInput if not)."""
    from core.errors import InvalidInput

    if len(proposal.changes) > MAX_CHANGES:
        raise InvalidInput(
            f"A proposal changes {len(proposal.changes)} settings, more than {MAX_CHANGES}.",
            "Split it into separate runs so each change can be judged on its own.",
        )
    return recipe.with_overrides(dict(proposal.changes))


def estimate_cost(
    proposal: Proposal,
    recipe: Recipe,
    profile: DataProfile,
    shape: ModelShape | int,
    hardware: Hardware | None = None,
) -> Cost:
    """Estimated run time of the proposed recipe against the current one, on `hardware`.

    Without `hardware` the recipe's device is described (`trainers.hardware.detect_hardware`).
    """
    from trainers.estimate import estimate

    if hardware is None:
        from trainers.hardware import detect_hardware

        hardware = detect_hardware(recipe.device)
    current = estimate(recipe, profile, shape, hardware)
    proposed = estimate(apply(proposal, recipe), profile, shape, hardware)
    return Cost(current.seconds, proposed.seconds, proposed)


# --- rules: finding -> proposal -------------------------------------------------------------------

Rule = Callable[[Finding, "Recipe", "DataProfile | None", bool], "Proposal | None"]


def _instability(finding: Finding, recipe: Recipe, profile: Any, unstable: bool) -> Proposal:
    changes: dict[str, Any] = {"learning_rate": _round(recipe.learning_rate / 2)}
    if recipe.warmup_ratio < STABLE_WARMUP:
        changes["warmup_ratio"] = STABLE_WARMUP
        second = f"warm up over {STABLE_WARMUP:.0%} of the steps"
    elif recipe.max_grad_norm <= 0 or recipe.max_grad_norm > STABLE_GRAD_NORM:
        changes["max_grad_norm"] = STABLE_GRAD_NORM
        second = f"clip gradients at norm {STABLE_GRAD_NORM:g}"
    else:
        second = "keep the warm-up and clipping already in place"
    return Proposal(
        changes,
        f"Training was unstable ({finding.evidence}): halve the learning rate "
        f"({recipe.learning_rate:g} -> {changes['learning_rate']:g}) and {second}.",
        "A smooth loss curve without spikes or non-finite values; it may fall a little slower.",
        INSTABILITY,
    )


def _overfitting(finding: Finding, recipe: Recipe, profile: Any, unstable: bool) -> Proposal:
    changes, stop = _stop_at_best(finding, recipe)
    if recipe.method == "lora":
        dropout = round(max(OVERFIT_DROPOUT, 2 * recipe.lora_dropout), 3)
        changes["lora_dropout"] = dropout
        second = f"raise LoRA dropout {recipe.lora_dropout:g} -> {dropout:g}"
    else:
        lr = _round(recipe.learning_rate / 2)
        changes["learning_rate"] = lr
        second = f"halve the learning rate ({recipe.learning_rate:g} -> {lr:g})"
    return Proposal(
        changes,
        f"The model overfit ({finding.evidence}): {stop} and {second}.",
        "Eval loss ends near its best value instead of rising; shorter training also costs less.",
        OVERFITTING,
        "More (or more varied) training rows is the other cure for overfitting.",
    )


def _stop_at_best(finding: Finding, recipe: Recipe) -> tuple[dict[str, Any], str]:
    """Stop at the best eval: whole or half epochs when known (the schedule stays by epoch)."""
    if finding.best_epoch is not None and recipe.max_steps <= 0:
        epochs = max(0.5, math.ceil(finding.best_epoch * 2) / 2)
        if epochs < recipe.epochs:
            return {"epochs": epochs}, f"train {epochs:g} epoch(s) instead of {recipe.epochs:g}"
    if finding.best_step:
        return {"max_steps": finding.best_step}, f"stop at step {finding.best_step}"
    return {}, "keep the schedule"


def _underfitting(
    finding: Finding, recipe: Recipe, profile: Any, unstable: bool
) -> Proposal | None:
    ceiling = LR_CEILING.get(recipe.method, LR_CEILING["full"])
    raised = _round(min(ceiling, recipe.learning_rate * UNDERFIT_LR_RAISE))
    if recipe.method == "lora" and not unstable and raised > recipe.learning_rate:
        return Proposal(
            {"learning_rate": raised},
            f"Training had not converged ({finding.evidence}): raise the LoRA learning rate "
            f"{recipe.learning_rate:g} -> {raised:g}, which costs no extra time.",
            "Lower final training and eval loss in the same number of steps.",
            UNDERFITTING,
        )
    return _longer(finding, recipe, "Training had not converged")


def _lr_too_low(finding: Finding, recipe: Recipe, profile: Any, unstable: bool) -> Proposal | None:
    if unstable:
        return None  # a flat *and* unstable run needs stability first
    ceiling = LR_CEILING.get(recipe.method, LR_CEILING["full"])
    raised = _round(min(ceiling, recipe.learning_rate * LR_RAISE))
    if raised <= recipe.learning_rate:
        return _longer(finding, recipe, "The loss barely moved at the highest sensible rate")
    return Proposal(
        {"learning_rate": raised},
        f"The learning rate looks too low ({finding.evidence}): raise it "
        f"{recipe.learning_rate:g} -> {raised:g} ({recipe.method} stays below {ceiling:g}).",
        "Training loss falls clearly within the first epoch.",
        LR_TOO_LOW,
    )


def _longer(finding: Finding, recipe: Recipe, why: str) -> Proposal:
    if recipe.max_steps > 0:
        steps = math.ceil(recipe.max_steps * EPOCH_GROWTH)
        changes: dict[str, Any] = {"max_steps": steps}
        what = f"train {steps} steps instead of {recipe.max_steps}"
    else:
        epochs = math.ceil(recipe.epochs * EPOCH_GROWTH * 2) / 2
        changes = {"epochs": epochs}
        what = f"train {epochs:g} epochs instead of {recipe.epochs:g}"
    return Proposal(
        changes,
        f"{why} ({finding.evidence}): {what}.",
        "Lower final loss; the run takes proportionally longer.",
        finding.kind,
    )


def _too_long(finding: Finding, recipe: Recipe, profile: Any, unstable: bool) -> Proposal:
    hint = "Filter the training rows with the longest responses (or shorten them) in a new version."
    if profile is not None and profile.p95_tokens > recipe.max_length:
        length = math.ceil(profile.p95_tokens / LENGTH_ROUNDING) * LENGTH_ROUNDING
        return Proposal(
            {"max_length": length},
            f"Outputs run long ({finding.evidence}) and at least 5% of training rows "
            f"({profile.p95_tokens} tokens at the 95th percentile) are cut at max_length "
            f"{recipe.max_length}, so the model never sees where they end: raise max_length "
            f"to {length}.",
            "The model learns to stop; outputs closer to the reference length.",
            OUTPUTS_TOO_LONG,
            hint,
        )
    checked = (
        f"training rows fit max_length {recipe.max_length}, so the data teaches this length"
        if profile is not None
        else "without the dataset's profile, truncation at max_length was not checked"
    )
    return Proposal(
        {},
        f"Outputs run long: {finding.evidence}; {checked}.",
        "Outputs closer to the reference length once the data is.",
        OUTPUTS_TOO_LONG,
        hint,
    )


def _too_short(finding: Finding, recipe: Recipe, profile: Any, unstable: bool) -> Proposal:
    return Proposal(
        {},
        f"Outputs are short: {finding.evidence}.",
        "Outputs closer to the reference length.",
        OUTPUTS_TOO_SHORT,
        "Check that training responses are as long as the answers you want, and that "
        "generation's max_new_tokens does not cut them.",
    )


def _format(finding: Finding, recipe: Recipe, profile: Any, unstable: bool) -> Proposal:
    return Proposal(
        {},
        f"Format failures: {finding.evidence}.",
        "A higher format pass rate.",
        FORMAT_FAILURES,
        "Drop or fix training rows whose responses fail the same format check, and put the "
        "format rules in the system prompt of every row.",
    )


def _no_gain(finding: Finding, recipe: Recipe, profile: Any, unstable: bool) -> Proposal:
    hint = "More or better training rows, or a larger base model, are the likelier fixes."
    if recipe.method == "lora":
        rank, alpha = recipe.lora_r * 2, recipe.lora_alpha * 2
        return Proposal(
            {"lora_r": rank, "lora_alpha": alpha},
            f"{_capital(finding.evidence)}: double the adapter's capacity "
            f"(rank {recipe.lora_r} -> {rank}, alpha {recipe.lora_alpha} -> {alpha}, same scale).",
            "A measurable gain if capacity was the limit; if not, the data is.",
            NO_GAIN,
            hint,
        )
    return Proposal(
        {},
        f"{_capital(finding.evidence)}; full fine-tuning already trains every weight.",
        "A measurable gain once the data or model changes.",
        NO_GAIN,
        hint,
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _round(value: float) -> float:
    """A learning rate to 2 significant digits (3e-4, not 0.00030000000000000003)."""
    return float(f"{value:.2g}")


_RULES: list[tuple[str, Rule]] = [
    (INSTABILITY, _instability),
    (OVERFITTING, _overfitting),
    (UNDERFITTING, _underfitting),
    (LR_TOO_LOW, _lr_too_low),
    (OUTPUTS_TOO_LONG, _too_long),
    (OUTPUTS_TOO_SHORT, _too_short),
    (FORMAT_FAILURES, _format),
    (NO_GAIN, _no_gain),
]
