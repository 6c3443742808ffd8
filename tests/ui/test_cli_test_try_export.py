"""`tunesmith test`, `tunesmith try` and `tunesmith export` driven as a person would: the tiny
model, a tiny knowledge base, a real PEFT adapter in a run folder, and the real entry point for
the exit codes (0 all passed, 1 a case failed, 2 bad input)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.workspace import Workspace
from tests.core.test_model_tuned import save_lora
from tests.trainers.test_jobs_support import fake_run
from tools.export.gguf import ENV_VAR
from ui.cli import app, main

SUITES = Path(__file__).parents[1] / "assets" / "suites"


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the console-script entry point, which turns Tunesmith errors into exit code 2."""
    monkeypatch.setattr(sys, "argv", ["tunesmith", *args])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


# -- tunesmith test ----------------------------------------------------------------------------


def test_a_failing_case_prints_why_and_exits_1(tunesmith_home, tiny_model_dir):
    suite = str(SUITES / "tiny_pass_fail.yaml")
    result = CliRunner().invoke(app, ["test", f"hf:{tiny_model_dir}", "--suite", suite])
    assert result.exit_code == 1, result.output
    assert "PASS loose-limits" in result.stdout
    assert "FAIL wants-a-word-it-cannot-say  (line 12)" in result.stdout
    assert "- missing 'Paris is the capital'" in result.stdout
    assert "characters > max_chars 1" in result.stdout
    assert "1/3 passed, 2 failed" in result.stdout

    as_json = CliRunner().invoke(app, ["test", f"hf:{tiny_model_dir}", "--suite", suite, "--json"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert (data["passed"], data["failed"], data["total"]) == (1, 2, 3)
    assert [c["name"] for c in data["cases"] if not c["passed"]] == [
        "wants-a-word-it-cannot-say",
        "two-failures",
    ]


def test_an_all_passing_suite_exits_0(tunesmith_home, tiny_model_dir, tmp_path):
    suite = tmp_path / "ok.yaml"
    suite.write_text("max_new_tokens: 4\ncases:\n  - prompt: Hi\n    max_words: 100\n")
    result = CliRunner().invoke(app, ["test", f"hf:{tiny_model_dir}", "-s", str(suite)])
    assert result.exit_code == 0, result.output
    assert "1/1 passed" in result.stdout


def test_a_bad_suite_exits_2_naming_the_case_and_line(tunesmith_home, monkeypatch, capsys):
    code, _, err = _main(
        monkeypatch, capsys, "test", "hf:/no/model", "--suite", str(SUITES / "unknown_key.yaml")
    )
    assert code == 2
    assert "case 2 'refunds' (line 7): unknown key 'contians'" in err
    assert "Did you mean 'contains'?" in err


# -- tunesmith try -----------------------------------------------------------------------------


def test_try_answers_piped_lines_keeps_the_conversation_and_obeys_commands(
    tunesmith_home, tiny_model_dir
):
    lines = "hello\nhello\n/reset\n\nhello\n/quit\nnever answered\n"
    result = CliRunner().invoke(
        app,
        ["try", f"hf:{tiny_model_dir}", "--max-new-tokens", "3", "--json"],
        input=lines,
    )
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 3  # the blank line is skipped, nothing after /quit
    first, second, after_reset = answers
    assert second["prompt_tokens"] > first["prompt_tokens"]  # the first turn is in the prompt
    assert after_reset["prompt_tokens"] == first["prompt_tokens"]  # /reset forgot it
    assert all(a["output_tokens"] == 3 and a["sources"] == [] for a in answers)


def test_try_with_a_kb_lists_the_sources(tunesmith_home, tiny_model_dir, tmp_path):
    from tools.knowledge.kb import add_documents

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bikes.md").write_text("# Bikes\n\nBicycle chains need oiling every month.\n")
    add_documents("gear", [docs], ws=Workspace(tunesmith_home))
    result = CliRunner().invoke(
        app,
        ["try", f"hf:{tiny_model_dir}", "--kb", "gear", "-k", "1", "--max-new-tokens", "3"],
        input="How often do I oil a chain?\n",
    )
    assert result.exit_code == 0, result.output
    assert "  [1] bikes.md, § Bikes, chars" in result.stdout


# -- tunesmith export --------------------------------------------------------------------------


def test_export_cli_writes_the_folder_and_explains_a_missing_gguf_converter(
    tunesmith_home, tiny_model_dir, tmp_path, monkeypatch
):
    ws = Workspace(tunesmith_home)
    run = fake_run(ws, status="succeeded", base_model=f"hf:{tiny_model_dir}")
    save_lora(tiny_model_dir, run.paths.final)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # no llama.cpp there
    monkeypatch.setenv("PATH", str(tmp_path))

    plain = CliRunner().invoke(app, ["export", run.id])
    assert plain.exit_code == 0, plain.output
    assert f"Exported run:{run.id} (adapter)" in plain.stdout
    assert "adapter_model.safetensors" in plain.stdout
    assert (tunesmith_home / "exports" / run.id / "README.md").is_file()

    merged = CliRunner().invoke(app, ["export", f"run:{run.id}", "--gguf", "--json"])
    assert merged.exit_code == 0, merged.output
    data = json.loads(merged.stdout)
    assert data["kind"] == "merged" and data["gguf_path"] is None
    assert "model.safetensors" in data["files"]
    assert any("GGUF skipped" in note and "llama.cpp" in note for note in data["notes"])
    assert any("merged into its base" in note for note in data["notes"])


def test_export_of_an_unknown_run_exits_2(tunesmith_home, monkeypatch, capsys):
    Workspace(tunesmith_home)
    code, _, err = _main(monkeypatch, capsys, "export", "r-missing")
    assert code == 2 and "There is no run r-missing" in err and "runs list" in err
