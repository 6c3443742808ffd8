"""Default recipes on real datasets in a throw-away workspace, with the tiny model's real tokenizer.

Bigger models are config-only folders (config + the tiny tokenizer, no weights): the defaults read
shapes on the meta device, so a "268M-parameter model" costs nothing here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest

from core.errors import InvalidInput, ModelUnavailable, NotFound
from trainers.defaults import MIN_TRAIN_ROWS, check_trainable, default_recipe
from trainers.estimate import estimate
from trainers.hardware import Hardware, cpu_hardware
from trainers.model_info import model_shape
from trainers.profile import profile_dataset
from trainers.recipe import Recipe

REPO = Path(__file__).resolve().parents[2]
CPU = Hardware("cpu", "test CPU", 2, 16.0, False)
H100 = Hardware("cuda", "NVIDIA H100 80GB HBM3", 1, 79.1, True)


@pytest.fixture
def store(tunesmith_home):
    from core.workspace import Workspace
    from tools.datasets.store import DatasetStore

    return DatasetStore(Workspace.from_settings())


def chat_rows(n: int, *, long_every: int = 0, eval_every: int = 0) -> list[dict]:
    rows = []
    for i in range(n):
        answer = "The order ships in two days. " * (1 + i % 4)
        if long_every and i % long_every == long_every - 1:
            answer = "Customers ask about invoices and delivery dates. " * 60
        split = "eval" if eval_every and i % eval_every == 0 else "train"
        rows.append(
            {
                "id": f"r{i:03d}",
                "messages": [
                    {"role": "user", "content": f"Question {i}: when does my order ship?"},
                    {"role": "assistant", "content": answer},
                ],
                "meta": {"split": split},
            }
        )
    return rows


def completion_rows(n: int) -> list[dict]:
    return [
        {"id": f"c{i}", "prompt": f"Question {i}?", "completion": " Yes, two days."}
        for i in range(n)
    ]


def text_rows(n: int) -> list[dict]:
    return [{"id": f"t{i}", "text": f"Customers ask about orders, number {i}."} for i in range(n)]


def commit(store, name: str, rows: list[dict]) -> str:
    info = store.commit(name, rows, operation="import", parent=None)
    return f"{info.dataset}@v{info.version}"


def sized_model(tmp_path: Path, tiny_model_dir: Path, **dims) -> str:
    """A config-only Llama folder of the given dimensions, with the tiny model's tokenizer."""
    from transformers import LlamaConfig

    folder = tmp_path / f"model-{dims['hidden_size']}x{dims['num_hidden_layers']}"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(tiny_model_dir / name, folder / name)
    LlamaConfig(vocab_size=384, max_position_embeddings=2048, **dims).save_pretrained(folder)
    return f"hf:{folder}"


def unmarkable_model(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """The tiny model with a chat template that is neither marked nor ChatML."""
    folder = tmp_path / "unmarkable"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "chat_template.jinja").write_text(
        "{% for m in messages %}{{ '[' + m['role'] + '] ' + m['content'] + '\\n' }}{% endfor %}"
    )
    return folder


