"""Integration: a real LoRA run of the embedded SmolLM2 on the sample company's golden outputs."""

from __future__ import annotations

import json

import pytest

from core import sample_data
from core.settings import get_settings
from core.workspace import Workspace
from tests.trainers.test_jobs_support import wait_for
from tools.datasets.store import DatasetStore
from trainers.defaults import default_recipe
from trainers.jobs import runner


def golden_rows() -> list[dict]:
    rows = []
    for i, line in enumerate(sample_data.golden_path().read_text().splitlines()):
        golden = json.loads(line)
        request = f"Write a {golden['kind'].replace('_', ' ')}: {golden.get('context', '')}"
        rows.append(
            {
                "id": golden["id"],
                "messages": [
                    {"role": "user", "content": request},
                    {"role": "assistant", "content": golden["text"]},
                ],
                "meta": {"split": "eval" if i % 5 == 0 else "train"},
            }
        )
    return rows


@pytest.mark.slow
def test_lora_on_the_builtin_model_lowers_the_loss(tunesmith_home):
    ws = Workspace(tunesmith_home)
    DatasetStore(ws).commit("golden", golden_rows(), operation="import", parent=None)
    recipe, profile = default_recipe("builtin:smollm2-135m-instruct", "golden@v1", method="lora")
    assert profile.train_rows == 16 and recipe.loss == "assistant_only"
    recipe = recipe.with_overrides(
        {
            "max_steps": 4,
            "learning_rate": 1e-3,
            "batch_size": 4,
            "grad_accum": 1,
            "eval_steps": 4,
            "save_steps": 4,
        }
    )
    run = runner.launch(recipe, ws=ws, settings=get_settings())
    done = wait_for(ws, run.id, ("succeeded", "failed"), timeout=600)
    assert done.status == "succeeded", (done.cause, done.paths.log.read_text()[-2000:])
    losses = [
        m["loss"]
        for m in map(json.loads, done.paths.metrics.read_text().splitlines())
        if "loss" in m
    ]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert (done.run_dir / "final" / "adapter_config.json").is_file()
