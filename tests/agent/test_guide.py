"""The offline guide: rule slot filling, routing by meaning on the built-in tools (with the
figures on the dev paraphrases and on the blind held-out set), questions for what is missing,
and what it says when it is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.brains.guide import Guide
from agent.guide.replies import next_step
from agent.guide.slots import extract, fill, routing_text
from tools.builtin import builtin_tools
from tools.registry import ToolRegistry

PARAPHRASES = Path(__file__).with_name("paraphrases.yaml")
FRESH = Path(__file__).with_name("paraphrases_fresh.yaml")
HELDOUT = Path(__file__).with_name("paraphrases_heldout.yaml")
"""Written blind by someone who never saw the examples, the router or the two sets above; never
used to choose anything, so its figure is the honest out-of-sample estimate."""


def _builtin_registry() -> ToolRegistry:
    registry = ToolRegistry()
    for spec in builtin_tools():
        assert registry.register(spec), registry.refused
    return registry


@pytest.fixture(scope="module")
def guide():
    return Guide(_builtin_registry())


def test_slots_are_read_from_plain_words():
    slots = extract(
        "make 30 rows from kb:docs with openai:gpt-4o-mini into coffee@v2, hold out 20% "
        "for eval, answers under 60 words, call it 'espresso' and use ./golden/posts.jsonl"
    )
    assert slots.numbers == [30]
    assert slots.kbs == ["docs"] and slots.datasets == ["coffee@v2"]
    assert slots.model_refs == ["openai:gpt-4o-mini"]
    assert slots.percents == [20.0] and slots.word_limit == 60
    assert slots.quoted == ["espresso"] and slots.paths == ["./golden/posts.jsonl"]
    assert extract("evaluate run:r-20261127-101500-ab12 on ds:faq@v3").runs == [
        "r-20261127-101500-ab12"
    ]
    assert extract("compare eval:e-1 with eval:e-2").evals == ["e-1", "e-2"]
    assert routing_text("add /tmp/a/b/company-docs now") == "add the files now"


def test_arguments_land_in_the_fields_of_the_tool(guide):
    def args(tool, text, keep=None):
        return fill(guide.registry.get(tool), text, keep)

    assert args("synthesize_dataset", "make 30 rows from kb:docs with openai:m") == {
        "kb": "docs",
        "n": 30,
        "model": "openai:m",
    }
    assert args("edit_dataset", "get rid of the repeated rows in coffee@v2") == {
        "operation": "dedupe",
        "dataset": "coffee@v2",
    }
    assert args("edit_dataset", "set aside 15% of the rows for evaluation") == {
        "operation": "split",
        "percent": 15,
    }
    assert args("edit_dataset", "keep rows where 'tokens < 300'") == {
        "operation": "filter",
        "where": "tokens < 300",
    }
    assert args("set_use_case", "every reply must mention #Gullhaven") == {
        "must_contain": ["#Gullhaven"]
    }
    assert args("set_use_case", "keep answers below 40 words") == {"max_words": 40}
    # A number with its unit goes where the unit says, never to a field of another unit.
    assert args("start_training", "fine-tune it for 10 steps") == {"overrides": {"max_steps": 10}}
    assert args("start_training", "train on faq@v2 for 3 epochs") == {
        "dataset": "faq@v2",
        "epochs": 3,
    }
    assert args("export_model", "export the model merged") == {"merge": True}
    assert args("export_model", "export the model") == {}
    goal = "I want a model that writes posts for our bakery, under 50 words"
    assert args("set_use_case", goal) == {"description": goal, "max_words": 50}
    assert args("try_model", "ask the tuned model: do you ship abroad?") == {
        "question": "do you ship abroad?"
    }
    assert args("compare_evaluations", "compare eval:e-1 and eval:e-2") == {
        "eval_ids": ["e-1", "e-2"]
    }
    assert args("show_dataset", "show 5 rows", keep={"dataset": "a@v1"}) == {
        "dataset": "a@v1",
        "n": 5,
    }


def routing_accuracy(
    guide, path: Path, every_tool: bool = True, drop_examples: bool = False
) -> float:
    """Share of the file's {text, tool} rows the guide routes to their tool (misses printed).

    `drop_examples` leaves out rows that happen to equal a tool's example word for word (a blind
    writer can hit "what can you do?" too): they would measure recall, not generalisation.
    """
    rows = yaml.safe_load(path.read_text())
    assert rows and all({"text", "tool"} <= set(row) for row in rows), path
    examples = {e.lower() for spec in guide.registry for e in spec.examples}
    if drop_examples:
        dropped = [r["text"] for r in rows if r["text"].lower() in examples]
        rows = [r for r in rows if r["text"].lower() not in examples]
        print(f"\n{path.name}: left out {len(dropped)} row(s) equal to an example: {dropped}")
        assert len(rows) >= 40
    tools = {row["tool"] for row in rows}
    if every_tool:
        assert tools == set(guide.registry.names())
    else:
        assert tools <= set(guide.registry.names()), tools - set(guide.registry.names())
    examples = {e.lower() for spec in guide.registry for e in spec.examples}
    assert not [r["text"] for r in rows if r["text"].lower() in examples]
    misses = [(r["text"], r["tool"], guide.plan(r["text"]).tool) for r in rows]
    misses = [miss for miss in misses if miss[1] != miss[2]]
    accuracy = 1 - len(misses) / len(rows)
    print(f"\n{path.name}: routing accuracy {accuracy:.1%} ({len(rows) - len(misses)}/{len(rows)})")
    for miss in misses:
        print("  miss:", miss)
    return accuracy


def test_routing_accuracy_on_held_out_paraphrases(guide):
    rows = yaml.safe_load(PARAPHRASES.read_text())
    assert len(rows) >= 40
    assert all(sum(r["tool"] == t for r in rows) >= 2 for t in guide.registry.names())
    assert routing_accuracy(guide, PARAPHRASES) >= 0.9
    assert routing_accuracy(guide, FRESH) >= 0.9


def test_routing_accuracy_on_the_blind_held_out_paraphrases(guide):
    assert HELDOUT.exists(), f"{HELDOUT.name} is missing: it is the blind held-out set"
    assert routing_accuracy(guide, HELDOUT, every_tool=False, drop_examples=True) >= 0.9


def test_what_is_missing_becomes_a_question_and_the_answer_completes_it(guide):
    asked = guide.plan("please add some documents to the knowledge base")
    assert asked.tool == "add_documents" and asked.missing == ["paths"]
    assert asked.reply.startswith("To add documents I need: paths (Files or folders to add")
    draft = {"tool": asked.tool, "args": asked.args, "missing": asked.missing}
    answered = guide.plan("./handbook", draft=draft)
    assert (answered.tool, answered.args, answered.reply) == (
        "add_documents",
        {"paths": ["./handbook"]},
        "",
    )
    # a clearly different request drops the draft, even one carrying values the draft could use
    switched = guide.plan("stop the training right now", draft=draft)
    assert switched.tool == "cancel_training"
    training = {"tool": "start_training", "args": {}, "missing": []}
    assert guide.plan("what does our documentation say about refunds?", draft=training).tool == (
        "search_knowledge"
    )
    kept = guide.plan("use pattern@v1 with LoRA", draft=training)
    assert (kept.tool, kept.args) == ("start_training", {"dataset": "pattern@v1", "method": "lora"})


def test_off_topic_messages_are_not_guessed(guide):
    for text in ("what's the weather in Paris tomorrow?", "sing me a song about cats"):
        plan = guide.plan(text)
        assert plan.tool is None and plan.reply.startswith("I did not understand that.")
        assert '- add documents: e.g. "add the documents in ./docs"' in plan.reply
        assert plan.reply.endswith(next_step({}) + ".")


def test_next_step_follows_the_position():
    assert next_step({}).startswith("say what the model should do")
    assert next_step({"use_case": {"description": "x"}}).startswith("add your documents")
    assert next_step({"use_case": {}, "kb": "kb:d"}) == next_step({"kb": "kb:d"})
    full = {"use_case": {"d": 1}, "kb": "k", "dataset": "d", "run": "r", "eval": "e"}
    assert next_step(full).startswith("get advice for the next run")


def test_the_guide_uses_a_plugin_tool_like_a_builtin(tunesmith_home, monkeypatch):
    from importlib.metadata import EntryPoint

    from agent.session import AgentSession
    from tools.registry import ENTRY_POINT_GROUP, load_registry

    monkeypatch.syspath_prepend(str(PARAPHRASES.parents[1] / "assets" / "example_plugin"))
    points = [
        EntryPoint("builtin", "tools.builtin:builtin_tools", ENTRY_POINT_GROUP),
        EntryPoint("word_count", "tunesmith_word_count:WORD_COUNT", ENTRY_POINT_GROUP),
    ]
    chat = AgentSession(registry=load_registry(points))
    events = list(chat.send('how many words are in "one two three four"?'))
    ends = [e for e in events if e.kind == "tool_end"]
    assert [(e.data["tool"], e.data["artifact"]) for e in ends] == [("word_count", {"words": 4})]
    assert events[-1].kind == "message" and events[-1].text == "4 words."


def test_uploads_with_a_request_are_taken_then_the_request_is_done(tunesmith_home):
    import json

    from agent.session import AgentSession
    from core.workspace import Workspace

    ws = Workspace(tunesmith_home)
    upload = ws.root / "uploads" / "support-pairs.jsonl"
    upload.parent.mkdir(exist_ok=True)
    rows = [{"prompt": f"Question {i}?", "completion": f"Answer {i}."} for i in range(6)]
    upload.write_text("".join(json.dumps(r) + "\n" for r in rows))
    chat = AgentSession(ws=ws, registry=_builtin_registry())
    events = list(chat.send("show me 2 rows of it", files=[upload]))
    ends = [(e.data["tool"], e.data["ok"]) for e in events if e.kind == "tool_end"]
    assert ends == [("import_dataset", True), ("show_dataset", True)]
    shown = [e for e in events if e.kind == "tool_end"][1].data["artifact"]
    assert shown["dataset"] == "ds:support-pairs@v1" and len(shown["table"]) == 2
    assert events[-1].kind == "message" and "Question 0?" in events[-1].text
