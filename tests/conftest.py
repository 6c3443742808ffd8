"""Shared test set-up: one torch thread, offline hub, and a throw-away workspace per test."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import pytest  # noqa: E402

from core.settings import get_settings  # noqa: E402


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Torch on 2 shared cores spikes with 2 threads; tests run with one."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        yield
        return
    torch.set_num_threads(1)
    yield


@pytest.fixture
def tunesmith_home(tmp_path, monkeypatch):
    """Point TUNESMITH_HOME at a fresh folder and reset the cached settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("TUNESMITH_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random chat LM (tests/tiny_model.py), built once per session. Treat as read-only."""
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
