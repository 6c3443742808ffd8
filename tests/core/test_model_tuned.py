"""run:<id> refs: a tuned run's model loads through load_engine, lists, and fails clearly.

The runs are made without training: a real PEFT LoRA adapter on the tiny model (one weight nudged
so its answers differ from the base), or a copy of the tiny model as a full run, saved where a run
puts them (runs/<id>/final/) with a matching row in the registry's runs table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import ModelUnavailable, NotFound
from core.models import ChatRequest, list_models, load_engine
from core.models.registry import local_model_dir
from core.models.tuned import resolve_run
from core.settings import Settings
from core.workspace import Workspace, utc_now

PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Write a JSON object."}],
]


def _requests() -> list[ChatRequest]:
    return [ChatRequest(m, max_new_tokens=12) for m in PROMPTS]


def add_run(home: Path, run_id: str, status: str, base_model: str, method: str) -> Path:
    """Insert a runs row (columns of migrations 3 and 4); return the run's final/ folder."""
    ws = Workspace(home)
    now = utc_now()
    with ws.transaction() as conn:
        conn.execute(
            "INSERT INTO runs(id, created_at, updated_at, status, base_model, dataset, method, "
            "request_key, backend, device, ended_at, attempt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'local', 'cpu', ?, 1)",
            (run_id, now, now, status, base_model, "ds@1", method, f"key-{run_id}", now),
        )
    return ws.artifact_dir("runs", run_id) / "final"


def save_lora(tiny_model_dir: Path, final: Path) -> None:
    """A LoRA adapter on the tiny model with lora_B set non-zero, so it changes the outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
    )
    model = get_peft_model(base, config)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn_like(param) * 2.0)
    model.save_pretrained(final)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(final)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", device="cpu", ollama_base_url="http://127.0.0.1:9")


def test_a_lora_run_loads_with_its_adapter_merged(settings, tiny_model_dir):
    final = add_run(settings.home, "r-lora", "succeeded", f"hf:{tiny_model_dir}", "lora")
    save_lora(tiny_model_dir, final)

    tuned = resolve_run("run:r-lora", settings)
    assert tuned.is_adapter and tuned.folder == final and tuned.method == "lora"
    assert tuned.base_ref == f"hf:{tiny_model_dir}"

    engine = load_engine("run:r-lora", settings)
    assert engine.ref == "run:r-lora"
    assert not hasattr(engine.model, "peft_config")  # merged into a plain model
    tuned_out = engine.generate(_requests())
    assert all(g.ok and g.text and g.output_tokens > 0 for g in tuned_out)

    base_out = load_engine(f"hf:{tiny_model_dir}", settings).generate(_requests())
    assert [g.text for g in tuned_out] != [g.text for g in base_out]

    # An adapter folder is no model folder: training on top of it is not offered.
    assert local_model_dir("run:r-lora", settings) is None


def test_a_full_run_loads_from_its_final_folder(settings, tiny_model_dir):
    final = add_run(settings.home, "r-full", "succeeded", f"hf:{tiny_model_dir}", "full")
    shutil.copytree(tiny_model_dir, final)

    engine = load_engine("run:r-full", settings)
    assert engine.ref == "run:r-full"
    [answer] = engine.generate(_requests()[:1])
    assert answer.ok and answer.text
    base = load_engine(f"hf:{tiny_model_dir}", settings).generate(_requests()[:1])
    assert answer.text == base[0].text  # a copy of the base answers as the base does
    assert local_model_dir("run:r-full", settings) == final


def test_an_unknown_run_says_how_to_find_runs(settings):
    with pytest.raises(NotFound) as info:
        load_engine("run:r-nope", settings)
    assert isinstance(info.value, ModelUnavailable)  # load_engine's usual failure, too
    assert "r-nope" in info.value.message
    assert "tunesmith runs list" in info.value.hint
    assert not settings.home.exists()  # looking a run up creates no workspace

    Workspace(settings.home)  # a workspace with a registry but no such run
    with pytest.raises(NotFound):
        resolve_run("run:r-nope", settings)


@pytest.mark.parametrize("status", ["running", "queued"])
def test_an_unfinished_run_says_to_wait(settings, tiny_model_dir, status):
    add_run(settings.home, "r-busy", status, f"hf:{tiny_model_dir}", "lora")
    with pytest.raises(ModelUnavailable) as info:
        load_engine("run:r-busy", settings)
    assert status in info.value.message
    assert "tunesmith runs logs r-busy -f" in info.value.hint


def test_a_failed_run_points_at_its_logs(settings, tiny_model_dir):
    add_run(settings.home, "r-bad", "failed", f"hf:{tiny_model_dir}", "lora")
    with pytest.raises(ModelUnavailable) as info:
        resolve_run("run:r-bad", settings)
    assert "failed" in info.value.message
    assert "tunesmith runs logs r-bad" in info.value.hint


def test_a_succeeded_run_without_final_folder_is_unavailable(settings, tiny_model_dir):
    final = add_run(settings.home, "r-gone", "succeeded", f"hf:{tiny_model_dir}", "lora")
    with pytest.raises(ModelUnavailable) as info:
        load_engine("run:r-gone", settings)
    assert "missing" in info.value.message and str(final) in info.value.message

    final.mkdir(parents=True)
    (final / "README.md").write_text("nothing useful")
    with pytest.raises(ModelUnavailable) as info:
        resolve_run("run:r-gone", settings)
    assert "adapter_config.json" in info.value.message


def test_list_models_offers_succeeded_runs_only(settings, tiny_model_dir):
    base = f"hf:{tiny_model_dir}"
    shutil.copytree(tiny_model_dir, add_run(settings.home, "r-ok", "succeeded", base, "full"))
    add_run(settings.home, "r-run", "running", base, "lora")
    add_run(settings.home, "r-fail", "failed", base, "lora")
    add_run(settings.home, "r-empty", "succeeded", base, "lora")  # final/ missing

    rows = {row.ref: row for row in list_models(settings) if row.kind == "run"}
    assert set(rows) == {"run:r-ok", "run:r-empty"}
    assert rows["run:r-ok"].available and base in rows["run:r-ok"].detail
    assert not rows["run:r-empty"].available and "missing" in rows["run:r-empty"].detail

    # A configured run: ref is checked the same way, and listed once.
    configured = settings.model_copy(update={"base_model": "run:r-run"})
    rows = [row for row in list_models(configured) if row.ref == "run:r-run"]
    assert len(rows) == 1 and not rows[0].available and "running" in rows[0].detail


def test_a_relative_hf_base_is_found_from_the_recorded_folder(settings, tiny_model_dir):
    """`hf:./model` is relative to where the run was launched; recipe.yaml has the real folder."""
    final = add_run(settings.home, "r-rel", "succeeded", "hf:./launched/elsewhere", "lora")
    save_lora(tiny_model_dir, final)
    with pytest.raises(ModelUnavailable, match="does not exist"):
        load_engine("run:r-rel", settings)

    recipe = f"recipe: {{}}\nresolved:\n  model_dir: {tiny_model_dir}\n"
    (final.parent / "recipe.yaml").write_text(recipe)
    assert resolve_run("run:r-rel", settings).trained_on() == tiny_model_dir
    [answer] = load_engine("run:r-rel", settings).generate(_requests()[:1])
    assert answer.ok and answer.text
