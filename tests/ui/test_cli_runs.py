"""`tunesmith runs ...` on a workspace holding finished runs (no training needed here)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from core.atomic import write_json, write_jsonl
from core.workspace import Workspace
from tests.trainers.test_jobs_support import fake_run
from trainers.jobs.registry import RunInfo
from ui.commands.runs import app as runs_app

app = typer.Typer()
app.add_typer(runs_app, name="runs")


def _finished_run(home, status: str, cause: str = "", **files) -> RunInfo:
    """A finished run's registry row and folder, with metrics, a log and the given JSON files."""
    ws = Workspace(home)
    run = fake_run(ws, status, cause=cause, attempt=1)
    write_jsonl(
        run.paths.metrics,
        [
            {"step": 1, "loss": 3.5, "learning_rate": 0.005, "tokens_per_s": 900.0},
            {"step": 20, "loss": 0.25, "learning_rate": 0.0001, "tokens_per_s": 1000.0},
            {"step": 20, "eval_loss": 0.3},
        ],
    )
    run.paths.log.write_text("line one\nline two\n")
    for name, data in files.items():
        write_json(getattr(run.paths, name), data)
    return run


def test_list_show_logs(tunesmith_home):
    ok = _finished_run(tunesmith_home, "succeeded", result={"global_step": 20})
    (ok.paths.final).mkdir()
    bad = _finished_run(
        tunesmith_home,
        "failed",
        "bad data",
        error={"cause": "bad data", "message": "line 3: no_assistant_turn", "hint": "Fix it."},
    )
    runner = CliRunner()

    listed = runner.invoke(app, ["runs", "list"])
    assert listed.exit_code == 0, listed.output
    assert ok.id in listed.stdout and "succeeded" in listed.stdout
    assert "failed (bad data)" in listed.stdout and "loss 0.2500" in listed.stdout

    shown = runner.invoke(app, ["runs", "show", bad.id])
    assert "line 3: no_assistant_turn" in shown.stdout and "Fix it." in shown.stdout
    assert "high, because the tiny model" in shown.stdout, "the recipe's reasons"
    assert "eval_loss 0.3" in shown.stdout and "loss 0.25" in shown.stdout

    data = json.loads(runner.invoke(app, ["runs", "show", ok.id, "--json"]).stdout)
    assert data["status"] == "succeeded" and data["files"]["adapter"].endswith("final")
    assert data["last_metrics"]["eval_loss"] == 0.3

    logs = runner.invoke(app, ["runs", "logs", ok.id, "-f"])
    assert logs.stdout.startswith("line one\nline two\n")
    assert f"run {ok.id} is succeeded" in logs.stdout


def test_cancel_and_resume_refusals_say_why(tunesmith_home):
    from core.errors import InvalidInput

    done = _finished_run(tunesmith_home, "succeeded", result={"global_step": 20})
    runner = CliRunner()
    result = runner.invoke(app, ["runs", "cancel", done.id])
    assert isinstance(result.exception, InvalidInput)
    assert "only queued or running" in result.exception.message
    result = runner.invoke(app, ["runs", "resume", done.id])
    assert "only failed or cancelled" in result.exception.message
    failed = _finished_run(tunesmith_home, "failed", "killed", error={"cause": "killed"})
    result = runner.invoke(app, ["runs", "resume", failed.id])
    assert "no complete checkpoint" in result.exception.message
