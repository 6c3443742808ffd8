"""From a ref string to a working engine, and an honest list of what can be used right now.

`load_engine` is the only place that knows which backend serves which scheme. `list_models` answers
"what can I use, and if not, why not?" without loading or converting anything: it looks at files
and asks servers with a short timeout, so `tunesmith models` is instant even when a server is down.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from core.devices import resolve_device
from core.errors import ModelUnavailable, TunesmithError
from core.models.builtin import BUILTIN_NAME, builtin_model_dir, builtin_status
from core.models.engine import Engine
from core.models.hf_engine import HFEngine, choose_dtype, resolve_source
from core.models.openai_engine import OpenAIEngine, ollama_openai_url, openai_credentials
from core.models.refs import ModelRef, parse_ref
from core.models.tuned import final_problem, load_adapter_model, resolve_run, succeeded_runs
from core.settings import Settings, get_settings

PROBE_TIMEOUT_S = 1.0
MAX_LISTED_REMOTE = 20


@dataclass(frozen=True)
class ModelStatus:
    """One row of `tunesmith models`: a ref, its kind, whether it can be used, and why / where."""

    ref: str
    kind: str
    available: bool
    detail: str


def _run_engine(ref: ModelRef, settings: Settings) -> HFEngine:
    """An engine for a tuned run: its full model folder, or its base with the adapter merged in."""
    tuned = resolve_run(ref, settings)
    if not tuned.is_adapter:
        return HFEngine(ref.canonical, tuned.folder, settings)
    base = parse_ref(tuned.base_ref)
    if base.scheme == "hf":
        trained_on = tuned.trained_on()
        if not Path(base.target).expanduser().exists() and trained_on is not None:
            base_source: str | Path = trained_on  # a relative hf: path, launched elsewhere
        else:
            base_source = resolve_source(base.target)  # a folder or a hub id
    else:
        found = local_model_dir(base, settings)
        if found is None:
            raise ModelUnavailable(
                f"{ref.canonical} is an adapter on {base.canonical}, which has no local weights "
                "to apply it to.",
                "A LoRA run's base must be builtin:, hf: or a full run: model.",
            )
        base_source = found
    dtype = choose_dtype(resolve_device(settings.device))
    model, tokenizer = load_adapter_model(tuned, base_source, dtype)
    return HFEngine(ref.canonical, None, settings, model=model, tokenizer=tokenizer)


def load_engine(ref: str | ModelRef, settings: Settings | None = None) -> Engine:
    """Load the model named by `ref` and return an engine for it.

    Local models are loaded (and the builtin converted on first use) here; remote ones only get a
    client, so an unreachable server shows up as errors in the first `generate` results.
    """
    settings = settings or get_settings()
    parsed = ref if isinstance(ref, ModelRef) else parse_ref(ref)
    name = parsed.canonical
    if parsed.scheme == "builtin":
        return HFEngine(name, builtin_model_dir(settings), settings)
    if parsed.scheme == "hf":
        return HFEngine(name, parsed.target, settings)
    if parsed.scheme == "openai":
        return OpenAIEngine.for_openai(name, parsed.target, parsed.base_url, settings)
    if parsed.scheme == "ollama":
        return OpenAIEngine.for_ollama(name, parsed.target, settings)
    return _run_engine(parsed, settings)


def _get_json(url: str, headers: dict[str, str] | None = None) -> dict:
    import httpx

    response = httpx.get(url, headers=headers or {}, timeout=PROBE_TIMEOUT_S)
    response.raise_for_status()
    return response.json()


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _openai_statuses(settings: Settings) -> list[ModelStatus]:
    try:
        url, key = openai_credentials(settings, None)
    except ModelUnavailable:
        return [
            ModelStatus(
                "openai:<model>",
                "openai",
                False,
                "no base URL or API key set: set TUNESMITH_OPENAI_BASE_URL (vLLM, LM Studio, any "
                "compatible server) or TUNESMITH_OPENAI_API_KEY / OPENAI_API_KEY (OpenAI)",
            )
        ]
    base = (url or "https://api.openai.com/v1").rstrip("/")
    try:
        data = _get_json(f"{base}/models", {"Authorization": f"Bearer {key}"})
        ids = sorted(str(m["id"]) for m in data.get("data", []) if "id" in m)
    except Exception as exc:  # any failure means "cannot use it now"; say why
        return [
            ModelStatus(
                "openai:<model>", "openai", False, f"server unreachable at {base}: {_reason(exc)}"
            )
        ]
    if not ids:
        return [ModelStatus("openai:<model>", "openai", True, f"server at {base} lists no models")]
    rows = [ModelStatus(f"openai:{i}", "openai", True, f"served by {base}") for i in ids]
    if len(rows) > MAX_LISTED_REMOTE:
        more = len(rows) - MAX_LISTED_REMOTE
        rows = rows[:MAX_LISTED_REMOTE]
        rows.append(ModelStatus("openai:<model>", "openai", True, f"and {more} more at {base}"))
    return rows


def _ollama_statuses(settings: Settings) -> list[ModelStatus]:
    base = settings.ollama_base_url.rstrip("/")
    try:
        data = _get_json(f"{base}/api/tags")
        names = sorted(str(m["name"]) for m in data.get("models", []) if "name" in m)
    except Exception as exc:  # any failure means "cannot use it now"; say why
        return [
            ModelStatus(
                "ollama:<model>",
                "ollama",
                False,
                f"ollama server unreachable at {base}: {_reason(exc)}. Start it with `ollama serve`"
                " or set TUNESMITH_OLLAMA_BASE_URL",
            )
        ]
    if not names:
        return [
            ModelStatus(
                "ollama:<model>",
                "ollama",
                False,
                f"ollama server at {base} has no models: pull one with `ollama pull llama3.2`",
            )
        ]
    via = ollama_openai_url(settings)
    return [ModelStatus(f"ollama:{n}", "ollama", True, f"served by {via}") for n in names]


def _local_status(text: str, settings: Settings) -> ModelStatus | None:
    """Status of a configured ref (base_model, agent_model) that is not a remote server."""
    try:
        ref = parse_ref(text)
    except TunesmithError as exc:
        return ModelStatus(text, "invalid", False, str(exc))
    if ref.scheme == "builtin":
        available, detail = builtin_status(settings)
        return ModelStatus(ref.canonical, "builtin", available, detail)
    if ref.scheme == "run":
        try:
            tuned = resolve_run(ref, settings)
        except TunesmithError as exc:
            return ModelStatus(ref.canonical, "run", False, str(exc))
        return ModelStatus(ref.canonical, "run", True, _run_detail(tuned.method, tuned.base_ref))
    if ref.scheme != "hf":
        return None  # remote: covered by the server probes
    path = Path(ref.target).expanduser()
    if path.exists():
        if (path / "config.json").is_file():
            return ModelStatus(ref.canonical, "hf", True, f"local folder {path.resolve()}")
        return ModelStatus(ref.canonical, "hf", False, f"{path} has no config.json")
    if ref.target.startswith(("/", "./", "../", "~")):
        return ModelStatus(ref.canonical, "hf", False, f"folder {path} does not exist")
    return ModelStatus(ref.canonical, "hf", *_hub_status(ref.target))


def _run_detail(method: str, base_ref: str, ended_at: str | None = None) -> str:
    when = f", finished {ended_at}" if ended_at else ""
    return f"tuned here ({method} of {base_ref}{when})"


def _run_statuses(settings: Settings) -> list[ModelStatus]:
    """Succeeded runs as run:<id> refs, from the registry and a file check; nothing is loaded."""
    rows = []
    for run, final in succeeded_runs(settings):
        problem = final_problem(final)
        if problem is None:
            detail = _run_detail(run.method, run.base_model, run.ended_at)
            rows.append(ModelStatus(f"run:{run.id}", "run", True, detail))
        else:
            rows.append(ModelStatus(f"run:{run.id}", "run", False, f"succeeded, but {problem}"))
    return rows


def _hub_status(repo_id: str) -> tuple[bool, str]:
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json")
    except Exception as exc:  # a malformed id, or no huggingface_hub
        return False, f"not a local folder, and not a usable hub id: {_reason(exc)}"
    if isinstance(cached, str):
        return True, f"hub id, cached at {Path(cached).parent}"
    if os.environ.get("HF_HUB_OFFLINE", "").strip() in {"1", "true", "yes", "on"}:
        return False, "hub id not in the local cache, and HF_HUB_OFFLINE is set"
    return True, "hub id, downloaded on first use"


def list_models(settings: Settings | None = None) -> list[ModelStatus]:
    """Every model Tunesmith knows how to use here, with why it can or cannot be used now.

    Succeeded runs appear as run:<id> refs; queued, running and failed ones do not.

    Never loads or converts a model. Remote servers are asked with a ~1 s timeout, in parallel.
    """
    settings = settings or get_settings()
    rows: list[ModelStatus] = []
    seen: set[str] = set()
    for text in (f"builtin:{BUILTIN_NAME}", settings.base_model, settings.agent_model):
        if not text.strip():
            continue
        status = _local_status(text, settings)
        if status is not None and status.ref not in seen:
            seen.add(status.ref)
            rows.append(status)
    rows.extend(status for status in _run_statuses(settings) if status.ref not in seen)
    with ThreadPoolExecutor(max_workers=2) as pool:
        remote = [pool.submit(_openai_statuses, settings), pool.submit(_ollama_statuses, settings)]
        for future in remote:
            rows.extend(future.result())
    return rows


def local_model_dir(ref: str | ModelRef, settings: Settings | None = None) -> Path | None:
    """The local folder behind a ref (converting the builtin on first use), or None if remote.

    Token statistics and length filters need the base model's own tokenizer; remote models have
    no folder, and callers fall back to counting words and say so.

    A full run's folder is its final/ folder. A LoRA run has no folder of its own (final/ holds
    only the adapter, which callers would mistake for a model), so it gives None; load it with
    `load_engine`, which merges the adapter into its base in memory.
    """
    settings = settings or get_settings()
    parsed = ref if isinstance(ref, ModelRef) else parse_ref(ref)
    if parsed.scheme == "builtin":
        return builtin_model_dir(settings)
    if parsed.scheme == "hf":
        path = Path(parsed.target).expanduser()
        return path if (path / "config.json").is_file() else None
    if parsed.scheme == "run":
        tuned = resolve_run(parsed, settings)
        return None if tuned.is_adapter else tuned.folder
    return None
