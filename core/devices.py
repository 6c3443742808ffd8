"""Which torch device a setting means, checked once for every part of core that loads a model.

"auto" is CUDA when torch sees a GPU, else the CPU; an explicit device that is not there fails with
the setting to change, instead of a torch error deep inside a load.
"""

from __future__ import annotations

from core.errors import InvalidInput, ModelUnavailable


def resolve_device(requested: str) -> str:
    """Turn the `device` setting into a torch device string, failing clearly if it is absent."""
    import torch

    name = (requested or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ModelUnavailable(
                f"The device setting asks for {name}, but torch sees no CUDA GPU here.",
                "Set TUNESMITH_DEVICE=auto (or cpu), or install a CUDA build of torch.",
            )
        index = name.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise ModelUnavailable(
                f"The device setting asks for {name}, but there are "
                f"{torch.cuda.device_count()} CUDA device(s).",
                "Set TUNESMITH_DEVICE=cuda:0 (or auto).",
            )
        return name
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ModelUnavailable(
                "The device setting asks for mps, but torch has no MPS backend here.",
                "Set TUNESMITH_DEVICE=auto (or cpu).",
            )
        return name
    raise InvalidInput(
        f"Unknown device {requested!r}.", "Set TUNESMITH_DEVICE to auto, cpu, cuda, cuda:N or mps."
    )
