"""Shared set-up for the job tests (no tests here): a workspace with a small dataset, recipes for
the tiny model, and waiting on a run's status."""

from __future__ import annotations

import time

from core.settings import get_settings
from core.workspace import Workspace
from tools.datasets.store import DatasetStore
from trainers.jobs import runner
from trainers.jobs.layout import Resolved, write_spec
from trainers.jobs.registry import RunInfo, get_run, insert_run, new_run_id
from trainers.recipe import Recipe

ANSWER = "Paris is the capital of France."


def pattern_rows(n: int = 32, eval_every: int = 8) -> list[dict]:
    """A repeatable pattern the tiny model learns in a few steps: loss clearly goes down."""
    return [
        {
            "id": f"r{i:03d}",
            "messages": [
                {"role": "user", "content": f"Question {i}: what is the capital of France?"},
                {"role": "assistant", "content": ANSWER},
            ],
            "meta": {"split": "eval" if i % eval_every == 0 else "train"},
        }
        for i in range(n)
    ]


def make_workspace(home, rows: list[dict] | None = None, name: str = "pattern") -> Workspace:
    ws = Workspace(home)
    DatasetStore(ws).commit(name, rows or pattern_rows(), operation="import", parent=None)
    return ws


def tiny_recipe(model_dir, method: str = "lora", **overrides) -> Recipe:
    """A recipe that trains the tiny model on CPU in a few seconds."""
    values = {
        "base_model": f"hf:{model_dir}",
        "dataset": "pattern@v1",
        "method": method,
        "max_steps": 20,
        "learning_rate": 5e-3 if method == "lora" else 2e-3,
        "warmup_ratio": 0.0,
        "batch_size": 8,
        "max_length": 64,
        "lora_r": 8,
        "save_steps": 10,
        "eval_steps": 10,
        "device": "cpu",
        "precision": "fp32",
        "reasons": {"learning_rate": "high, because the tiny model starts from random weights"},
    }
    return Recipe(**{**values, **overrides})


def launch(ws: Workspace, recipe: Recipe) -> RunInfo:
    return runner.launch(recipe, ws=ws, settings=get_settings())


def wait_for(
    ws: Workspace, run_id: str, statuses: tuple[str, ...], timeout: float = 120.0
) -> RunInfo:
    """Poll (with refresh, as the CLI does) until the run is in one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        runner.refresh(ws)
        run = get_run(ws, run_id)
        if run.status in statuses:
            return run
        if time.monotonic() > deadline:
            log = run.paths.log.read_text() if run.paths.log.exists() else ""
            raise AssertionError(f"{run_id} still {run.status} after {timeout}s\n{log[-3000:]}")
        time.sleep(0.2)


def wait_until(predicate, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def fake_run(ws, status: str = "running", **values) -> RunInfo:
    """A registry row and run folder as a launch leaves them, without starting anything."""
    run_id = new_run_id() + status[0]  # unique even within one second
    run = RunInfo(
        id=run_id,
        status=status,
        base_model="hf:tiny",
        dataset="ds:pattern@v1",
        method="lora",
        request_key=run_id,
        run_dir=ws.artifact_dir("runs", run_id),
    )
    recipe = tiny_recipe("tiny").to_dict()
    write_spec(run.paths, recipe, Resolved("tiny", "data.jsonl", "ds:pattern@v1", "abc"))
    with ws.transaction() as conn:
        insert_run(conn, run)
        if values:
            sets = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*values.values(), run_id))
    return get_run(ws, run_id)
