"""What a base model ref is, for training: where its weights are, its shape, its tokenizer.

Only configs and tokenizers are read here (the shape comes from the config on the meta device), so
a recipe can be chosen and estimated before any weights are loaded.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from core.errors import ModelUnavailable
from core.models.refs import ModelRef, parse_ref
from core.settings import Settings, get_settings
from trainers.estimate import ModelShape


def model_source(base_model: str | ModelRef, settings: Settings | None = None) -> str:
    """What transformers loads for a ref: its local folder (core.models.local_model_dir: the
    builtin converted first, a full run's final/) or, for an hf: name that is no folder, a hub id.

    Remote refs (openai:, ollama:) and LoRA runs have no plain weights folder to train from.
    """
    from core.models.registry import local_model_dir

    ref = base_model if isinstance(base_model, ModelRef) else parse_ref(base_model)
    folder = local_model_dir(ref, settings or get_settings())
    if folder is not None:
        return str(folder.resolve())
    if ref.scheme == "hf":
        path = Path(ref.target).expanduser()
        if path.exists() or ref.target.startswith(("/", ".", "~")):
            raise ModelUnavailable(
                f"{ref.canonical}: {path} is not a model folder (no config.json).",
                "Point hf: at a folder saved with save_pretrained, or use "
                "builtin:smollm2-135m-instruct.",
            )
        return ref.target  # a hub id: transformers resolves it from the cache (or the hub)
    raise ModelUnavailable(
        f"{ref.canonical} cannot be fine-tuned here: its weights are not on this machine as a "
        "plain model folder.",
        "Fine-tune a local model: builtin:smollm2-135m-instruct, hf:<folder>, or a full run.",
    )


def model_shape(base_model: str | ModelRef, settings: Settings | None = None) -> ModelShape:
    """The model's parameter count and dimensions, from its config (built on the meta device)."""
    return shape_of(model_source(base_model, settings))


@functools.lru_cache(maxsize=16)
def shape_of(source: str) -> ModelShape:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(source)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelUnavailable(
            f"The model at {source} cannot be loaded: {str(exc).splitlines()[0][:300]}",
            "Check the folder holds a transformers causal LM (config.json and weights).",
        ) from exc
    head = model.get_output_embeddings()
    linear: dict[str, tuple[int, int, int]] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and module is not head:
            key = name.rsplit(".", 1)[-1]
            fan_in, fan_out, count = linear.get(key, (module.in_features, module.out_features, 0))
            linear[key] = (fan_in, fan_out, count + 1)
    text = config.get_text_config()
    hidden = int(text.hidden_size)
    return ModelShape(
        params=sum(p.numel() for p in model.parameters()),
        hidden=hidden,
        layers=int(text.num_hidden_layers),
        intermediate=int(getattr(text, "intermediate_size", None) or 4 * hidden),
        vocab=int(text.vocab_size),
        max_positions=getattr(text, "max_position_embeddings", None),
        linear_layers=linear,
    )


def load_tokenizer(source: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"No tokenizer could be loaded from {source}: {str(exc).splitlines()[0][:300]}",
            "The model folder needs its tokenizer files (tokenizer.json, tokenizer_config.json).",
        ) from exc
