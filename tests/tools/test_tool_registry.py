"""The tool registry: built-ins and plugins load through entry points, broken ones are refused.

The example plugin under tests/assets is really installed (pip --target a temp folder), found
through its distribution's entry points, and its tool invoked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint, distributions
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from core.errors import InvalidInput
from tools.builtin import builtin_tools
from tools.registry import ENTRY_POINT_GROUP, ToolResult, ToolSpec, load_registry

PLUGIN_SOURCE = Path(__file__).resolve().parents[1] / "assets" / "example_plugin"
BUILTIN_NAMES = {
    "compare_models",
    "set_use_case",
    "add_documents",
    "search_knowledge",
    "synthesize_dataset",
    "import_dataset",
    "show_dataset",
    "edit_dataset",
    "start_training",
    "training_status",
    "cancel_training",
    "evaluate_model",
    "compare_evaluations",
    "suggest_next_run",
    "run_tests",
    "try_model",
    "export_model",
    "what_next",
    "help",
}


class _Args(BaseModel):
    pass


def _spec(name: str, examples: tuple[str, ...]) -> ToolSpec:
    return ToolSpec(
        name=name,
        description="A tool used by the registry tests to check validation.",
        args_schema=_Args,
        run=lambda args, ctx: ToolResult("ran"),
        examples=examples,
    )


BAD_NAME = _spec("Bad-Name", ("one phrasing", "two phrasing", "three phrasing"))
NO_EXAMPLES = _spec("no_examples", ())
GOOD = _spec("good_tool", ("do the good thing", "run the good tool", "be good"))


def _point(name: str, target: str) -> EntryPoint:
    return EntryPoint(name=name, value=target, group=ENTRY_POINT_GROUP)


def test_the_installed_entry_point_registers_every_builtin_and_each_validates():
    registry = load_registry()
    assert registry.refused == {}
    assert set(registry.names()) >= BUILTIN_NAMES
    for spec in registry:
        if spec.source != "builtin":
            continue
        assert len(spec.examples) >= 6, spec.name
        schema = spec.args_schema.model_json_schema()
        undocumented = [
            f for f, p in schema.get("properties", {}).items() if "description" not in p
        ]
        assert undocumented == [], (spec.name, undocumented)
        tool = spec.as_langchain_tool()  # the LLM brain binds these
        assert tool.name == spec.name and tool.args_schema is spec.args_schema


def test_broken_plugins_are_refused_with_their_reason_and_the_rest_load():
    here = "tests.tools.test_tool_registry"
    registry = load_registry(
        [
            _point("builtin", "tools.builtin:builtin_tools"),
            _point("bad_name", f"{here}:BAD_NAME"),
            _point("no_examples", f"{here}:NO_EXAMPLES"),
            _point("missing", "tunesmith_no_such_plugin:TOOLS"),
            _point("good", f"{here}:GOOD"),
        ]
    )
    assert "lowercase Python identifier" in registry.refused["bad_name:Bad-Name"]
    assert "at least 3" in registry.refused["no_examples:no_examples"]
    assert registry.refused["missing"].startswith("failed to load: ModuleNotFoundError")
    assert set(registry.names()) == BUILTIN_NAMES | {"good_tool"}
    assert registry.get("good_tool").source == "good"
    assert registry.get("good_tool").invoke({}).text == "ran"


def test_a_plugin_may_not_take_a_builtin_name():
    registry = load_registry(
        [_point("builtin", "tools.builtin:builtin_tools"), _point("x", f"{__name__}:HELP_TWIN")]
    )
    assert "already registered" in registry.refused["x:help"]
    assert registry.get("help").source == "builtin"


HELP_TWIN = _spec("help", ("a", "b", "c"))


def test_the_example_plugin_installs_and_its_tool_runs(tmp_path, monkeypatch):
    source = tmp_path / "src"
    shutil.copytree(PLUGIN_SOURCE, source)  # pip writes build files next to the source
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
        + ["--target", str(target), str(source)],
        check=True,
        capture_output=True,
    )
    monkeypatch.syspath_prepend(str(target))
    (dist,) = [d for d in distributions(path=[str(target)]) if d.name == "tunesmith-word-count"]
    points = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
    assert [ep.name for ep in points] == ["word_count"]

    registry = load_registry([_point("builtin", "tools.builtin:builtin_tools"), *points])
    assert registry.refused == {}
    spec = registry.get("word_count")
    assert spec.source == "word_count"
    result = spec.invoke({"text": "three little words"})
    assert result.text == "3 words." and result.artifact == {"words": 3}
    with pytest.raises(InvalidInput) as refused:
        spec.invoke({"text": ""})
    assert "text" in refused.value.message and "The text to count" in refused.value.hint
    help_text = registry.get("help").invoke({}, _ctx(registry)).text
    assert "word_count: Count the words of a text" in help_text


def _ctx(registry):
    from tools.registry import ToolContext

    return ToolContext(registry=registry)


def test_no_two_tools_share_a_near_duplicate_example():
    """The offline guide routes by similarity to the examples: tools must not overlap."""
    from core.embeddings import get_embedder

    specs = builtin_tools()
    owners = [spec.name for spec in specs for _ in spec.examples]
    texts = [text for spec in specs for text in spec.examples]
    vectors = np.asarray(get_embedder().encode(texts), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    clashes = [
        (owners[i], texts[i], owners[j], texts[j], round(float(similarity[i, j]), 3))
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if owners[i] != owners[j] and similarity[i, j] > 0.85
    ]
    assert clashes == []


def test_tunesmith_tools_lists_every_tool_with_its_approval_rule():
    from typer.testing import CliRunner

    from ui.cli import app

    result = CliRunner().invoke(app, ["tools", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_name = {tool["name"]: tool for tool in data["tools"]}
    assert set(by_name) >= BUILTIN_NAMES and data["refused"] == {}
    assert by_name["start_training"]["approval"] and not by_name["show_dataset"]["approval"]
    assert by_name["edit_dataset"]["arguments"][0] == "operation"
