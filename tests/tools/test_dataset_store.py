"""Dataset versions survive a kill -9 in the middle of an operation."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.workspace import Workspace
from tools.datasets.store import DatasetStore

ROWS = [{"id": f"r{i}", "prompt": f"q{i}", "completion": f"a{i}"} for i in range(6)]

KILL_SCRIPT = """
import os, signal, sys
import tools.datasets.store as store
from core.workspace import Workspace
from tools.datasets.operations import apply_operation

stage = sys.argv[2]
real_write = store.write_jsonl
def write_then_die(path, rows):
    if stage == "mid-file":
        with open(path, "w") as handle:
            handle.write('{"id": "half')
        os.kill(os.getpid(), signal.SIGKILL)
    real_write(path, rows)
    if stage == "before-registry":
        os.kill(os.getpid(), signal.SIGKILL)
store.write_jsonl = write_then_die
apply_operation(store.DatasetStore(Workspace(sys.argv[1])), "faq", "filter",
                {"where": 'contains(prompt, "1")'})
"""


@pytest.mark.parametrize("stage", ["mid-file", "before-registry"])
def test_kill_9_during_an_operation_leaves_earlier_versions_intact(tmp_path, stage):
    ws = Workspace(tmp_path)
    store = DatasetStore(ws)
    v1 = store.commit("faq", ROWS, operation="import", parent=None)
    v2 = store.commit("faq", ROWS[:4], operation="delete", parent=1)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path), stage],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == -9, proc.stderr
    assert [v.version for v in store.versions("faq")] == [1, 2]
    assert store.read("faq@v1")[1] == ROWS and store.read("faq")[1] == ROWS[:4]
    assert store.info("faq@v2").sha256 == v2.sha256 and store.info("faq@v1").sha256 == v1.sha256
    v3 = store.commit("faq", ROWS[:1], operation="filter", parent=2)  # the orphan is replaced
    assert v3.version == 3 and store.read("faq@v3")[1] == ROWS[:1]
