"""Recipe -> SFTConfig/LoraConfig: every field lands, nothing deprecated, and TRL really trains.

The trainer tests run a real `trl.SFTTrainer` step on the tiny model on CPU, and read the labels
of a real collated batch to check which tokens the loss covers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import pytest

from core.errors import InvalidInput
from trainers.config_map import build_configs, model_init_kwargs
from trainers.recipe import Recipe
from trainers.recipes import load_recipe_file, shipped_recipes

CPU_RECIPE = Recipe(
    method="full",
    device="cpu",
    precision="fp32",
    epochs=1,
    max_steps=2,
    batch_size=2,
    grad_accum=1,
    max_length=64,
    learning_rate=1e-3,
    lora_r=4,
    lora_alpha=8,
    logging_steps=1,
)
CHAT_ROWS = [
    {
        "messages": [
            {"role": "user", "content": f"What is the capital of France? ({i})"},
            {"role": "assistant", "content": "Paris is the capital."},
        ]
    }
    for i in range(4)
]
COMPLETION_ROWS = [
    {"prompt": f"Question {i}: the capital of France?", "completion": " Paris."} for i in range(4)
]
TEXT_ROWS = [{"text": f"Customers ask about orders, number {i}."} for i in range(4)]


def quiet_build(recipe: Recipe, tmp_path, **kwargs):
    """build_configs, failing on any warning about deprecated or renamed arguments."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        configs = build_configs(recipe, tmp_path / "out", **kwargs)
    deprecated = [str(w.message) for w in caught if "deprecat" in str(w.message).lower()]
    assert deprecated == []
    return configs


def test_every_recipe_field_lands_in_the_configs(tmp_path):
    recipe = replace(
        CPU_RECIPE,
        method="lora",
        epochs=2.5,
        max_steps=-1,
        lr_scheduler="linear",
        warmup_ratio=0.1,
        weight_decay=0.01,
        max_grad_norm=0.5,
        seed=7,
        grad_accum=3,
        packing=True,
        lora_dropout=0.1,
        lora_target_modules=["q_proj", "v_proj"],
        activation_checkpointing=True,
        eval_steps=25,
        save_steps=50,
        logging_steps=5,
        save_total_limit=3,
    )
    args, lora = quiet_build(recipe, tmp_path)

    assert (args.num_train_epochs, args.max_steps, args.learning_rate) == (2.5, -1, 1e-3)
    assert args.lr_scheduler_type == "linear" and args.warmup_steps == 0.1
    assert (args.weight_decay, args.max_grad_norm, args.seed) == (0.01, 0.5, 7)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (2, 3)
    assert args.max_length == 64 and args.packing is True
    assert args.activation_checkpointing is True and args.use_cpu is True
    assert args.bf16 is False and args.fp16 is False
    assert (args.eval_strategy, args.eval_steps) == ("steps", 25)
    assert (args.save_strategy, args.save_steps, args.save_total_limit) == ("steps", 50, 3)
    assert args.logging_steps == 5 and args.report_to == []
    assert args.model_init_kwargs == {"dtype": "float32", "attn_implementation": "sdpa"}
    assert (lora.r, lora.lora_alpha, lora.lora_dropout) == (4, 8, 0.1)
    assert set(lora.target_modules) == {"q_proj", "v_proj"}
    assert str(lora.task_type.value if hasattr(lora.task_type, "value") else lora.task_type) == (
        "CAUSAL_LM"
    )


def test_per_epoch_intervals_no_eval_and_full_fine_tuning(tmp_path):
    args, lora = quiet_build(CPU_RECIPE, tmp_path)
    assert lora is None
    assert args.eval_strategy == "epoch" and args.save_strategy == "epoch"
    assert args.activation_checkpointing is False  # TRL's default would be True
    args, _ = quiet_build(CPU_RECIPE, tmp_path, has_eval=False)
    assert args.eval_strategy == "no"