def nearest_rank(values: list[int], pct: int) -> int:
    ordered = sorted(values)
    return ordered[max(1, -(-pct * len(ordered) // 100)) - 1]


# -- the recipe ----------------------------------------------------------------------------------


def test_every_field_has_a_reason_and_cpu_gets_fp32_without_packing(store, tiny_model_dir):
    ref = commit(store, "faq", chat_rows(60, eval_every=10))
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=CPU, store=store)

    every_field = {f.name for f in fields(Recipe)} - {"reasons"}
    assert set(recipe.reasons) == every_field
    assert all(why.strip() for why in recipe.reasons.values())
    assert recipe.dataset == "faq@v1" and recipe.base_model == f"hf:{tiny_model_dir}"
    assert (profile.rows, profile.train_rows, profile.eval_rows) == (60, 54, 6)
    assert recipe.device == "cpu"
    assert recipe.precision == "fp32" and "CPU" in recipe.reasons["precision"]
    assert recipe.packing is False
    assert recipe.reasons["packing"].startswith("off") and "varlen" in recipe.reasons["packing"]
    assert recipe.attn_implementation == "sdpa" and recipe.use_liger is False
    assert recipe.epochs == 5  # under 100 rows
    assert recipe.activation_checkpointing is False  # the tiny model fits easily
    assert recipe.reasons["activation_checkpointing"].startswith("off")
    # a step of several rows, and an epoch of at least 10 steps
    rows_per_step = recipe.batch_size * recipe.grad_accum
    assert 1 < rows_per_step <= profile.train_rows // 10
    assert recipe.eval_steps == 0 and "6 eval rows" in recipe.reasons["eval_steps"]


def test_a_gpu_gets_bf16_and_packed_sequences_longer_than_rows(store, tiny_model_dir):
    ref = commit(store, "faq", chat_rows(40))
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=H100, store=store)
    assert recipe.precision == "bf16" and recipe.device == "cuda"
    assert "H100" in recipe.reasons["precision"]
    if recipe.packing:  # the speed plan found varlen attention (flex on torch >= 2.5)
        assert recipe.attn_implementation in ("flash_attention_2", "flex_attention")
        assert recipe.max_length == 1024 > profile.max_tokens  # the tiny model's positions
        assert "packed" in recipe.reasons["max_length"]


def test_max_length_comes_from_the_95th_percentile_of_template_lengths(store, tiny_model_dir):
    from transformers import AutoTokenizer

    rows = chat_rows(60, long_every=30)  # two long rows: past the 95th percentile
    ref = commit(store, "faq", rows)
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=CPU, store=store)

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    lengths = [
        len(
            tokenizer.apply_chat_template(r["messages"], tokenize=True, return_dict=True)[
                "input_ids"
            ]
        )
        for r in rows
    ]
    assert profile.p95_tokens == nearest_rank(lengths, 95)
    assert profile.max_tokens == max(lengths) and profile.total_tokens == sum(lengths)
    assert recipe.max_length % 64 == 0
    assert profile.p95_tokens <= recipe.max_length < profile.p95_tokens + 64
    assert recipe.max_length < profile.max_tokens  # the two long rows are truncated
    assert "95%" in recipe.reasons["max_length"]


def test_max_length_is_capped_by_the_model_positions(store, tiny_model_dir):
    rows = chat_rows(20, long_every=1)  # every row longer than the tiny model's 1024 positions
    ref = commit(store, "long", rows)
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=CPU, store=store)
    assert profile.p95_tokens > 1024
    assert recipe.max_length == 1024 and "1024 positions" in recipe.reasons["max_length"]


@pytest.mark.parametrize(
    ("make_rows", "loss"),
    [(chat_rows, "assistant_only"), (completion_rows, "completion_only"), (text_rows, "full")],
)
def test_loss_follows_the_row_format(store, tiny_model_dir, make_rows, loss):
    ref = commit(store, "data", make_rows(30))
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=CPU, store=store)
    assert recipe.loss == loss
    assert profile.row_format == {
        "assistant_only": "messages",
        "completion_only": "completion",
    }.get(loss, "text")


def test_a_template_that_cannot_be_marked_falls_back_to_full_loss(store, tiny_model_dir, tmp_path):
    folder = unmarkable_model(tmp_path, tiny_model_dir)
    ref = commit(store, "faq", chat_rows(30))
    recipe, _ = default_recipe(f"hf:{folder}", ref, hardware=CPU, store=store)
    assert recipe.loss == "full" and "could not be converted" in recipe.reasons["loss"]


