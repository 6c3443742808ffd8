"""The throughput bench runs end to end on CPU and reports both configs and their ratio.

No speed thresholds: the machines are 2 shared cores, and the figures that matter come from a GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sft_throughput.py"


def test_tiny_bench_reports_both_configs_and_a_ratio(tmp_path):
    out = tmp_path / "sft.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--tiny", "--examples", "16", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    results = report["results"]
    assert set(results) == {"trl_defaults", "tunesmith"}
    for result in results.values():
        assert result["ok"], result
        assert result["tokens_per_s"] > 0 and result["tokens"] > 0
        assert result["peak_memory_gib"] > 0
    assert report["ratio_tokens_per_s"] > 0
    assert "ratio tunesmith / trl_defaults" in proc.stdout
    # the two configs differ in exactly what the speed plan decides, read back from TRL
    assert results["trl_defaults"]["activation_checkpointing"] is True
    plan = report["speed_plan"]
    assert results["tunesmith"]["activation_checkpointing"] is plan["activation_checkpointing"]
    assert results["tunesmith"]["packing"] is plan["packing"]
    assert results["tunesmith"]["attn_implementation"] == plan["attn_implementation"]
