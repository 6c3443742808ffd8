"""Recipe -> `trl.SFTConfig` + `peft.LoraConfig`: the one place that speaks TRL's argument names.

TRL and transformers rename and re-default arguments between releases (TRL 1.16: `max_length`, not
`max_seq_length`; `activation_checkpointing`, not `gradient_checkpointing`; bf16 on by default,
which fails on CPU; `warmup_steps` takes the ratio). Everything outside this module speaks recipe
fields, so a TRL upgrade is fixed here and checked by a test that builds the configs with warnings
turned into errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput
from trainers.recipe import Recipe

if TYPE_CHECKING:
    from peft import LoraConfig
    from trl import SFTConfig

LOSSES = ("assistant_only", "completion_only", "full")
PRECISIONS = ("bf16", "fp32")
METHODS = ("lora", "full")


def model_init_kwargs(recipe: Recipe) -> dict[str, Any]:
    """Keyword arguments for `from_pretrained` of the base model.

    bf16 runs load the weights in bf16 (half the memory; TRL's own examples do the same, and LoRA
    adapters stay fp32 inside PEFT); fp32 runs load fp32. The dtype is a string so the dict can be
    stored in YAML and passed to TRL's `model_init_kwargs` as it is.
    """
    return {
        "dtype": "bfloat16" if recipe.precision == "bf16" else "float32",
        "attn_implementation": recipe.attn_implementation,
    }


def build_configs(
    recipe: Recipe, output_dir: Path, *, has_eval: bool = True
) -> tuple[SFTConfig, LoraConfig | None]:
    """The TRL and PEFT configs for `recipe`, writing checkpoints under `output_dir`.

    `has_eval=False` (the dataset has no eval rows) turns evaluation off; otherwise eval_steps and
    save_steps of 0 mean once per epoch. The LoRA config is None for full fine-tuning.
    """
    check_values(recipe)
    from trl import SFTConfig

    eval_strategy, eval_steps = _interval(recipe.eval_steps) if has_eval else ("no", None)
    save_strategy, save_steps = _interval(recipe.save_steps)
    config = SFTConfig(
        output_dir=str(output_dir),
        # schedule
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler,
        warmup_steps=recipe.warmup_ratio,  # < 1 is read as a share of the steps
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm,
        seed=recipe.seed,
        data_seed=recipe.seed,
        # batches
        per_device_train_batch_size=recipe.batch_size,
        per_device_eval_batch_size=recipe.batch_size,
        gradient_accumulation_steps=recipe.grad_accum,
        max_length=recipe.max_length,
        packing=recipe.packing,
        assistant_only_loss=recipe.loss == "assistant_only",
        completion_only_loss=recipe.loss == "completion_only",
        # hardware and speed
        use_cpu=recipe.device == "cpu",
        bf16=recipe.precision == "bf16",
        fp16=False,
        activation_checkpointing=recipe.activation_checkpointing,
        use_liger_kernel=recipe.use_liger,
        model_init_kwargs=model_init_kwargs(recipe),
        # bookkeeping
        eval_strategy=eval_strategy,
        eval_steps=eval_steps,
        save_strategy=save_strategy,
        save_steps=save_steps,
        save_total_limit=recipe.save_total_limit,
        logging_strategy="steps",
        logging_steps=recipe.logging_steps,
        logging_first_step=True,
        report_to="none",
        disable_tqdm=True,
    )
    return config, _lora_config(recipe)


def _interval(steps: int) -> tuple[str, int | None]:
    return ("epoch", None) if steps <= 0 else ("steps", steps)


def _lora_config(recipe: Recipe) -> LoraConfig | None:
    if recipe.method != "lora":
        return None
    from peft import LoraConfig

    targets = list(recipe.lora_target_modules)
    return LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules="all-linear" if targets == ["all-linear"] else targets,
        bias="none",
        task_type="CAUSAL_LM",
    )


def check_values(recipe: Recipe) -> None:
    """Refuse values TRL would only reject later, or silently misread (InvalidInput)."""
    for key, allowed in (("method", METHODS), ("loss", LOSSES), ("precision", PRECISIONS)):
        value = getattr(recipe, key)
        if value not in allowed:
            raise InvalidInput(
                f"{key}={value!r} is not valid.", f"Use one of: {', '.join(allowed)}."
            )
    if not 0 <= recipe.warmup_ratio < 1:
        raise InvalidInput(
            f"warmup_ratio={recipe.warmup_ratio} is not a share of the steps.",
            "Use a value from 0 to below 1, e.g. 0.03.",
        )
    if recipe.method == "lora" and not recipe.lora_target_modules:
        raise InvalidInput(
            "lora_target_modules is empty: the adapter would train nothing.",
            "Use all-linear, or name modules, e.g. q_proj,v_proj.",
        )