def test_tiny_models_get_full_fine_tuning_and_larger_ones_lora(store, tiny_model_dir, tmp_path):
    ref = commit(store, "faq", chat_rows(40))
    small, _ = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=H100, store=store)
    big_ref = sized_model(
        tmp_path, tiny_model_dir, hidden_size=1024, intermediate_size=4096, num_hidden_layers=16
    )
    big, _ = default_recipe(big_ref, ref, hardware=H100, store=store)

    assert model_shape(big_ref).params > 200_000_000 > model_shape(f"hf:{tiny_model_dir}").params
    assert small.method == "full" and small.learning_rate < 1e-4
    assert big.method == "lora" and big.learning_rate == 2e-4
    assert big.lora_target_modules == ["all-linear"] and big.lora_alpha == 2 * big.lora_r
    assert "200M" in big.reasons["method"] and "200M" in small.reasons["method"]


def test_a_forced_method_is_kept_and_said(store, tiny_model_dir):
    ref = commit(store, "faq", chat_rows(40))
    recipe, _ = default_recipe(
        f"hf:{tiny_model_dir}", ref, method="lora", hardware=CPU, store=store
    )
    assert recipe.method == "lora" and recipe.reasons["method"] == "set by you"
    assert recipe.learning_rate == 2e-4


def test_full_fine_tuning_that_does_not_fit_becomes_lora(store, tiny_model_dir, tmp_path):
    ref = commit(store, "faq", chat_rows(40))
    model = sized_model(
        tmp_path, tiny_model_dir, hidden_size=768, intermediate_size=3072, num_hidden_layers=20
    )
    shape = model_shape(model)
    assert shape.params < 200_000_000  # full by size...
    small_gpu = Hardware("cuda", "small GPU", 1, 2.0, True)  # ...but 16 bytes/param do not fit
    recipe, profile = default_recipe(model, ref, hardware=small_gpu, store=store)

    assert recipe.method == "lora" and "does not fit" in recipe.reasons["method"]
    assert estimate(recipe, profile, shape, small_gpu).fits


def test_checkpointing_turns_on_only_when_memory_needs_it(store, tiny_model_dir, tmp_path):
    ref = commit(store, "faq", chat_rows(40, long_every=1))  # long rows: activations dominate
    model = sized_model(
        tmp_path, tiny_model_dir, hidden_size=1024, intermediate_size=4096, num_hidden_layers=16
    )
    roomy, _ = default_recipe(model, ref, hardware=H100, store=store)
    tight_gpu = Hardware("cuda", "small GPU", 1, 3.0, True)
    tight, profile = default_recipe(model, ref, hardware=tight_gpu, store=store)

    assert roomy.activation_checkpointing is False
    assert tight.activation_checkpointing is True
    assert tight.reasons["activation_checkpointing"].startswith("on")
    assert estimate(tight, profile, model_shape(model), tight_gpu).fits


def test_profile_counts_with_a_plain_counter_too():
    profile = profile_dataset(text_rows(10) + completion_rows(10), lambda text: len(text.split()))
    assert profile.rows == profile.train_rows == 20 and profile.eval_rows == 0
    assert profile.max_tokens >= profile.p95_tokens >= profile.p50_tokens > 0


# -- refusals ------------------------------------------------------------------------------------


def test_too_few_rows_are_refused_with_what_to_do(store, tiny_model_dir):
    ref = commit(store, "tiny", chat_rows(MIN_TRAIN_ROWS - 3))
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=CPU, store=store)
    est = estimate(recipe, profile, model_shape(recipe.base_model), CPU)

    with pytest.raises(InvalidInput) as caught:
        check_trainable(recipe, profile, CPU, est)
    assert f"{MIN_TRAIN_ROWS - 3} train rows" in caught.value.message
    assert "tunesmith data synth" in caught.value.hint


