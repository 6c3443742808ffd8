"""The agent's model tools on the tiny local model: train (idempotent), watch, cancel, export,
evaluate, compare, advise, try, test and compare models, each against a fresh workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.trainers.test_jobs_support import fake_run, make_workspace, wait_for
from tools.registry import ToolContext
from trainers.jobs import procs

SUITE = Path(__file__).resolve().parents[1] / "assets" / "suites" / "tiny_pass_fail.yaml"


@pytest.fixture
def ws(tunesmith_home):
    return make_workspace(tunesmith_home)  # ds:pattern@v1: 32 rows, 4 of them in eval


def test_training_is_approved_launched_once_and_cancelled(tools, ws, tiny_model_dir):
    ctx = ToolContext(ws=ws, position={"dataset": "ds:pattern@v1"})
    args = {"model": f"hf:{tiny_model_dir}", "method": "lora", "overrides": {"max_steps": 5000}}
    start = tools.get("start_training")
    reason = start.approval_reason(start.parse(args), ctx)
    assert "max_steps=5000" in reason and "Estimated cost: ~" in reason
    first = start.invoke(args, ctx)
    run_ref = first.position["run"]
    assert first.artifact["duplicate"] is False and run_ref.startswith("run:r-")
    again = start.invoke(args, ctx)  # a resumed or repeated call: the queue dedupes it
    assert again.artifact["run"] == run_ref and again.artifact["duplicate"] is True
    assert "already exists" in again.text and "not started twice" in again.text

    ctx.position.update(first.position)
    status = tools.get("training_status").invoke({}, ctx)
    assert status.artifact["status"] in ("queued", "running")
    cancel = tools.get("cancel_training")
    assert f"Stop {run_ref}" in cancel.approval_reason(cancel.parse({}), ctx)
    stopped = cancel.invoke({}, ctx)
    assert stopped.artifact == {"run": run_ref, "status": "cancelled"}
    run = wait_for(ws, run_ref.removeprefix("run:"), ("cancelled",), 5)
    assert run.pid is None or not procs.is_alive(run.pid, run.proc_start)
    refused = cancel.invoke({}, ctx)
    assert "only queued or running runs can be cancelled" in refused.artifact["error"]
    assert "is cancelled" in tools.get("training_status").invoke({}, ctx).text


def test_export_writes_the_adapter_and_a_card_inside_the_workspace(tools, ws, tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = fake_run(ws, status="succeeded")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    adapter = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    adapter.save_pretrained(run.paths.final)  # what a finished LoRA run leaves in final/
    ctx = ToolContext(ws=ws, position={"run": f"run:{run.id}"})

    export = tools.get("export_model")
    reason = export.approval_reason(export.parse({"merge": True}), ctx)
    assert f"Export run:{run.id} merged" in reason
    exported = export.invoke({}, ctx)
    folder = Path(exported.artifact["path"])
    assert folder == ws.root / "exports" / run.id
    assert (folder / "adapter_config.json").is_file()
    card = Path(exported.artifact["card"]).read_text()
    assert card.startswith("---") and f"# run:{run.id} (" in card


def test_status_and_advice_read_the_run_metrics(tools, ws):
    run = fake_run(ws, status="succeeded")
    records = [{"step": s, "epoch": s / 10, "loss": 3.0 - 0.1 * s} for s in range(1, 11)]
    records.append({"step": 10, "epoch": 1.0, "eval_loss": 2.5})
    run.paths.metrics.write_text("".join(json.dumps(r) + "\n" for r in records))
    ctx = ToolContext(ws=ws, position={"run": f"run:{run.id}"})

    status = tools.get("training_status").invoke({}, ctx)
    assert status.artifact["step"] == 10 and status.artifact["total_steps"] == 20
    assert status.artifact["loss"] == pytest.approx(2.0)
    assert status.artifact["eval_loss"] == 2.5
    assert "last loss 2.0000, eval loss 2.5000" in status.text

    advice = tools.get("suggest_next_run").invoke({}, ctx)
    assert advice.artifact["run"] == f"run:{run.id}"
    assert advice.artifact["findings"], advice.text
    for proposal in advice.artifact["proposals"]:
        if proposal["changes"]:
            assert Path(proposal["recipe_file"]).is_file()


def test_evaluate_two_models_then_compare(tools, ws, tiny_model_dir):
    model = f"hf:{tiny_model_dir}"
    ctx = ToolContext(ws=ws, position={"dataset": "ds:pattern@v1"})
    events = []
    ctx.emit = lambda *event: events.append(event)
    evaluated = tools.get("evaluate_model").invoke(
        {"models": [model, model], "max_new_tokens": 4}, ctx
    )
    evals = evaluated.position["evals"]
    assert len(evals) == 2 and evaluated.position["eval"] == evals[1]
    assert [row["n"] for row in evaluated.artifact["table"]] == [4, 4]
    assert all(Path(path).is_file() for path in evaluated.artifact["reports"])
    assert any(stage.startswith("evaluating") for stage, *_ in events)

    ctx.position.update(evaluated.position)
    compared = tools.get("compare_evaluations").invoke({}, ctx)
    assert Path(compared.artifact["html"]).is_file()
    rows = compared.artifact["table"]
    assert rows and all(row["delta"] == 0 and not row["significant"] for row in rows)
    assert "better beyond noise on nothing" in compared.text

    nothing = tools.get("compare_evaluations").invoke({"eval_ids": None}, ToolContext(ws=ws))
    assert nothing.artifact["error"].startswith("Which evaluations should I compare?")


def test_try_test_and_compare_models_on_the_tiny_model(tools, ws, tiny_model_dir):
    model = f"hf:{tiny_model_dir}"
    ctx = ToolContext(ws=ws)
    answer = tools.get("try_model").invoke(
        {"question": "What is the capital of France?", "model": model, "max_new_tokens": 4}, ctx
    )
    assert answer.artifact["model"] == model and 1 <= answer.artifact["output_tokens"] <= 4
    assert json.dumps(answer.artifact["text"], ensure_ascii=False) in answer.text  # quoted

    run_tests = tools.get("run_tests")
    refused = run_tests.invoke({"model": model, "suite": str(SUITE)}, ctx)
    assert "was not named" in refused.artifact["error"]
    named = ToolContext(ws=ws, user_text=f"run the tests in {SUITE}")
    tested = run_tests.invoke({"model": model, "suite": str(SUITE)}, named)
    assert (tested.artifact["passed"], tested.artifact["failed"]) == (1, 2)
    assert "1 of 3 cases passed" in tested.text and "wants-a-word-it-cannot-say" in tested.text

    examples = [{"input": "Hello?"}, {"input": "Where is Paris?", "output": "In France."}]
    assert tools.get("set_use_case").invoke({"examples": examples}, ctx).position
    lab = tools.get("compare_models").invoke({"models": [model], "max_new_tokens": 4}, ctx)
    assert lab.position["experiment"].startswith("exp:")
    assert "2 inputs x 1 models" in lab.text  # the use case's examples, by default
    assert [row["model"] for row in lab.artifact["table"]] == [model]
    assert Path(lab.artifact["html"]).is_file()
