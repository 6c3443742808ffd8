"""The speed plan: which attention kernel, packing, Liger, checkpointing and compile a run uses.

Packing is the big win on mixed-length chat data (the H100 baseline in DESIGN.md doubled
tokens/s with it), but only where packed examples stay apart and the cost stays linear. How it
works in TRL 1.16 + transformers 5.x (read from their source, checked by tests):

- TRL's "bfd" packing turns padding-free on: a batch is flattened into one row whose
  `position_ids` restart at 0 for each example, with `cu_seq_lens_*` alongside and no
  `attention_mask`; its `compute_loss` passes `use_cache=False`.
- flash_attention_2 reads `cu_seq_lens` and runs its varlen kernel: attention per example, exact,
  no wasted work.
- With no attention mask and no cache, transformers' `create_causal_mask` derives a block-diagonal
  mask from the restarting `position_ids`. Under flex attention that mask becomes a `BlockMask`, so
  blocks across examples are skipped. Under sdpa it is a dense (tokens x tokens) mask over the
  whole flattened batch: examples stay apart, but cost and memory grow with the square of the
  tokens per step (the baseline's packed batches of 16 ran out of 80 GB this way). So sdpa gets no
  packing here.

Liger's kernels are Triton (CUDA only). Checkpointing is left off and decided by the memory
estimate in `trainers.defaults`. torch.compile is left off: packed batches change shape every step.

Importing this module imports no torch: the probes look at installed packages only, so
`tunesmith train --help` and the defaults stay fast. Whether a kernel then loads is for
transformers to check when the model is built, and it says so precisely when one does not.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass, field

from trainers.estimate import count_text

FLEX_MIN_TORCH = (2, 5)  # transformers' own floor for attn_implementation="flex_attention"


@dataclass
class SpeedPlan:
    """How a run goes fast; `reasons` holds one line per field, keyed by the field's name."""

    attn_implementation: str
    packing: bool
    padding_free: bool
    use_liger: bool
    activation_checkpointing: bool
    compile: bool
    reasons: dict[str, str] = field(default_factory=dict)


def flash_attn_available() -> bool:
    """Whether the flash-attn package (FlashAttention 2, varlen kernel) is installed."""
    return importlib.util.find_spec("flash_attn") is not None


def liger_available() -> bool:
    """Whether liger-kernel (fused Triton kernels for RMSNorm, SwiGLU, RoPE) is installed."""
    return importlib.util.find_spec("liger_kernel") is not None


def flex_attention_available(device: str) -> bool:
    """Whether flex attention can run: a CUDA device and torch >= 2.5 (read without importing it).

    Not on CPU: FlexAttention has no backward there (torch 2.13 raises NotImplementedError), so
    it cannot train.
    """
    if not device.startswith("cuda"):
        return False
    version = _torch_version()
    return version is not None and version >= FLEX_MIN_TORCH


def _torch_version() -> tuple[int, int] | None:
    try:
        text = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def speed_plan(device: str, params: int, max_length: int, memory_gib: float | None) -> SpeedPlan:
    """The fastest safe settings for a run of a `params`-parameter model on `device`.

    `params`, `max_length` and `memory_gib` only shape the explanations: the memory decision
    (checkpointing, batch size) belongs to the estimate in `trainers.defaults`, which sees the
    data as well.
    """
    cuda = device.startswith("cuda")
    attn, varlen, attn_why = _attention(device)
    reasons = {"attn_implementation": attn_why}
    if varlen:
        reasons["packing"] = (
            f"on: {attn} attends within each packed example only, so rows of different "
            f"lengths share {max_length}-token sequences instead of padding"
        )
        reasons["padding_free"] = (
            "on: each batch is flattened into one row with per-example position ids, so no "
            "padding is computed (TRL turns it on with bfd packing anyway)"
        )
    else:
        reasons["packing"] = (
            f"off on {device}: no varlen attention here; sdpa would keep packed examples apart "
            "only through a dense mask over the whole batch, quadratic in tokens per step"
        )
        reasons["padding_free"] = "off: it needs the varlen attention that packing would use"
    use_liger = cuda and liger_available()
    if use_liger:
        reasons["use_liger"] = "on: liger-kernel is installed; fused RMSNorm, SwiGLU and RoPE"
    elif cuda:
        reasons["use_liger"] = "off: liger-kernel is not installed (pip install liger-kernel)"
    else:
        reasons["use_liger"] = f"off on {device}: Liger's kernels are Triton, CUDA only"
    memory = f"{memory_gib:.0f} GiB" if memory_gib else "the device's memory"
    reasons["activation_checkpointing"] = (
        "off: recomputing activations costs ~1/3 more compute; the memory estimate turns it on "
        f"only if {count_text(params)} parameters at {max_length} tokens do not fit in {memory}"
    )
    reasons["compile"] = (
        "off: packed and padded batches change shape every step, and torch.compile pays off "
        "only with fixed shapes (recompiles otherwise)"
    )
    return SpeedPlan(
        attn_implementation=attn,
        packing=varlen,
        padding_free=varlen,
        use_liger=use_liger,
        activation_checkpointing=False,
        compile=False,
        reasons=reasons,
    )


def _attention(device: str) -> tuple[str, bool, str]:
    """(attn_implementation, whether it has a varlen path for packing, why)."""
    if not device.startswith("cuda"):
        return "sdpa", False, f"sdpa: PyTorch's fused attention, the fastest kernel on {device}"
    if flash_attn_available():
        return "flash_attention_2", True, "flash_attention_2: installed; its varlen kernel packs"
    if flex_attention_available(device):
        return (
            "flex_attention",
            True,
            (
                "flex_attention: flash-attn is not installed; flex skips the blocks between packed "
                "examples (the first steps compile it)"
            ),
        )
    return "sdpa", False, "sdpa: neither flash-attn nor flex attention (torch >= 2.5) is here"