def test_bf16_only_when_the_recipe_says_so(tmp_path):
    args, _ = quiet_build(replace(CPU_RECIPE, precision="bf16"), tmp_path)  # no GPU here
    assert args.bf16 is True
    assert model_init_kwargs(replace(CPU_RECIPE, precision="bf16"))["dtype"] == "bfloat16"
    args, _ = quiet_build(CPU_RECIPE, tmp_path)
    assert args.bf16 is False  # TRL 1.16 would turn it on, and fail on CPU


@pytest.mark.parametrize(
    ("loss", "assistant_only", "completion_only"),
    [("assistant_only", True, False), ("completion_only", False, True), ("full", False, False)],
)
def test_loss_maps_onto_trl_flags(tmp_path, loss, assistant_only, completion_only):
    args, _ = quiet_build(replace(CPU_RECIPE, loss=loss), tmp_path)
    assert args.assistant_only_loss is assistant_only
    assert args.completion_only_loss is completion_only


def test_shipped_recipes_build_without_deprecated_arguments(tmp_path):
    for path in shipped_recipes().values():  # on CPU here: transformers refuses bf16 without a GPU
        quiet_build(replace(load_recipe_file(path), device="cpu"), tmp_path)


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"loss": "assistant"}, "loss"),
        ({"precision": "fp16"}, "precision"),
        ({"method": "qlora"}, "method"),
        ({"warmup_ratio": 3.0}, "warmup_ratio"),
        ({"method": "lora", "lora_target_modules": []}, "lora_target_modules"),
    ],
)
def test_values_trl_would_misread_are_refused(tmp_path, change, word):
    with pytest.raises(InvalidInput, match=word):
        build_configs(replace(CPU_RECIPE, **change), tmp_path)


# -- a real trainer ----------------------------------------------------------------------------


def make_trainer(recipe: Recipe, rows: list[dict], model_dir, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    args, lora = quiet_build(recipe, tmp_path, has_eval=False)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **model_init_kwargs(recipe))
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora,
    )


def trained_text(trainer) -> list[str]:
    """The text of the tokens the loss covers, per row of the first collated batch."""
    batch = next(iter(trainer.get_train_dataloader()))
    tokenizer = trainer.processing_class
    return [
        tokenizer.decode([t for t, label in zip(ids, labels, strict=True) if label != -100])
        for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True)
    ]


# peft 0.21 still calls transformers' renamed is_gradient_checkpointing: not ours to fix
@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
@pytest.mark.parametrize("method", ["full", "lora"])
def test_trl_trains_a_step_with_the_configs(tiny_model_dir, tmp_path, method):
    trainer = make_trainer(replace(CPU_RECIPE, method=method), CHAT_ROWS, tiny_model_dir, tmp_path)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    if method == "lora":
        assert trainable and all("lora_" in n for n in trainable)
    else:
        assert len(trainable) == sum(1 for _ in trainer.model.parameters())
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}

    result = trainer.train()

    assert trainer.state.global_step == 2 and math.isfinite(result.training_loss)
    after = dict(trainer.model.named_parameters())
    assert any(not after[n].detach().equal(before[n]) for n in before)  # weights moved


def test_assistant_only_loss_covers_only_the_assistant(tiny_model_dir, tmp_path):
    trainer = make_trainer(
        replace(CPU_RECIPE, loss="assistant_only"), CHAT_ROWS, tiny_model_dir, tmp_path
    )
    assert set(trained_text(trainer)) == {"Paris is the capital.<|im_end|>"}


def test_completion_only_loss_covers_only_the_completion(tiny_model_dir, tmp_path):
    trainer = make_trainer(
        replace(CPU_RECIPE, loss="completion_only"), COMPLETION_ROWS, tiny_model_dir, tmp_path
    )
    assert set(trained_text(trainer)) == {" Paris.<|im_end|>"}


def test_full_loss_covers_the_whole_text(tiny_model_dir, tmp_path):
    trainer = make_trainer(replace(CPU_RECIPE, loss="full"), TEXT_ROWS, tiny_model_dir, tmp_path)
    texts = trained_text(trainer)
    assert all(text.startswith("Customers ask about orders") for text in texts)
