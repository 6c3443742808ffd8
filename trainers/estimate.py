"""Peak memory, tokens, steps and time of a run, before it starts: estimates, shown with "~".

These are arithmetic on the model's shape, not measurements, so people can decide before they wait
(and so defaults can pick a batch size that fits). They are meant to be right within a factor of
~1.5, and to err towards "needs more":

memory  weights + gradients + AdamW's two moments, all in the weight dtype (full fine-tuning), or
        the frozen weights plus fp32 adapter weights, gradients and moments (LoRA; PEFT keeps
        adapters in fp32), plus activations: (14 * hidden + 6 * intermediate) values per token per
        layer for a micro-batch padded to max_length, calibrated against the H100 measurements in
        DESIGN.md (Qwen2.5-0.5B shape: ~94 KB per token per layer in bf16). Activation checkpointing
        keeps one hidden vector per token per layer and recomputes one layer at a time. Logits are
        left out: TRL 1.16 computes the loss in chunks without materialising them. Then +10% for
        allocator fragmentation and a fixed runtime overhead (CUDA context, Python, torch).
time    6 * N FLOPs per token for full fine-tuning, 4 * N for LoRA (no weight gradients for the
        frozen base), +2 * N when checkpointing recomputes the forward pass, over an assumed
        sustained throughput: the card's dense bf16 peak (fp32 at 1/15 of it) at 15% model FLOPs
        utilisation (DESIGN.md measured 2.6-9.7% for TRL, and 15% is issue 4's target), or a CPU at
        0.08 TFLOP/s fp32 peak per core (a 1024^2 matmul on one EPYC core) at 10%: SmolLM2-135M
        fully fine-tuned with TRL on 2 busy EPYC cores ran at ~9 GFLOP/s (6N), small matmuls and
        a 49k-token vocabulary being far from peak. Padding counts as work: a batch of several
        rows is padded to about the data's 95th-percentile length.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainers.hardware import Hardware
    from trainers.profile import DataProfile
    from trainers.recipe import Recipe

GIB = 2**30
ACT_HIDDEN_FACTOR = 14  # activation values per token per layer, per hidden unit
ACT_INTERMEDIATE_FACTOR = 6  # ... per MLP intermediate unit (SwiGLU keeps gate, up, act, product)
FRAGMENTATION = 1.10
RUNTIME_OVERHEAD_GIB = {"cuda": 1.0, "cpu": 0.5}
USABLE_MEMORY = {"cuda": 0.95, "cpu": 0.80}  # a CPU run shares the host with everything else
ADAPTER_BYTES_PER_PARAM = 16  # fp32 weight + gradient + two AdamW moments
GPU_MFU = 0.15
CPU_MFU = 0.10
CPU_PEAK_TFLOPS_PER_CORE = 0.08
GPU_FP32_SLOWDOWN = 15.0
UNKNOWN_GPU_TFLOPS = 100.0
GPU_PEAK_TFLOPS = (  # dense bf16 peak by a substring of the card's name; first match wins
    ("H200", 989.0),
    ("H100", 989.0),
    ("GH200", 989.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40", 181.0),
    ("A6000", 155.0),
    ("A10", 125.0),
    ("L4", 121.0),
    ("4090", 165.0),
    ("3090", 71.0),
    ("V100", 125.0),
    ("T4", 65.0),
)
STARTUP_SECONDS = 15.0  # process start, imports, model and data loading


@dataclass(frozen=True)
class ModelShape:
    """What the estimate needs to know about a model, read from its config (no weights loaded).

    `linear_layers` maps a linear module's name (q_proj, down_proj...) to (in, out, how many), for
    counting LoRA parameters; the output head is not in it (PEFT's all-linear skips it too).
    """

    params: int
    hidden: int
    layers: int
    intermediate: int
    vocab: int
    max_positions: int | None = None
    linear_layers: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @classmethod
    def approximate(cls, params: int) -> ModelShape:
        """A Llama-like shape for a bare parameter count: 24 layers of 12 * hidden^2 each."""
        layers = 24
        hidden = max(64, int(math.sqrt(params / (12 * layers))))
        inter = 8 * hidden // 3
        linear = {name: (hidden, hidden, layers) for name in ("q_proj", "k_proj", "v_proj")}
        linear |= {"o_proj": (hidden, hidden, layers), "down_proj": (inter, hidden, layers)}
        linear |= {name: (hidden, inter, layers) for name in ("gate_proj", "up_proj")}
        return cls(params, hidden, layers, inter, 32000, None, linear)

    def lora_params(self, rank: int, targets: list[str]) -> int:
        """Adapter parameters for LoRA rank `rank` on `targets` (module names or "all-linear")."""
        everything = "all-linear" in targets
        return sum(
            rank * (fan_in + fan_out) * count
            for name, (fan_in, fan_out, count) in self.linear_layers.items()
            if everything or name in targets
        )


@dataclass
class Estimate:
    """The estimate of one run on one device; every number is approximate (show it with "~")."""

    params: int
    trainable_params: int
    peak_memory_gib: float
    tokens: int
    steps: int
    seconds: float
    fits: bool
    advice: str

    def describe(self) -> str:
        """One line for people: '~3.1 GiB peak, ~120k tokens in 40 steps, ~6 min'."""
        return (
            f"~{self.peak_memory_gib:.1f} GiB peak, ~{count_text(self.tokens)} tokens in "
            f"{self.steps} steps, ~{duration_text(self.seconds)}; "
            f"{count_text(self.trainable_params)} of {count_text(self.params)} parameters trained"
        )


def estimate(
    recipe: Recipe, profile: DataProfile, params: ModelShape | int, hardware: Hardware
) -> Estimate:
    """Estimate memory, tokens, steps and time of `recipe` on `hardware`, and whether it fits.

    `params` is the model's shape (`trainers.model_info.model_shape`) or just its parameter count,
    for which a Llama-like shape is assumed. When it does not fit, `advice` names the changes that
    would (each checked with this same estimate), most useful first.
    """
    shape = params if isinstance(params, ModelShape) else ModelShape.approximate(int(params))
    peak = peak_memory_gib(recipe, shape, hardware.device)
    fits = _fits(peak, hardware)
    tokens, steps = _tokens_and_steps(recipe, profile)
    seconds = STARTUP_SECONDS + _flops(recipe, profile, shape, tokens) / _throughput(
        recipe, hardware
    )
    if hardware.memory_gib is None:
        advice = "The device's memory is unknown, so whether this fits was not checked."
    elif fits:
        advice = f"Fits: ~{peak:.1f} of {hardware.memory_gib:.1f} GiB."
    else:
        advice = _advice(recipe, shape, hardware, peak)
    return Estimate(
        params=shape.params,
        trainable_params=_trainable(recipe, shape),
        peak_memory_gib=peak,
        tokens=tokens,
        steps=steps,
        seconds=seconds,
        fits=fits,
        advice=advice,
    )


def peak_memory_gib(recipe: Recipe, shape: ModelShape, device: str = "cuda") -> float:
    """Peak training memory in GiB of `recipe` on one `device` of the kind given."""
    value_bytes = 2 if recipe.precision == "bf16" else 4
    if recipe.method == "full":
        states = shape.params * 4 * value_bytes  # weights, gradients, two AdamW moments
    else:
        states = shape.params * value_bytes + _trainable(recipe, shape) * ADAPTER_BYTES_PER_PARAM
    tokens = recipe.batch_size * recipe.max_length
    per_layer = ACT_HIDDEN_FACTOR * shape.hidden + ACT_INTERMEDIATE_FACTOR * shape.intermediate
    if recipe.activation_checkpointing:
        values = tokens * (shape.layers * shape.hidden + per_layer)
    else:
        values = tokens * shape.layers * per_layer
    total = (states + values * value_bytes) * FRAGMENTATION
    return total / GIB + RUNTIME_OVERHEAD_GIB.get(device, 1.0)


def _fits(peak: float, hardware: Hardware) -> bool:
    if hardware.memory_gib is None:
        return True
    return peak <= hardware.memory_gib * USABLE_MEMORY.get(hardware.device, 0.9)


def _trainable(recipe: Recipe, shape: ModelShape) -> int:
    if recipe.method == "full":
        return shape.params
    return shape.lora_params(recipe.lora_r, list(recipe.lora_target_modules))


def steps_per_epoch(recipe: Recipe, profile: DataProfile) -> int:
    """Optimizer steps in one epoch: rows (or packed sequences) over rows per step."""
    sequences = (
        math.ceil(_epoch_tokens(recipe, profile) / recipe.max_length)
        if recipe.packing
        else profile.train_rows
    )
    return max(1, math.ceil(sequences / max(1, recipe.batch_size * recipe.grad_accum)))


def _epoch_tokens(recipe: Recipe, profile: DataProfile) -> int:
    """Tokens one epoch trains on, rows cut at max_length (an upper bound on the cut)."""
    return min(profile.total_tokens, profile.train_rows * recipe.max_length)


def _tokens_and_steps(recipe: Recipe, profile: DataProfile) -> tuple[int, int]:
    """Tokens the run trains on and its optimizer steps (max_steps, when set, cuts both)."""
    steps = max(1, math.ceil(steps_per_epoch(recipe, profile) * recipe.epochs))
    tokens = int(_epoch_tokens(recipe, profile) * recipe.epochs)
    if recipe.max_steps > 0 and recipe.max_steps < steps:
        tokens = int(tokens * recipe.max_steps / steps)
        steps = recipe.max_steps
    return tokens, steps


def _flops(recipe: Recipe, profile: DataProfile, shape: ModelShape, tokens: int) -> float:
    per_token = 6 if recipe.method == "full" else 4
    if recipe.activation_checkpointing:
        per_token += 2
    return tokens * _padding_factor(recipe, profile) * per_token * shape.params


def _padding_factor(recipe: Recipe, profile: DataProfile) -> float:
    """Computed tokens per real token: unpacked batches pad each row to about the p95 length."""
    if recipe.packing or recipe.batch_size <= 1 or not profile.train_rows:
        return 1.0
    mean = profile.total_tokens / profile.train_rows
    padded = min(recipe.max_length, profile.p95_tokens)
    return max(1.0, padded / max(mean, 1.0))


def _throughput(recipe: Recipe, hardware: Hardware) -> float:
    """Sustained FLOP/s assumed for one device."""
    if hardware.device == "cpu":
        return CPU_PEAK_TFLOPS_PER_CORE * hardware.count * CPU_MFU * 1e12
    name = hardware.name.upper()
    peak = next((t for key, t in GPU_PEAK_TFLOPS if key in name), UNKNOWN_GPU_TFLOPS)
    if recipe.precision != "bf16":
        peak /= GPU_FP32_SLOWDOWN
    return peak * GPU_MFU * 1e12


def _advice(recipe: Recipe, shape: ModelShape, hardware: Hardware, peak: float) -> str:
    """The smallest sets of changes that make the run fit: single changes first, then pairs."""
    lead = f"Needs ~{peak:.1f} GiB; {hardware.describe()} has {hardware.memory_gib or 0:.1f} GiB."
    accum = recipe.batch_size * recipe.grad_accum
    changes = [
        (text, flags, edit)
        for applies, text, flags, edit in (
            (
                recipe.method == "full",
                "LoRA instead of full fine-tuning",
                "--method lora",
                {"method": "lora"},
            ),
            (
                not recipe.activation_checkpointing,
                "activation checkpointing",
                "--set activation_checkpointing=true",
                {"activation_checkpointing": True},
            ),
            (
                recipe.batch_size > 1,
                f"batch 1 with gradient accumulation {accum}",
                f"--set batch_size=1 --set grad_accum={accum}",
                {"batch_size": 1, "grad_accum": accum},
            ),
        )
        if applies
    ]
    shorter = _largest_fitting_length(recipe, shape, hardware)
    for size in range(1, len(changes) + 1):
        fitting = []
        for combo in itertools.combinations(changes, size):
            edits = {key: value for _, _, edit in combo for key, value in edit.items()}
            need = peak_memory_gib(replace(recipe, **edits), shape, hardware.device)
            if _fits(need, hardware):
                text = " + ".join(t for t, _, _ in combo)
                flags = " ".join(f for _, f, _ in combo)
                fitting.append(f"{text} ({flags}), ~{need:.1f} GiB")
        if size == 1 and shorter:
            fitting.append(
                f"max_length {shorter} (--set max_length={shorter}; longer rows are truncated)"
            )
        if fitting:
            return f"{lead} Would fit with: " + "; or ".join(fitting) + "."
    return (
        f"{lead} Even LoRA with checkpointing and batch 1 does not fit: use a smaller base model "
        "or a device with more memory."
    )


def _largest_fitting_length(recipe: Recipe, shape: ModelShape, hardware: Hardware) -> int | None:
    """The longest max_length (a multiple of 64, below the current one) that fits, if any."""
    length = (recipe.max_length - 1) // 64 * 64
    while length >= 64:
        shorter = replace(recipe, max_length=length)
        if _fits(peak_memory_gib(shorter, shape, hardware.device), hardware):
            return length
        length -= 64
    return None


def count_text(n: float) -> str:
    """A count for people: 134515008 -> '135M', 4800 -> '4.8k'."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


def duration_text(seconds: float) -> str:
    """A duration in the unit people read estimates in: "45 s", "12 min", "2.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
