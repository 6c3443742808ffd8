"""The `tunesmith` command line, run as a person runs it (a real subprocess, a real workspace)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import sample_data


def run_cli(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TUNESMITH_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_help_answers_without_importing_torch(tmp_path):
    result = run_cli("--help", home=tmp_path)
    assert result.returncode == 0
    for command in ("kb", "models", "config", "quickstart"):
        assert command in result.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ui.cli; print(sorted(m for m in ('torch', "
            "'transformers', 'faiss', 'sentence_transformers') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"


def test_config_shows_values_and_sources(tmp_path):
    result = run_cli("config", "--json", home=tmp_path / "h", cwd=tmp_path)
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["home"]["source"] == "environment (TUNESMITH_HOME)"
    assert rows["base_model"]["source"] == "default"


def test_kb_add_search_show_list_remove_on_the_sample_documents(tmp_path):
    home = tmp_path / "h"
    added = run_cli("kb", "add", "sample", str(sample_data.docs_dir()), "--json", home=home)
    assert added.returncode == 0, added.stderr
    report = json.loads(added.stdout)
    assert report["ok"] and {o["status"] for o in report["outcomes"]} == {"added"}

    found = run_cli(
        "kb", "search", "sample", "how much is shipping", "-k", "3", "--json", home=home
    )
    hits = json.loads(found.stdout)
    assert len(hits) == 3 and all(h["citation"] and h["score"] > 0 for h in hits)

    shown = json.loads(run_cli("kb", "show", "sample", "--json", home=home).stdout)
    assert shown["documents"] == len(sample_data.list_documents())
    listed = run_cli("kb", "list", home=home)
    assert "kb:sample" in listed.stdout and "flat index" in listed.stdout

    again = run_cli("kb", "add", "sample", str(sample_data.docs_dir()), home=home)
    assert again.returncode == 0 and "unchanged" in again.stdout

    removed = run_cli("kb", "remove", "sample", "--yes", home=home)
    assert removed.returncode == 0
    assert "No knowledge bases yet" in run_cli("kb", "list", home=home).stdout


def test_all_refused_exits_1_and_says_why(tmp_path):
    (tmp_path / "empty.md").write_text("")
    result = run_cli("kb", "add", "x", str(tmp_path / "empty.md"), home=tmp_path / "h")
    assert result.returncode == 1
    assert "refused" in result.stdout and "empty" in result.stdout.lower()
    assert "Nothing was added" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kb", "search", "missing", "refunds"], "no knowledge base named 'missing'"),
        (["kb", "add", "../evil", "x.md"], "looks like a path"),
        (["kb", "show", "bad name"], "is not allowed"),
    ],
)
def test_errors_say_what_was_wrong_and_what_to_do(tmp_path, args, message):
    result = run_cli(*args, home=tmp_path / "h")
    assert result.returncode == 2
    assert message in result.stderr and "What to do:" in result.stderr
    assert "Traceback" not in result.stderr
