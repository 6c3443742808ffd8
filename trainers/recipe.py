"""The training recipe: every knob of a run in one dataclass, each field with its help text.

One source for the CLI (`--set key=value`), the shipped YAML recipes, the docs and the agent.
`trainers.defaults` fills a recipe from the model, the data and the hardware and records one
line of reason per choice in `reasons`; `trainers.config_map` turns it into `trl.SFTConfig` and
`peft.LoraConfig`. The recipe is what a run's folder stores as `recipe.yaml`.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.errors import InvalidInput


def _help(text: str, default: Any = None, **kwargs: Any) -> Any:
    if "default_factory" in kwargs:
        return field(metadata={"help": text}, **kwargs)
    return field(default=default, metadata={"help": text})


@dataclass
class Recipe:
    # what to train
    base_model: str = _help("Model ref to fine-tune (builtin:, hf:<folder>).", "")
    dataset: str = _help("Dataset version to train on, NAME@vN (its train split).", "")
    method: str = _help("lora (small adapter, default) or full (every weight).", "lora")
    # schedule
    epochs: float = _help("Passes over the training rows.", 3.0)
    max_steps: int = _help("Stop after this many optimizer steps (-1: run all epochs).", -1)
    learning_rate: float = _help("Peak learning rate.", 2e-4)
    lr_scheduler: str = _help("Learning-rate schedule: cosine, linear, constant.", "cosine")
    warmup_ratio: float = _help("Share of steps spent warming the learning rate up.", 0.03)
    weight_decay: float = _help("AdamW weight decay.", 0.0)
    max_grad_norm: float = _help("Gradient clipping norm.", 1.0)
    seed: int = _help("Random seed of the run.", 42)
    # batches
    batch_size: int = _help("Sequences per device per step.", 4)
    grad_accum: int = _help("Steps accumulated per optimizer update.", 1)
    max_length: int = _help("Longest sequence in tokens; longer rows are truncated.", 1024)
    packing: bool = _help("Pack several rows into one sequence (without cross-attention).", False)
    loss: str = _help(
        "assistant_only (chat rows), completion_only (prompt/completion), full.", "assistant_only"
    )
    # LoRA
    lora_r: int = _help("LoRA rank.", 16)
    lora_alpha: int = _help("LoRA alpha (scale = alpha / r).", 32)
    lora_dropout: float = _help("LoRA dropout.", 0.05)
    lora_target_modules: list[str] = _help(
        "Modules that get adapters; 'all-linear' for every linear layer.",
        default_factory=lambda: ["all-linear"],
    )
    # hardware and speed
    device: str = _help("cpu, cuda or cuda:N.", "cpu")
    precision: str = _help("bf16 (GPUs that support it) or fp32.", "fp32")
    activation_checkpointing: bool = _help("Recompute activations to save memory (slower).", False)
    attn_implementation: str = _help("sdpa, flash_attention_2, flex_attention or eager.", "sdpa")
    use_liger: bool = _help("Use Liger fused kernels when installed.", False)
    # bookkeeping
    eval_steps: int = _help("Evaluate on the eval split every N steps (0: once per epoch).", 0)
    save_steps: int = _help("Save a checkpoint every N steps (0: once per epoch).", 0)
    logging_steps: int = _help("Log metrics every N steps.", 1)
    save_total_limit: int = _help("Checkpoints kept on disk.", 2)
    reasons: dict[str, str] = _help(
        "Why each default was chosen (filled by trainers.defaults).", default_factory=dict
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Build a recipe from plain data, refusing unknown keys with the closest valid ones."""
        check_keys(data)
        return cls(**data)

    def with_overrides(self, overrides: dict[str, Any]) -> Recipe:
        """A copy with `overrides` applied (validated); the reason of each becomes 'set by you'."""
        check_keys(overrides)
        data = self.to_dict()
        for key, value in overrides.items():
            data[key] = coerce(key, value)
            data["reasons"][key] = "set by you"
        return Recipe(**data)


def field_help() -> dict[str, str]:
    """Field name -> help text, for `--help`, YAML comments and docs."""
    return {f.name: f.metadata.get("help", "") for f in fields(Recipe)}


def check_keys(data: dict[str, Any]) -> None:
    known = list(field_help())
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
            hint = f"Did you mean {' or '.join(close)}?" if close else ""
            raise InvalidInput(
                f"{key!r} is not a recipe setting.",
                f"{hint} `tunesmith train --help-recipe` lists them all.".strip(),
            )


def coerce(key: str, value: Any) -> Any:
    """Turn a `--set key=value` string into the field's type, or explain why it cannot."""
    current = getattr(Recipe(), key)
    if not isinstance(value, str):
        return value
    try:
        if isinstance(current, bool):
            lowered = value.strip().lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
                raise ValueError(value)
            return lowered in {"true", "1", "yes", "on"}
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, list):
            return [part.strip() for part in value.split(",") if part.strip()]
    except ValueError:
        kind = type(current).__name__
        raise InvalidInput(
            f"{key}={value!r} is not a valid {kind}.", f"Give {key} a {kind}, e.g. {current!r}."
        ) from None
    return value
