"""Model refs and generation engines: name a model with one string, generate through one interface.

    from core.models import ChatRequest, load_engine
    engine = load_engine("builtin:smollm2-135m-instruct")
    [answer] = engine.generate([ChatRequest([{"role": "user", "content": "Hi"}])])

Importing this package is cheap: torch, transformers and openai load only when an engine does.
"""

from core.models.engine import ChatRequest, Engine, Generation
from core.models.refs import BUILTIN_MODELS, ModelRef, parse_ref
from core.models.registry import ModelStatus, list_models, load_engine

__all__ = [
    "BUILTIN_MODELS",
    "ChatRequest",
    "Engine",
    "Generation",
    "ModelRef",
    "ModelStatus",
    "list_models",
    "load_engine",
    "parse_ref",
]
