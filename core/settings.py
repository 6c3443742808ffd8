"""Settings, read from the environment (prefix `TUNESMITH_`) and an optional `.env` file.

One place for every knob a person may turn; `tunesmith config` prints each value and where it
came from, so "why is it using that model?" always has an answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TUNESMITH_"
ENV_FILE = ".env"


class Settings(BaseSettings):
    """Tunesmith's settings; each field's description is the help `tunesmith config` shows."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(
        Path(".tunesmith"),
        description="Workspace folder: registry, knowledge bases, datasets, runs, evaluations.",
    )
    agent_model: str = Field(
        "",
        description="Model ref for the chat agent (e.g. openai:gpt-4o-mini). Empty: offline guide.",
    )
    base_model: str = Field(
        "builtin:smollm2-135m-instruct",
        description="Default model ref to fine-tune, and to use for synthesis and judging.",
    )
    embedding_model: str = Field(
        "builtin:all-minilm-l6-v2",
        description="Embedding model: builtin:all-minilm-l6-v2 or a sentence-transformers folder.",
    )
    device: str = Field("auto", description="Torch device: auto, cpu, cuda, cuda:N or mps.")
    log_level: str = Field("WARNING", description="Python logging level.")
    openai_base_url: str = Field(
        "", description="Base URL for openai: refs (vLLM, Ollama, any OpenAI-compatible server)."
    )
    openai_api_key: SecretStr = Field(
        SecretStr(""), description="API key for openai: refs (falls back to OPENAI_API_KEY)."
    )
    ollama_base_url: str = Field(
        "http://127.0.0.1:11434", description="Base URL of the Ollama server for ollama: refs."
    )
    request_timeout: float = Field(60.0, description="Seconds before a remote model request fails.")
    request_retries: int = Field(2, description="Retries for a failed remote model request.")
    max_document_mb: float = Field(25.0, description="Largest document `kb add` accepts, in MB.")
    slack_bot_token: SecretStr = Field(
        SecretStr(""), description="Slack bot token (xoxb-...): the app's OAuth & Permissions page."
    )
    slack_signing_secret: SecretStr = Field(
        SecretStr(""),
        description="Slack signing secret (Basic Information); HTTP mode checks every request.",
    )
    slack_app_token: SecretStr = Field(
        SecretStr(""),
        description="Slack app-level token (xapp-..., scope connections:write) for socket mode.",
    )
    slack_admins: str = Field(
        "",
        description="Slack user ids (comma-separated) who may answer approvals in any thread.",
    )
    slack_api_base_url: str = Field(
        "https://slack.com/api/",
        description="Slack Web API base URL; change it only to point at a test server.",
    )

    @property
    def workspace_dir(self) -> Path:
        return self.home.expanduser().resolve()


@dataclass(frozen=True)
class SettingView:
    """One row of `tunesmith config`: name, display value, where it came from, help."""

    name: str
    value: str
    source: str
    help: str


def _dotenv_keys() -> set[str]:
    path = Path(ENV_FILE)
    if not path.is_file():
        return set()
    keys = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, _ = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip().upper().startswith(ENV_PREFIX):
            keys.add(key.strip().upper())
    return keys


def describe(settings: Settings) -> list[SettingView]:
    """Every setting with its value (secrets masked) and its source: env, .env file or default."""
    from_dotenv = _dotenv_keys()
    rows = []
    for name, field in Settings.model_fields.items():
        env_key = f"{ENV_PREFIX}{name.upper()}"
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = "****" if value.get_secret_value() else ""
        else:
            shown = str(value)
        if env_key in os.environ:
            source = f"environment ({env_key})"
        elif env_key in from_dotenv:
            source = f"{ENV_FILE} ({env_key})"
        else:
            source = "default"
        rows.append(SettingView(name, shown, source, field.description or ""))
    return rows


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call `get_settings.cache_clear()`."""
    return Settings()
