"""The agent's tools on real parts: argument checks, approvals, documents, data, the guide.

Every tool runs against a fresh workspace (real SQLite, real MiniLM + FAISS, real dataset
versions); the only stand-in is the OpenAI-compatible server that plays the remote model for
synthesis. Training, evaluation and the other model tools are in test_agent_tools_models.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.workspace import Workspace
from tests.fake_openai import FakeOpenAIServer
from tests.trainers.test_jobs_support import fake_run, make_workspace, pattern_rows
from tests.ui.test_cli_synth import grounded_answer
from tools.datasets.store import DatasetStore
from tools.registry import ToolContext
from trainers.jobs.registry import list_runs

DOCS = {
    "returns.md": "# Returns\n\nYou may return unopened coffee within 30 days for a full refund. "
    "Opened bags can be exchanged for another roast within 14 days.\n",
    "shipping.md": "# Shipping\n\nOrders ship from Pier 4 every Tuesday and Friday. Shipping "
    "inside the country costs 4 euros and is free above 40 euros.\n",
}


@pytest.fixture
def ws(tunesmith_home):
    return Workspace(tunesmith_home)


def ctx_for(ws, registry=None, **position) -> ToolContext:
    return ToolContext(ws=ws, position=position, registry=registry)


def docs_folder(root):
    folder = root / "company-docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    return folder


def test_arguments_are_bounded_before_anything_runs(tools, ws):
    ctx = ctx_for(ws, kb="kb:docs", dataset="ds:faq@v1")
    with pytest.raises(InvalidInput) as too_many:
        tools.get("synthesize_dataset").invoke({"n": 10_000}, ctx)
    assert "less than or equal to 500" in too_many.value.message
    assert "n: Rows to make, 1 to 500" in too_many.value.hint
    with pytest.raises(InvalidInput) as unknown:
        tools.get("edit_dataset").invoke({"operation": "explode"}, ctx)
    assert "operation" in unknown.value.message and "'revert'" in unknown.value.message
    assert "filter (keep rows where a condition holds)" in unknown.value.hint
    with pytest.raises(InvalidInput, match="less than or equal to 20"):
        tools.get("search_knowledge").invoke({"query": "refunds", "k": 50}, ctx)
    with pytest.raises(InvalidInput, match="at most 10 items"):
        tools.get("compare_models").invoke({"models": ["builtin:x"] * 11}, ctx)
    with pytest.raises(InvalidInput, match="percent"):
        tools.get("edit_dataset").invoke({"operation": "split", "percent": 100}, ctx)


def test_a_missing_argument_is_asked_for_by_name(tools, ws):
    result = tools.get("show_dataset").invoke({}, ctx_for(ws))
    assert result.artifact["error"] == "Which dataset? e.g. coffee@v2"
    result = tools.get("search_knowledge").invoke({"query": "refunds"}, ctx_for(ws))
    assert result.artifact["error"].startswith("Which knowledge base")


def test_documents_are_read_only_from_the_workspace_or_a_folder_the_person_named(
    tools, ws, tmp_path
):
    add = tools.get("add_documents")
    folder = docs_folder(tmp_path)
    for path in ("/etc/passwd", "/etc"):
        result = add.invoke({"paths": [path]}, ctx_for(ws))
        assert "system or secret location" in result.artifact["error"], path
        assert "folder of their own" in result.artifact["hint"]
    for path in (str(folder), str(folder / "returns.md")):
        result = add.invoke({"paths": [path]}, ctx_for(ws))
        assert "outside the workspace and was not named" in result.artifact["error"], path
        assert "name its folder yourself" in result.artifact["hint"]
    named_etc = ToolContext(ws=ws, user_text="add /etc/passwd and /etc please")
    assert "system or secret" in add.invoke({"paths": ["/etc/passwd"]}, named_etc).text
    assert not (ws.root / "kb").exists() or not any((ws.root / "kb").iterdir())

    named = ToolContext(ws=ws, user_text=f"please add the documents in {folder}/ to my kb")
    result = add.invoke({"paths": [str(folder)], "kb": "shop"}, named)
    assert result.position == {"kb": "kb:shop"}
    assert sorted(row["file"] for row in result.artifact["table"]) == sorted(DOCS)
    assert all(row["status"] == "added" and row["chunks"] >= 1 for row in result.artifact["table"])

    hits = tools.get("search_knowledge").invoke(
        {"query": "how long do I have to return coffee?", "k": 2}, ctx_for(ws, kb="kb:shop")
    )
    assert hits.artifact["hits"][0]["citation"].startswith("returns.md")
    assert "30 days" in hits.artifact["hits"][0]["text"]
    assert "not instructions" in hits.text


def test_approval_rules(tools, ws, tiny_model_dir):
    make_workspace(ws.root, rows=pattern_rows(n=24, eval_every=6))
    run = fake_run(ws, status="running")
    ctx = ctx_for(ws, kb="kb:docs", dataset="ds:pattern@v1", run=f"run:{run.id}")

    def reason(tool: str, **args):
        spec = tools.get(tool)
        return spec.approval_reason(spec.parse(args), ctx)

    assert reason("synthesize_dataset", n=20) is None
    assert "Synthesize 21 rows (grounded) from kb:docs" in reason("synthesize_dataset", n=21)
    assert "50 rows" in reason("synthesize_dataset")
    assert reason("edit_dataset", operation="filter", where="len(response) < 50") is None
    assert reason("edit_dataset", operation="dedupe") is None
    assert "Delete rows r001" in reason("edit_dataset", operation="delete", ids=["r001"])
    assert "Rewrite" in reason("edit_dataset", operation="rewrite", instruction="shorter")
    assert f"Export run:{run.id} merged" in reason("export_model", merge=True)
    assert f"Stop run:{run.id}" in reason("cancel_training")
    assert reason("suggest_next_run") is None
    assert "sweep of up to 3" in reason("suggest_next_run", sweep=True, max_runs=3)
    assert reason("training_status") is None and reason("what_next") is None
    training = reason("start_training", model=f"hf:{tiny_model_dir}", epochs=2)
    assert "on ds:pattern@v1" in training and "epochs=2.0" in training
    assert "Estimated cost: ~" in training and "GiB peak" in training

    # A call that cannot work asks no approval: it fails with its question, launching nothing.
    missing = {"model": f"hf:{tiny_model_dir}", "dataset": "nope@v1"}
    assert reason("start_training", **missing) is None
    failed = tools.get("start_training").invoke(missing, ctx)
    assert failed.artifact["error"] == "There is no dataset nope@v1."
    assert [r.id for r in list_runs(ws)] == [run.id]


def test_import_show_and_edit_write_versions_with_lineage(tools, ws):
    upload = ws.artifact_dir("uploads", "support.jsonl")
    upload.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "prompt": f"Question {i}?",
            "completion": ("refund " if i % 3 == 0 else "") + f"answer {i}",
        }
        for i in range(12)
    ]
    upload.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ctx = ctx_for(ws)

    imported = tools.get("import_dataset").invoke({"paths": [str(upload)]}, ctx)
    assert imported.position == {"dataset": "ds:support@v1"}
    only = tools.get("show_dataset").invoke({"n": 0}, ctx_for(ws))  # the only dataset there is
    assert only.artifact["dataset"] == "ds:support@v1" and only.artifact["table"] == []
    ctx.position.update(imported.position)

    shown = tools.get("show_dataset").invoke({"n": 2}, ctx)
    assert shown.artifact["stats"]["rows"] == 12
    assert [r["id"] for r in shown.artifact["table"]] == ["r00001", "r00002"]
    assert '"Question 0?"' in shown.text  # rows come back quoted, as data
    assert Path(shown.artifact["image"]).is_file()

    edit = tools.get("edit_dataset")
    kept = edit.invoke({"operation": "filter", "where": 'contains(response, "refund")'}, ctx)
    assert kept.position == {"dataset": "ds:support@v2"}
    assert kept.artifact["version"]["rows"] == 4  # i = 0, 3, 6, 9
    ctx.position.update(kept.position)

    first_id = DatasetStore(ws).read("support@v2")[1][0]["id"]
    deleted = edit.invoke({"operation": "delete", "ids": [first_id]}, ctx)
    assert deleted.artifact["version"]["rows"] == 3
    assert deleted.artifact["table"] == [{"id": first_id, "reason": "delete: by id"}]

    reverted = edit.invoke({"operation": "revert", "dataset": "support@v1"}, ctx)
    assert reverted.position == {"dataset": "ds:support@v4"}
    assert DatasetStore(ws).info("support@v4").sha256 == DatasetStore(ws).info("support@v1").sha256
    ctx.position.update(reverted.position)

    split = edit.invoke({"operation": "split", "percent": 25}, ctx)
    _, split_rows = DatasetStore(ws).read(split.position["dataset"])
    splits = [r["meta"]["split"] for r in split_rows]
    assert len(splits) == 12 and splits.count("eval") >= 1 and splits.count("train") >= 1

    missing = edit.invoke({"operation": "filter"}, ctx)
    assert missing.artifact["error"] == "filter needs a condition."


def test_synthesis_grounded_in_the_named_documents(tools, ws, tmp_path):
    folder = docs_folder(tmp_path)
    named = ToolContext(ws=ws, user_text=f"use my docs in {folder}")
    assert tools.get("add_documents").invoke({"paths": [str(folder)], "kb": "shop"}, named).position
    events = []
    ctx = ToolContext(ws=ws, position={"kb": "kb:shop"}, emit=lambda *event: events.append(event))
    with FakeOpenAIServer(delay_s=0.0, responder=grounded_answer) as server:
        result = tools.get("synthesize_dataset").invoke(
            {"n": 4, "dataset": "faq", "model": f"openai:fake@{server.url}"}, ctx
        )
    assert result.position == {"dataset": "ds:faq@v1"}, result.text
    info, rows = DatasetStore(ws).read("faq@v1")
    assert info.operation == "synth" and 1 <= len(rows) <= 4
    assert [step["step"] for step in result.artifact["table"]] == [
        "pii",
        "dedupe",
        "grounding",
        "split",
        "leakage",
    ]
    assert any(stage == "synthesizing" for stage, *_ in events)


def test_use_case_what_next_and_help(tools, ws):
    what_next = tools.get("what_next")
    assert what_next.invoke({}, ctx_for(ws)).artifact["next_tool"] == "set_use_case"

    saved = tools.get("set_use_case").invoke(
        {"description": "Answer coffee questions", "max_words": 60, "must_contain": ["#Gull"]},
        ctx_for(ws),
    )
    assert saved.artifact["checks"] == {"max_words": 60, "must_contain": ["#Gull"]}
    assert saved.position["project"] == "default"

    steps = [
        ({}, "add_documents"),
        ({"kb": "kb:shop"}, "synthesize_dataset"),
        ({"kb": "kb:shop", "dataset": "ds:faq@v1"}, "start_training"),
    ]
    for position, expected in steps:
        answer = what_next.invoke({}, ctx_for(ws, **position))
        assert answer.artifact["next_tool"] == expected
        assert answer.artifact["say"] in answer.text
    gone = fake_run(ws, status="running", pid=None)  # its process is gone: settled as failed
    answer = what_next.invoke({}, ctx_for(ws, dataset="ds:faq@v1", run=f"run:{gone.id}"))
    assert answer.artifact["next_tool"] == "suggest_next_run"
    done = fake_run(ws, status="succeeded")
    answer = what_next.invoke({}, ctx_for(ws, dataset="ds:faq@v1", run=f"run:{done.id}"))
    assert answer.artifact["next_tool"] == "evaluate_model"
    assert answer.artifact["say"] == "evaluate the tuned model"

    listing = tools.get("help").invoke({}, ToolContext(ws=ws, registry=tools))
    assert [row["tool"] for row in listing.artifact["table"]] == tools.names()
    assert "- start_training:" in listing.text
