"""Export of a real tiny LoRA run (trained once for the module with TRL, as `tunesmith train`
does): the adapter folder, the merged model reloaded with plain transformers and generating the
same tokens as the run: ref, the model card's lineage/evaluations/use case, GGUF without llama.cpp,
and the folder swap that leaves no half export.
"""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput, ModelUnavailable, NotFound
from core.models import ChatRequest
from tests.trainers.test_jobs_support import fake_run, launch, pattern_rows, tiny_recipe, wait_for
from tools.datasets.store import DatasetStore
from tools.export import export_run
from tools.export.gguf import ENV_VAR

PROMPT = [{"role": "user", "content": "Question 3: what is the capital of France?"}]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    """A succeeded 4-step LoRA run on ds:pattern@v2 (a child of v1), evaluated with its base."""
    from core.settings import get_settings
    from core.workspace import Workspace
    from tools.evaluation.runner import evaluate
    from tools.usecase import set_use_case

    home = tmp_path_factory.mktemp("export-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNESMITH_HOME", str(home))
        patch.setenv("TUNESMITH_DEVICE", "cpu")
        get_settings.cache_clear()
        ws = Workspace(home)
        store = DatasetStore(ws)
        rows = pattern_rows()
        store.commit(
            "pattern", rows + [{"id": "junk", "text": "x"}], operation="import", parent=None
        )
        store.commit("pattern", rows, operation="filter", parent=1, params={"expr": "tokens > 1"})
        recipe = tiny_recipe(tiny_model_dir, dataset="pattern@v2", max_steps=4, save_steps=100)
        run = wait_for(ws, launch(ws, recipe).id, ("succeeded", "failed"))
        assert run.status == "succeeded", run.paths.log.read_text()[-2000:]
        set_use_case(ws=ws, description="Answer capital-city questions in one line.", max_words=12)
        evaluate(
            [f"hf:{tiny_model_dir}", f"run:{run.id}"],
            "pattern@v2",
            max_new_tokens=4,
            encoder=False,
            ws=ws,
        )
        yield ws, run
    get_settings.cache_clear()


def test_a_lora_export_is_the_adapter_tokenizer_and_a_model_card(trained, tiny_model_dir):
    ws, run = trained
    result = export_run(run.id, ws=ws)

    assert result.kind == "adapter" and result.path == ws.root / "exports" / run.id
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= set(
        result.files
    )
    assert "training_args.bin" not in result.files and "README.md" in result.files
    assert result.gguf_path is None and result.notes == []
    exported = (result.path / "adapter_model.safetensors").read_bytes()
    assert exported == (run.paths.final / "adapter_model.safetensors").read_bytes()

    card = result.card_path.read_text(encoding="utf-8")
    assert card.startswith("---\nlibrary_name: peft\n")
    assert f"`hf:{tiny_model_dir}`" in card
    assert "| `ds:pattern@v2` | filter" in card and "| 32 |" in card  # the version trained on
    assert "| `ds:pattern@v1` | import | 33 |" in card  # and its parent
    assert "Answer capital-city questions in one line." in card
    assert "Answers of at most 12 words" in card
    assert "| learning_rate | 0.005 | high, because the tiny model starts" in card
    evals = [line for line in card.splitlines() if line.startswith("| `eval:")]
    assert len(evals) == 2
    assert f"`run:{run.id}`" in evals[1] and f"`hf:{tiny_model_dir}`" in evals[0]
    assert "The adapter only works on top of exactly" in card
    manifest = json.loads((result.path / "export.json").read_text())
    assert manifest["run"] == f"run:{run.id}" and manifest["dataset"] == "ds:pattern@v2"


def test_merged_export_reloads_with_plain_transformers_and_generates_like_the_run(
    trained, tmp_path, monkeypatch
):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models.registry import load_engine
    from tools.playground import workspace_settings

    ws, run = trained
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # a folder without llama.cpp's converter
    monkeypatch.setenv("PATH", str(tmp_path))
    result = export_run(run.id, merge=True, gguf=True, ws=ws)

    assert result.kind == "merged" and result.path.name == f"{run.id}-merged"
    assert "model.safetensors" in result.files and "adapter_config.json" not in result.files
    assert result.gguf_path is None
    (note,) = result.notes
    assert note.startswith("GGUF skipped: llama.cpp's convert_hf_to_gguf.py was not found")
    assert "git clone https://github.com/ggml-org/llama.cpp" in note and ENV_VAR in note
    assert result.card_path.read_text().startswith("---\nlibrary_name: transformers\n")

    model = AutoModelForCausalLM.from_pretrained(result.path)
    tokenizer = AutoTokenizer.from_pretrained(result.path)
    ids = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=6, do_sample=False, min_new_tokens=6)
    merged_text = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)

    engine = load_engine(f"run:{run.id}", workspace_settings(ws))
    (reference,) = engine.generate([ChatRequest(PROMPT, max_new_tokens=6)])
    assert merged_text.strip() == reference.text.strip() and merged_text.strip()


def test_exporting_again_replaces_the_old_export_and_foreign_folders_are_refused(trained, tmp_path):
    ws, run = trained
    target = tmp_path / "mine"
    first = export_run(run.id, out_dir=target, ws=ws)
    (target / "stale.txt").write_text("from before")
    second = export_run(run.id, out_dir=target, ws=ws)
    assert second.path == first.path == target.resolve()
    assert not (target / "stale.txt").exists() and (target / "README.md").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no temporary folders left

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(InvalidInput) as info:
        export_run(run.id, out_dir=foreign, ws=ws)
    assert "not a Tunesmith export" in info.value.message
    assert [p.name for p in foreign.iterdir()] == ["cat.jpg"]


def test_a_crash_mid_export_leaves_the_previous_export_untouched(trained, tmp_path, monkeypatch):
    import tools.export.api as api

    ws, run = trained
    target = tmp_path / "out"
    export_run(run.id, out_dir=target, ws=ws)
    before = sorted(p.name for p in target.iterdir())

    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt  # as if the process were interrupted while writing the card

    monkeypatch.setattr("tools.export.card.render_card", crash)
    with pytest.raises(KeyboardInterrupt):
        api.export_run(run.id, out_dir=target, ws=ws)
    assert sorted(p.name for p in target.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_runs_that_cannot_be_exported_are_explained(trained):
    ws, _ = trained
    failed = fake_run(ws, status="failed")
    with pytest.raises(ModelUnavailable) as info:
        export_run(failed.id, ws=ws)
    assert "is failed" in info.value.message and "runs logs" in info.value.hint
    with pytest.raises(NotFound):
        export_run("r-nope", ws=ws)
    with pytest.raises(InvalidInput):
        export_run("  ", ws=ws)
