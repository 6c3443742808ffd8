"""What the run will train on: the device kind, its name, how many, its memory, bf16 support.

Defaults (precision, batch size, checkpointing) and the memory estimate both need this, and neither
should import torch just to be imported: torch loads inside `detect_hardware`, on first call. On a
machine without a usable GPU the answer is the CPU with the host's memory (from `os.sysconf`), since
that is what a CPU run can use before the kernel kills it.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

from core.errors import InvalidInput

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class Hardware:
    """One training device.

    device: "cpu" or "cuda" (an index in `requested`, e.g. cuda:1, picks which card is described).
    name: the card's name ("NVIDIA H100 80GB HBM3") or the CPU's.
    count: GPUs visible, or CPU cores for the CPU (what the time estimate scales with).
    memory_gib: memory of one device (GPU memory, or host memory for the CPU); None if unknown.
    bf16: whether bfloat16 training is supported (Ampere or newer; never on our CPU path).
    """

    device: str
    name: str
    count: int
    memory_gib: float | None
    bf16: bool

    def describe(self) -> str:
        """One line for people: "1 x NVIDIA H100 80GB HBM3 (79.1 GiB, bf16)"."""
        memory = f"{self.memory_gib:.1f} GiB" if self.memory_gib else "memory unknown"
        if self.device == "cpu":
            return f"CPU {self.name} ({self.count} cores, {memory})"
        return f"{self.count} x {self.name} ({memory}{', bf16' if self.bf16 else ''})"


def detect_hardware(requested: str = "auto") -> Hardware:
    """The hardware a run on `requested` (auto, cpu, cuda, cuda:N) would use.

    `auto` takes the GPU when torch sees one, else the CPU. Asking for cuda where there is none is
    an error that says so, rather than a silent CPU run that takes a hundred times longer.
    """
    text = (requested or "auto").strip().lower()
    kind, _, index_text = text.partition(":")
    if kind == "mps":
        raise InvalidInput(
            "Training on Apple's mps device is not supported (TRL's mps path is incomplete).",
            "Use --set device=cpu.",
        )
    if kind not in DEVICES or (index_text and (kind != "cuda" or not index_text.isdigit())):
        raise InvalidInput(
            f"Unknown device {requested!r}.", "Use auto, cpu, cuda or cuda:N (e.g. cuda:0)."
        )
    if kind == "cpu":
        return cpu_hardware()
    cuda = _cuda_hardware(int(index_text or 0))
    if cuda is not None:
        return cuda
    if kind == "cuda":
        raise InvalidInput(
            f"Device {requested!r} was asked for, but torch sees no usable CUDA GPU here.",
            "Use --set device=cpu (slow but works), or install a CUDA build of torch.",
        )
    return cpu_hardware()


def cpu_hardware() -> Hardware:
    """The host CPU: cores from the scheduler's affinity, memory from `os.sysconf`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return Hardware("cpu", _cpu_name(), max(1, cores), _host_memory_gib(), False)


def _cuda_hardware(index: int) -> Hardware | None:
    import torch

    if not torch.cuda.is_available():
        return None
    count = torch.cuda.device_count()
    if index >= count:
        raise InvalidInput(
            f"cuda:{index} was asked for, but only {count} GPU(s) are visible.",
            f"Use cuda:0..cuda:{count - 1}, or check CUDA_VISIBLE_DEVICES.",
        )
    props = torch.cuda.get_device_properties(index)
    with torch.cuda.device(index):
        bf16 = bool(torch.cuda.is_bf16_supported())
    return Hardware("cuda", props.name, count, props.total_memory / 2**30, bf16)


def _host_memory_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # not available on this platform
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"
