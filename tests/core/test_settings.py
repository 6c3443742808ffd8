"""Settings: environment, .env file and defaults, each reported with its source."""

from __future__ import annotations

from core.settings import Settings, describe


def test_sources_are_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TUNESMITH_AGENT_MODEL=openai:gpt-4o-mini\n")
    monkeypatch.setenv("TUNESMITH_DEVICE", "cpu")
    monkeypatch.setenv("TUNESMITH_OPENAI_API_KEY", "sk-secret")
    rows = {r.name: r for r in describe(Settings())}
    assert rows["device"].value == "cpu"
    assert rows["device"].source == "environment (TUNESMITH_DEVICE)"
    assert rows["agent_model"].value == "openai:gpt-4o-mini"
    assert rows["agent_model"].source == ".env (TUNESMITH_AGENT_MODEL)"
    assert rows["base_model"].source == "default"
    assert rows["base_model"].value == "builtin:smollm2-135m-instruct"
    assert rows["openai_api_key"].value == "****"  # secrets are never printed
    assert all(r.help for r in rows.values())


def test_home_is_resolved(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path / "h"))
    assert Settings().workspace_dir == (tmp_path / "h").resolve()
