"""The LLM brain: any chat model with tool calling, built by LangChain's `init_chat_model`.

Refs follow Tunesmith's model refs: `openai:MODEL` (OpenAI, or any compatible server through
TUNESMITH_OPENAI_BASE_URL: vLLM, LM Studio...), `ollama:MODEL` (Ollama's OpenAI endpoint) and
`anthropic:MODEL` where langchain-anthropic is installed. Local refs (builtin:, hf:, run:) are
refused with the reason: the small models that run here cannot call tools reliably, and the
offline guide does that job better. Tests pass a chat model object instead of a ref.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from langchain_core.messages import SystemMessage
from langchain_core.runnables import RunnableConfig

from agent.state import AgentState
from core.errors import ModelUnavailable, TunesmithError
from core.settings import get_settings
from tools.registry import ToolRegistry

TOOL_CALLING_SCHEMES = ("openai", "ollama", "anthropic")


def chat_model_from_ref(ref: str) -> Any:
    """A LangChain chat model for an agent model ref, or ModelUnavailable saying what to do."""
    from langchain.chat_models import init_chat_model

    settings = get_settings()
    scheme, _, name = ref.strip().partition(":")
    scheme = scheme.lower()
    if scheme not in TOOL_CALLING_SCHEMES or not name.strip():
        raise ModelUnavailable(
            f"The agent model {ref!r} cannot drive the chat: it needs a model that calls tools.",
            "Use openai:<model>, ollama:<model> or anthropic:<model>, or leave "
            "TUNESMITH_AGENT_MODEL empty for the offline guide.",
        )
    common = {"timeout": settings.request_timeout, "max_retries": settings.request_retries}
    if scheme == "anthropic":
        if importlib.util.find_spec("langchain_anthropic") is None:
            raise ModelUnavailable(
                "anthropic: agent models need the langchain-anthropic package, not installed here.",
                "Run `pip install langchain-anthropic` and set ANTHROPIC_API_KEY, or use "
                "openai:<model> or the offline guide.",
            )
        return init_chat_model(name, model_provider="anthropic", **common)
    from core.models.openai_engine import ollama_openai_url, openai_credentials
    from core.models.refs import parse_ref

    if scheme == "ollama":
        url, key = ollama_openai_url(settings), "ollama"
        model = name
    else:
        parsed = parse_ref(ref)
        url, key = openai_credentials(settings, parsed.base_url)
        model = parsed.target
    return init_chat_model(model, model_provider="openai", base_url=url, api_key=key, **common)


def system_prompt(state: AgentState, tool_names: list[str], ws: Any) -> str:
    """The system prompt with the workflow position and the project's use case, as data."""
    from prompts import render
    from tools.usecase import DEFAULT_PROJECT, get_use_case

    position = dict(state.get("position") or {})
    try:
        stored = get_use_case(position.get("project") or DEFAULT_PROJECT, ws)
    except Exception:  # a bad project name must not stop the conversation
        stored = None
    use_case = {}
    if stored is not None and not stored.is_empty():
        hidden = ("project", "updated_at")
        use_case = {k: v for k, v in stored.to_dict().items() if k not in hidden and v}
    return render("agent_system", "system", position=position, use_case=use_case, tools=tool_names)


class LLMBrain:
    """Ask the model for the next step: a reply, or tool calls the tools node will run."""

    def __init__(self, model: Any, registry: ToolRegistry, ws: Any) -> None:
        self.registry = registry
        self.ws = ws
        chat_model = chat_model_from_ref(model) if isinstance(model, str) else model
        self.model = chat_model.bind_tools([spec.as_langchain_tool() for spec in registry])
        self.label = model if isinstance(model, str) else type(model).__name__

    def __call__(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        prompt = SystemMessage(system_prompt(state, self.registry.names(), self.ws))
        try:
            reply = self.model.invoke([prompt, *state.get("messages", [])], config)
        except TunesmithError:
            raise
        except Exception as error:  # the server is down, the key is wrong, the model is unknown
            raise ModelUnavailable(
                f"The agent model {self.label} failed: {type(error).__name__}: {error}",
                "Check that its server is running and the model name, base URL and key are "
                "right, or unset TUNESMITH_AGENT_MODEL to use the offline guide.",
            ) from error
        return {"messages": [reply]}