def test_a_run_that_does_not_fit_is_refused_with_what_would(store, tiny_model_dir, tmp_path):
    ref = commit(store, "faq", chat_rows(40))
    model = sized_model(
        tmp_path, tiny_model_dir, hidden_size=1024, intermediate_size=4096, num_hidden_layers=16
    )
    recipe, profile = default_recipe(model, ref, method="full", hardware=H100, store=store)
    small_gpu = Hardware("cuda", "small GPU", 1, 3.0, True)
    est = estimate(recipe, profile, model_shape(model), small_gpu)

    with pytest.raises(InvalidInput) as caught:
        check_trainable(recipe, profile, small_gpu, est)
    assert "does not fit" in caught.value.message
    assert "LoRA instead of full" in caught.value.hint and "--method lora" in caught.value.hint


def test_bf16_on_hardware_without_it_is_refused(store, tiny_model_dir):
    ref = commit(store, "faq", chat_rows(40))
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=H100, store=store)
    est = estimate(recipe, profile, model_shape(recipe.base_model), CPU)
    with pytest.raises(InvalidInput, match="bf16"):
        check_trainable(recipe, profile, CPU, est)


def test_models_that_cannot_be_loaded_are_refused(store, tiny_model_dir, tmp_path):
    ref = commit(store, "faq", chat_rows(40))
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=CPU, store=store)
    est = estimate(recipe, profile, model_shape(recipe.base_model), CPU)

    for base in ("openai:gpt-4o-mini", f"hf:{tmp_path / 'missing'}"):
        with pytest.raises(ModelUnavailable):
            check_trainable(replace(recipe, base_model=base), profile, CPU, est)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(ModelUnavailable):
        default_recipe(f"hf:{broken}", ref, hardware=CPU, store=store)


def test_a_missing_dataset_is_not_found(store, tiny_model_dir):
    with pytest.raises(NotFound):
        default_recipe(f"hf:{tiny_model_dir}", "nothing@v1", hardware=CPU, store=store)


def test_defaults_pass_their_own_checks(store, tiny_model_dir):
    ref = commit(store, "faq", chat_rows(40))
    hardware = cpu_hardware()
    recipe, profile = default_recipe(f"hf:{tiny_model_dir}", ref, hardware=hardware, store=store)
    check_trainable(recipe, profile, hardware, estimate(recipe, profile, 60_000, hardware))


def test_importing_the_defaults_loads_no_torch():
    code = (
        "import sys, trainers.defaults, trainers.estimate, trainers.config_map, "
        "trainers.templates, trainers.hardware, trainers.recipes\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


# -- hardware ------------------------------------------------------------------------------------


def test_the_cpu_is_described_with_host_memory():
    from trainers.hardware import detect_hardware

    found = detect_hardware("cpu")
    assert found.device == "cpu" and found.count >= 1 and not found.bf16
    assert found.memory_gib and found.memory_gib > 0.5
    assert "cores" in found.describe()


def test_asking_for_a_gpu_that_is_not_there_is_an_error():
    import torch

    from trainers.hardware import detect_hardware

    with pytest.raises(InvalidInput, match="Unknown device"):
        detect_hardware("tpu")
    if torch.cuda.is_available():
        assert detect_hardware("cuda").device == "cuda"
    else:
        assert detect_hardware("auto").device == "cpu"
        with pytest.raises(InvalidInput, match="no usable CUDA GPU"):
            detect_hardware("cuda:0")


def test_assistant_only_loss_on_an_unmarkable_template_is_refused(store, tiny_model_dir, tmp_path):
    folder = unmarkable_model(tmp_path, tiny_model_dir)
    ref = commit(store, "faq", chat_rows(30))
    recipe, profile = default_recipe(f"hf:{folder}", ref, hardware=CPU, store=store)
    forced = recipe.with_overrides({"loss": "assistant_only"})
    est = estimate(forced, profile, model_shape(forced.base_model), CPU)
    with pytest.raises(InvalidInput, match="cannot be marked") as caught:
        check_trainable(forced, profile, CPU, est)
    assert "loss=full" in caught.value.hint
