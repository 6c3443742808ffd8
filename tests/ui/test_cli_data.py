"""`tunesmith data ...` driven as a person would: import, inspect, reshape, version, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app

ROWS = [
    {
        "prompt": "How long is the return window?",
        "completion": "30 days for unopened bags.",
        "meta": {"sources": ["shipping-returns.md"]},
    },
    {
        "prompt": "What does shipping cost?",
        "completion": "Free from $45. Write to jo@example.com",
        "meta": {"sources": ["shipping-returns.md"]},
    },
    {
        "prompt": "Who roasts the coffee?",
        "completion": "Our head roaster, every Tuesday.",
        "meta": {"sources": ["about.md"]},
    },
    {
        "prompt": "Can I pause my subscription?",
        "completion": "Yes, for up to 12 weeks.",
        "meta": {"sources": ["subscriptions.md"]},
    },
    {
        "prompt": "Can I pause my subscription?",
        "completion": "Yes, for up to 12 weeks.",
        "meta": {"sources": ["subscriptions.md"]},
    },
    {
        "prompt": "Where do the beans come from?",
        "completion": "Farms we visit every year.",
        "meta": {"sources": ["products.md"]},
    },
]


@pytest.fixture
def cli(tunesmith_home):
    runner = CliRunner()

    def invoke(*args: str) -> dict | str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if "--json" in args else result.stdout

    return invoke


@pytest.fixture
def faq_file(tmp_path) -> Path:
    path = tmp_path / "faq.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_import_show_filter_versions_diff_revert(cli, faq_file):
    v1 = cli("data", "import", "faq", str(faq_file), "--json")["version"]
    assert v1["ref"] == "ds:faq@v1" and v1["rows"] == 6 and v1["parent"] is None
    shown = cli("data", "show", "faq", "-n", "2", "--json")
    assert [r["id"] for r in shown["rows"]] == ["r00001", "r00002"]

    filtered = cli("data", "filter", "faq", 'contains(response, "weeks")', "--json")
    assert filtered["version"]["parent"] == 1 and filtered["version"]["rows"] == 2
    assert len(filtered["removed"]) == 4
    assert all(r["reason"] == 'filter: contains(response, "weeks")' for r in filtered["removed"])

    lineage = cli("data", "versions", "faq", "--json")["faq"]
    assert [(v["version"], v["parent"], v["operation"]) for v in lineage] == [
        (1, None, "import"),
        (2, 1, "filter"),
    ]
    diff = cli("data", "diff", "faq@v1", "faq@v2", "--json")
    assert sorted(diff["removed"]) == ["r00001", "r00002", "r00003", "r00006"]

    reverted = cli("data", "revert", "faq@v1", "--json")["version"]
    assert reverted["version"] == 3 and reverted["sha256"] == v1["sha256"]


def test_edit_delete_quality_split_and_stats(cli, faq_file, tunesmith_home):
    cli("data", "import", "faq", str(faq_file))
    edited = cli("data", "edit", "faq", "r00003", "response", "Mara roasts on Tuesdays.", "--json")
    row = cli("data", "show", "faq@v2", "-n", "10", "--json")["rows"][2]
    assert (
        edited["version"]["operation"] == "edit" and row["completion"] == "Mara roasts on Tuesdays."
    )

    deleted = cli("data", "delete", "faq", "r00006", "--json")
    assert deleted["removed"] == [{"id": "r00006", "reason": "delete: by id"}]

    cleaned = cli(
        "data",
        "quality",
        "faq",
        "--step",
        "pii:mode=redact",
        "--step",
        "dedupe:method=exact",
        "--json",
    )
    assert cleaned["version"]["rows"] == 4
    assert [r["reason"].split(":")[0] for r in cleaned["removed"]] == ["exact duplicate"]
    rows = cli("data", "show", "faq", "-n", "10", "--json")["rows"]
    assert any("[EMAIL]" in r["completion"] for r in rows)
    assert not any("jo@example.com" in r["completion"] for r in rows)

    split = cli("data", "split", "faq", "--eval-fraction", "0.3", "--json")
    assert split["leakage"]["ok"] and split["leakage"]["eval_rows"] >= 1
    sides = {}
    for r in cli("data", "show", "faq", "-n", "10", "--json")["rows"]:
        for source in r["meta"]["sources"]:
            sides.setdefault(source, set()).add(r["meta"]["split"])
    assert all(len(s) == 1 for s in sides.values()), sides

    stats = cli("data", "stats", "faq", "--model", "words", "--json")
    png = Path(stats["histogram"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert tunesmith_home in png.parents
    assert stats["rows"] == 4 and stats["exact_duplicates"] == 0


def test_export_then_import_is_the_identity(cli, faq_file, tmp_path):
    cli("data", "import", "faq", str(faq_file))
    for fmt, target in (("csv", "out.csv"), ("jsonl", "out.jsonl"), ("hf", "out_hf")):
        path = tmp_path / target
        cli("data", "export", "faq", "--out", str(path), "--format", fmt)
        cli("data", "import", f"back-{fmt}", str(path), "--format", fmt)
        original = cli("data", "show", "faq", "-n", "100", "--json")["rows"]
        again = cli("data", "show", f"back-{fmt}", "-n", "100", "--json")["rows"]
        assert again == original, fmt
    cli("data", "export", "faq", "--out", str(tmp_path / "chat.jsonl"), "--format", "openai")
    lines = (tmp_path / "chat.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {
        "messages": [
            {"role": "user", "content": ROWS[0]["prompt"]},
            {"role": "assistant", "content": ROWS[0]["completion"]},
        ]
    }


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TUNESMITH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_refused_import_says_where_and_stores_nothing(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "completion": "b"}\nnot json\n{"messages": []}\n')
    result = _run(tmp_path / "h", "data", "import", "bad", str(bad))
    assert result.returncode == 2
    assert "line 2: not_json" in result.stderr and "line 3: empty_messages" in result.stderr
    assert "Nothing was stored" in result.stderr
    listing = _run(tmp_path / "h", "data", "versions", "--json")
    assert json.loads(listing.stdout) == {}
    assert not (tmp_path / "h" / "datasets" / "bad").exists()


def test_bad_filter_points_at_the_column(tmp_path, faq_file):
    home = tmp_path / "h"
    assert _run(home, "data", "import", "faq", str(faq_file)).returncode == 0
    result = _run(home, "data", "filter", "faq", "len(prompt) >")
    assert result.returncode == 2 and "^" in result.stderr and "Valid forms" in result.stderr
    unknown = _run(home, "data", "show", "faq@v9")
    assert unknown.returncode == 2 and "v1..v1" in unknown.stderr
