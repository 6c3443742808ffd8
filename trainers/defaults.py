"""Default recipes: every setting chosen from the model, the data and the hardware, with a reason.

    recipe, profile = default_recipe("builtin:smollm2-135m-instruct", "faq@v2")
    recipe = recipe.with_overrides({"epochs": "2"})          # the person's --set, validated
    hardware = detect_hardware(recipe.device)
    est = estimate(recipe, profile, model_shape(recipe.base_model), hardware)
    check_trainable(recipe, profile, hardware, est)            # refuses with what to change

Each rule is a small function returning a value and one line of why, so `tunesmith train` can show
the recipe as a table people can argue with. The rules, in the order they depend on each other:
method (LoRA unless the model is tiny), precision (bf16 where the hardware has it), max_length
(the data's 95th percentile), the speed plan (attention kernel, packing: trainers.acceleration),
loss (by row format), batch size / accumulation / checkpointing (a token target per optimizer step,
within memory by trainers.estimate), then the schedule (epochs, learning rate, eval and saves).

Importing this module is cheap: torch, transformers and TRL load when a recipe is made.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from core.errors import InvalidInput
from core.models.refs import parse_ref
from core.settings import Settings, get_settings
from trainers.estimate import (
    Estimate,
    ModelShape,
    count_text,
    estimate,
    peak_memory_gib,
    steps_per_epoch,
)
from trainers.hardware import Hardware, detect_hardware
from trainers.model_info import load_tokenizer, model_source, shape_of
from trainers.profile import DataProfile, profile_dataset
from trainers.recipe import Recipe

FULL_BELOW_PARAMS = 200_000_000
MIN_TRAIN_ROWS = 8
LENGTH_MULTIPLE = 64
PACKED_LENGTH = 2048  # tokens per packed sequence: DESIGN.md's measured configuration
CHEAP_COVERAGE = 1.25  # cover every row when the longest costs at most 25% more than p95
TARGET_TOKENS_PER_STEP = {"cuda": 32_768, "cpu": 8_192}
MAX_MICRO_BATCH = {"cuda": 64, "cpu": 8}
MIN_STEPS_PER_EPOCH = 10
LONG_EPOCH_STEPS = 200
CHECKPOINT_EVERY = 100
LORA_LEARNING_RATE = 2e-4


# -- the recipe ----------------------------------------------------------------------------------


Choice = tuple[Any, str]


def default_recipe(
    base_model: str,
    dataset: str,
    *,
    method: str | None = None,
    hardware: Hardware | None = None,
    settings: Settings | None = None,
    store: Any = None,
) -> tuple[Recipe, DataProfile]:
    """A recipe for training `base_model` on `dataset`, each field with one line of reason.

    Reads the dataset version and the model's config and tokenizer (no weights). `method` forces
    lora or full; otherwise it is chosen by size. Raises NotFound for a missing dataset and
    ModelUnavailable for a model that cannot be loaded.
    """
    settings = settings or get_settings()
    if store is None:
        from core.workspace import Workspace
        from tools.datasets.store import DatasetStore

        store = DatasetStore(Workspace.from_settings(settings))
    if method is not None and method not in ("lora", "full"):
        raise InvalidInput(f"Unknown method {method!r}.", "Use --method lora or --method full.")
    info, rows = store.read(dataset)
    ref = parse_ref(base_model)
    source = model_source(ref, settings)
    shape = shape_of(source)
    tokenizer = load_tokenizer(source)
    profile = profile_dataset(rows, tokenizer=tokenizer)
    hardware = hardware or detect_hardware(settings.device)

    chosen: dict[str, Choice] = {
        "base_model": (
            ref.canonical,
            f"the model asked for ({count_text(shape.params)} parameters)",
        ),
        "dataset": (
            f"{info.dataset}@v{info.version}",
            f"{profile.train_rows} train and {profile.eval_rows} eval rows "
            f"({profile.row_format} format)",
        ),
        "device": (hardware.device, f"found {hardware.describe()}"),
        "precision": _precision(hardware),
    }
    chosen["method"] = (method, "set by you") if method else _method(shape)
    chosen["max_length"] = _max_length(profile, shape)
    chosen |= _speed(hardware, shape, chosen["max_length"][0])
    if chosen["packing"][0]:
        chosen["max_length"] = _packed_length(profile, shape, chosen["max_length"])
    chosen["loss"] = _loss(profile.row_format, tokenizer)
    chosen |= _lora(shape, chosen["method"][0])
    chosen |= _schedule(profile, shape, chosen["method"][0])
    recipe = _assemble(chosen)
    recipe = _fit_batches(recipe, profile, shape, hardware, method_forced=method is not None)
    recipe = _bookkeeping(recipe, profile)
    return recipe, profile


def _assemble(chosen: dict[str, Choice]) -> Recipe:
    known = {f for f in Recipe.__dataclass_fields__ if f != "reasons"}
    values = {k: v for k, (v, _) in chosen.items() if k in known}
    reasons = {k: why for k, (_, why) in chosen.items() if k in known}
    return Recipe(**values, reasons=reasons)


def _method(shape: ModelShape) -> Choice:
    size, limit = count_text(shape.params), count_text(FULL_BELOW_PARAMS)
    if shape.params < FULL_BELOW_PARAMS:
        return "full", (
            f"full fine-tuning: at {size} parameters (< {limit}) every weight fits in memory "
            "easily, and tiny models gain more from full tuning than from a low-rank adapter"
        )
    return "lora", (
        f"LoRA: at {size} parameters (>= {limit}) a small adapter trains in a fraction of the "
        "memory of full fine-tuning and keeps the base model's skills"
    )


def _precision(hardware: Hardware) -> Choice:
    if hardware.bf16:
        return "bf16", f"bf16: {hardware.name} supports it; half the memory, several times faster"
    if hardware.device == "cpu":
        return "fp32", "fp32: CPUs train in fp32 (bf16 on a CPU is slow where it works at all)"
    return "fp32", f"fp32: {hardware.name} has no bf16 support"


def _max_length(profile: DataProfile, shape: ModelShape) -> Choice:
    p95, longest = _round_up(profile.p95_tokens), _round_up(profile.max_tokens)
    stats = f"p95 {profile.p95_tokens} tokens, longest {profile.max_tokens}"
    rounded = f"rounded up to a multiple of {LENGTH_MULTIPLE}"
    if longest <= p95 * CHEAP_COVERAGE:
        value = longest
        why = f"covers every row ({stats}; little more than p95), {rounded}"
    else:
        value = p95
        why = f"covers 95% of rows ({stats}), {rounded}; longer rows are cut"
    if shape.max_positions and value > shape.max_positions:
        value = shape.max_positions
        why += f"; capped at the model's {shape.max_positions} positions"
    return value, why


def _packed_length(profile: DataProfile, shape: ModelShape, by_data: Choice) -> Choice:
    """Packed sequences hold several rows, so they are longer than any one row needs."""
    length = min(PACKED_LENGTH, shape.max_positions or PACKED_LENGTH)
    if length <= by_data[0]:
        return by_data
    return length, (
        f"{length} tokens per packed sequence: several rows share one (p95 {profile.p95_tokens} "
        f"tokens, longest {profile.max_tokens}); only rows longer than {length} are cut"
    )


def _round_up(tokens: int) -> int:
    return max(LENGTH_MULTIPLE, math.ceil(tokens / LENGTH_MULTIPLE) * LENGTH_MULTIPLE)


def _speed(hardware: Hardware, shape: ModelShape, max_length: int) -> dict[str, Choice]:
    from trainers.acceleration import speed_plan

    plan = speed_plan(hardware.device, shape.params, max_length, hardware.memory_gib)
    reasons = dict(plan.reasons)
    packing_why = reasons.get("packing") or (
        "packing on: varlen attention keeps packed rows from attending to each other"
        if plan.packing
        else "packing off: no varlen attention here, packed rows would attend to each other"
    )
    return {
        "attn_implementation": (
            plan.attn_implementation,
            reasons.get("attn_implementation", f"{plan.attn_implementation} attention"),
        ),
        "packing": (plan.packing, packing_why),
        "use_liger": (plan.use_liger, reasons.get("use_liger", "Liger kernels")),
    }


def _loss(row_format: str, tokenizer: Any) -> Choice:
    if row_format == "completion":
        return "completion_only", "completion_only: learn the completions, not the prompts"
    if row_format == "text":
        return "full", "full: plain text rows have no prompt to leave out"
    from trainers.templates import has_generation_markers, training_chat_template

    if has_generation_markers(getattr(tokenizer, "chat_template", None)):
        return "assistant_only", "assistant_only: learn the assistant's turns, not the user's"
    if training_chat_template(tokenizer) is not None:
        return "assistant_only", (
            "assistant_only: learn the assistant's turns; the model's chat template has no "
            "generation markers, so training uses a marked copy that renders the same text"
        )
    return "full", (
        "full: the model's chat template marks no assistant turns and could not be converted, so "
        "the loss covers the whole conversation (prompts included)"
    )


def _lora(shape: ModelShape, method: str) -> dict[str, Choice]:
    if shape.params < 1_000_000_000:
        rank, size = 32, "under 1B parameters: a larger rank, since the adapter is still tiny"
    elif shape.params < 20_000_000_000:
        rank, size = 16, "1-20B parameters: the usual rank"
    else:
        rank, size = 16, "over 20B parameters"
    attention = [n for n in ("q_proj", "k_proj", "v_proj", "o_proj") if n in shape.linear_layers]
    if shape.params >= 20_000_000_000 and len(attention) == 4:
        targets, target_why = attention, "attention projections only: saves memory on a big model"
    else:
        targets, target_why = ["all-linear"], "every linear layer: the best quality per parameter"
    unused = " (unused: this is a full fine-tune)" if method == "full" else ""
    return {
        "lora_r": (rank, f"rank {rank}: {size}{unused}"),
        "lora_alpha": (2 * rank, f"alpha = 2 x rank, the common scale{unused}"),
        "lora_dropout": (0.05, f"light dropout against overfitting small datasets{unused}"),
        "lora_target_modules": (targets, f"{target_why}{unused}"),
    }


def _schedule(profile: DataProfile, shape: ModelShape, method: str) -> dict[str, Choice]:
    rows = profile.train_rows
    epochs = 5 if rows < 100 else 3 if rows < 1000 else 2 if rows < 50_000 else 1
    if method == "full":
        lr = 5e-5 if shape.params < 1_000_000_000 else 2e-5
        lr_why = f"{lr:g}: full fine-tuning moves every weight, so a small step" + (
            " (a little larger for a model under 1B)" if lr > 2e-5 else ""
        )
    else:
        lr, lr_why = LORA_LEARNING_RATE, f"{LORA_LEARNING_RATE:g}: the usual LoRA learning rate"
    return {
        "epochs": (
            float(epochs),
            f"{epochs} epochs for {rows} train rows (fewer rows need more passes; "
            "<100: 5, <1k: 3, <50k: 2, else 1)",
        ),
        "max_steps": (-1, "run all epochs"),
        "learning_rate": (lr, lr_why),
        "lr_scheduler": ("cosine", "cosine decay after warmup: a smooth, forgiving schedule"),
        "warmup_ratio": (0.03, "3% of steps warm the learning rate up, against early spikes"),
        "weight_decay": (0.0, "no weight decay: short fine-tunes rarely need it"),
        "max_grad_norm": (1.0, "clip gradients at norm 1 against loss spikes"),
        "seed": (42, "a fixed seed: the same recipe gives the same run"),
    }


def _fit_batches(
    recipe: Recipe, profile: DataProfile, shape: ModelShape, hardware: Hardware, method_forced: bool
) -> Recipe:
    """Batch size, accumulation and checkpointing: reach the token target within memory.

    The micro-batch is the largest power of two that fits; accumulation makes up the rest of the
    step. Checkpointing is tried only when no micro-batch fits without it; an automatically
    chosen full fine-tune that does not fit even then becomes LoRA.
    """
    device = hardware.device if hardware.device in TARGET_TOKENS_PER_STEP else "cuda"
    target = TARGET_TOKENS_PER_STEP[device]
    if recipe.packing:
        sequences = max(1, math.ceil(profile.total_tokens / recipe.max_length))
        per_sequence, unit = recipe.max_length, "packed sequences"
    else:
        sequences = max(1, profile.train_rows)
        per_sequence, unit = max(1, profile.total_tokens // max(1, profile.train_rows)), "rows"
    wanted = max(1, round(target / per_sequence))
    per_step = min(wanted, max(1, sequences // MIN_STEPS_PER_EPOCH))
    capped = f", capped so an epoch has >= {MIN_STEPS_PER_EPOCH} steps" if per_step < wanted else ""
    largest = 1 << (min(per_step, MAX_MICRO_BATCH[device]).bit_length() - 1)
    for checkpointing in (False, True):
        size = largest
        while size >= 1:
            accum = max(1, round(per_step / size))
            candidate = replace(
                recipe, batch_size=size, grad_accum=accum, activation_checkpointing=checkpointing
            )
            if estimate(candidate, profile, shape, hardware).fits:
                why = _step_why(candidate, per_sequence, unit, target, capped)
                return _with_batch_reasons(candidate, why, shape, hardware, fits=True)
            size //= 2
    if recipe.method == "full" and not method_forced:
        reasons = {
            **recipe.reasons,
            "method": f"LoRA: full fine-tuning of {count_text(shape.params)} parameters does not "
            f"fit in {hardware.describe()}, even with checkpointing and batch 1",
            "learning_rate": f"{LORA_LEARNING_RATE:g}: the usual LoRA learning rate",
        }
        lora = replace(recipe, method="lora", learning_rate=LORA_LEARNING_RATE, reasons=reasons)
        return _fit_batches(lora, profile, shape, hardware, method_forced=True)
    smallest = replace(recipe, batch_size=1, grad_accum=per_step, activation_checkpointing=True)
    why = _step_why(smallest, per_sequence, unit, target, capped)
    return _with_batch_reasons(smallest, why, shape, hardware, fits=False)


def _step_why(recipe: Recipe, per_sequence: int, unit: str, target: int, capped: str) -> str:
    per_step = recipe.batch_size * recipe.grad_accum
    return (
        f"{per_step} {unit} (~{count_text(per_step * per_sequence)} tokens) per optimizer step, "
        f"aiming at ~{count_text(target)} tokens per step{capped}"
    )


def _with_batch_reasons(
    recipe: Recipe, why_step: str, shape: ModelShape, hardware: Hardware, fits: bool
) -> Recipe:
    peak = peak_memory_gib(recipe, shape, hardware.device)
    memory = f"{hardware.memory_gib:.1f} GiB" if hardware.memory_gib else "unknown memory"
    if not fits:
        ckpt_why = f"on, and still ~{peak:.1f} GiB does not fit in {memory}"
    elif recipe.activation_checkpointing:
        ckpt_why = f"on: without it no batch fits in {memory}; with it ~{peak:.1f} GiB does"
    else:
        ckpt_why = f"off: ~{peak:.1f} GiB fits in {memory} without it (it costs ~30% more compute)"
    size = "the largest power of two that fits" if fits else "the smallest there is, still too big"
    reasons = {
        **recipe.reasons,
        "batch_size": f"{recipe.batch_size} per micro-batch: {size} (~{peak:.1f} GiB of {memory})",
        "grad_accum": f"{recipe.grad_accum} micro-batch(es) per optimizer step: {why_step}",
        "activation_checkpointing": ckpt_why,
    }
    return replace(recipe, reasons=reasons)


def _bookkeeping(recipe: Recipe, profile: DataProfile) -> Recipe:
    """When to evaluate, save and log: per epoch for short epochs, every 100 steps for long ones."""
    per_epoch = steps_per_epoch(recipe, profile)
    total = max(1, math.ceil(per_epoch * recipe.epochs))
    every = 0 if per_epoch <= LONG_EPOCH_STEPS else CHECKPOINT_EVERY
    when = "once per epoch" if every == 0 else f"every {every} steps (epochs are long)"
    if profile.eval_rows:
        eval_why = f"evaluate on the {profile.eval_rows} eval rows {when}"
    else:
        eval_why = (
            "no eval rows in this version, so no evaluation; make some with `tunesmith data split`"
        )
    logging = 1 if total <= 200 else max(1, total // 100)
    reasons = {
        **recipe.reasons,
        "eval_steps": eval_why,
        "save_steps": f"save a resumable checkpoint {when}",
        "logging_steps": f"log every {logging} step(s): ~{min(total, 100)} points of loss curve",
        "save_total_limit": "keep the last 2 checkpoints: enough to resume, bounded disk use",
    }
    return replace(
        recipe,
        eval_steps=every,
        save_steps=every,
        logging_steps=logging,
        save_total_limit=2,
        reasons=reasons,
    )


# -- refusing runs that cannot work --------------------------------------------------------------


def check_trainable(
    recipe: Recipe, profile: DataProfile, hardware: Hardware, estimate: Estimate
) -> None:
    """Refuse, with what to do instead, a run that cannot work: raises InvalidInput or
    ModelUnavailable.

    Checked before a job starts, because each failure here would otherwise surface minutes later
    as a stack trace from inside TRL.
    """
    from trainers.config_map import check_values

    source = model_source(recipe.base_model)
    shape_of(source)  # ModelUnavailable when it cannot be loaded
    if profile.train_rows < MIN_TRAIN_ROWS:
        raise InvalidInput(
            f"{recipe.dataset} has {profile.train_rows} train rows; training needs at least "
            f"{MIN_TRAIN_ROWS} to learn anything but the rows themselves.",
            "Add rows with `tunesmith data synth` (or `tunesmith data import`), then train on "
            "the new version.",
        )
    check_values(recipe)
    if recipe.precision == "bf16" and not hardware.bf16:
        raise InvalidInput(
            f"precision=bf16, but {hardware.describe()} does not support bf16.",
            "Use --set precision=fp32.",
        )
    expected = {"messages": "assistant_only", "completion": "completion_only"}
    if recipe.loss != "full" and recipe.loss != expected.get(profile.row_format):
        raise InvalidInput(
            f"loss={recipe.loss} does not work with {profile.row_format} rows.",
            f"Use --set loss={expected.get(profile.row_format, 'full')} or loss=full.",
        )
    if recipe.loss == "assistant_only":
        from trainers.templates import supports_assistant_loss

        if not supports_assistant_loss(load_tokenizer(source)):
            raise InvalidInput(
                f"loss=assistant_only needs a chat template that marks the assistant's turns, and "
                f"{recipe.base_model}'s template cannot be marked.",
                "Use --set loss=full (the loss then covers the prompts too).",
            )
    if not estimate.fits:
        raise InvalidInput(
            f"This run does not fit in memory: ~{estimate.peak_memory_gib:.1f} GiB needed on "
            f"{hardware.describe()}.",
            estimate.advice,
        )
