"""The synthesis model: loading it by ref, and saying what to check when it cannot answer.

Remote engines report a failed request in `Generation.error` rather than raising. One failed
request among many is an item-level fault (retried, then rejected); a whole batch failing means
the server is not there (or refuses us: a bad key, an unknown model), which no retry fixes: the job
stops with the URL and the setting to check, and its partial file stays, so the same command
continues once the server is back. Errors that blame one request (HTTP 400: too long...) are
always item faults, so one bad prompt can never stop a job for good.
"""

from __future__ import annotations

from core.errors import ModelUnavailable
from core.models.engine import Engine
from core.models.refs import parse_ref
from core.settings import Settings


def open_engine(ref: str, settings: Settings) -> Engine:
    """The engine for `ref` (loading a local model here, which may take a while)."""
    from core.models.registry import load_engine

    return load_engine(ref, settings)


def where(engine: Engine, settings: Settings) -> tuple[str, str]:
    """(where the model is served, which setting points there) for an engine's ref."""
    url = getattr(engine, "base_url", None)
    try:
        scheme = parse_ref(engine.ref).scheme
    except Exception:  # a fake or third-party engine with a free-form ref
        scheme = ""
    if scheme == "ollama":
        return url or settings.ollama_base_url, "TUNESMITH_OLLAMA_BASE_URL (is `ollama serve` up?)"
    if scheme == "openai":
        return (
            url or "https://api.openai.com/v1",
            "TUNESMITH_OPENAI_BASE_URL, or the @<base url> part of the ref, and the API key",
        )
    return url or engine.ref, "the --model ref"


REQUEST_FAULTS = ("HTTP 400", "HTTP 413", "HTTP 422")
"""Errors that blame the request (too long, malformed), not the server: a reject, not a stop."""


def server_fault(error: str | None) -> bool:
    """True for a failed request whose error says nothing about that request in particular."""
    return bool(error) and not str(error).startswith(REQUEST_FAULTS)


def server_failed(engine: Engine, settings: Settings, error: str) -> ModelUnavailable:
    """The error for a batch in which every request failed for a reason of the server's."""
    url, setting = where(engine, settings)
    return ModelUnavailable(
        f"The model {engine.ref} at {url} did not answer: {error}.",
        f"Check that the server is running and reachable, and check {setting}. Finished rows "
        "are saved: run the same command again to continue.",
    )
