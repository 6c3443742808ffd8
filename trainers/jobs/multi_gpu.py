"""Several GPUs on one machine: the same job under `accelerate launch`, DDP or FSDP by model size.

DDP keeps a full copy of the model, gradients and optimizer on every GPU: simplest and fastest
while that copy fits. When the one-GPU estimate (trainers.estimate) does not fit in 80% of a GPU,
FSDP shards them across the GPUs instead. The chosen config is written into the run folder as
accelerate.yaml, with the reason on its first line, so a person can read and rerun it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from core.atomic import write_text
from trainers.jobs.layout import RunPaths
from trainers.recipe import Recipe

FIT_SHARE = 0.8
DEFAULT_GPU_GIB = 80.0


def choose_strategy(
    recipe: Recipe, *, params: int | None = None, gpu_memory_gib: float | None = None
) -> tuple[str, str]:
    """("DDP" | "FSDP", why), from the one-GPU memory estimate of the recipe on this model."""
    from trainers.estimate import ModelShape, peak_memory_gib

    if params is not None:
        shape = ModelShape.approximate(params)
    else:
        from trainers.model_info import model_shape

        shape = model_shape(recipe.base_model)
    memory = gpu_memory_gib or DEFAULT_GPU_GIB
    peak = peak_memory_gib(recipe, shape, "cuda")
    if peak <= FIT_SHARE * memory:
        return "DDP", f"~{peak:.1f} GiB per GPU fits in {memory:.0f} GiB: a full copy per GPU"
    return "FSDP", f"~{peak:.1f} GiB on one GPU exceeds {memory:.0f} GiB: shard across the GPUs"


def accelerate_config(recipe: Recipe, num_gpus: int, strategy: str) -> dict[str, Any]:
    """The `accelerate launch --config_file` content for `strategy` on `num_gpus` GPUs."""
    config: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE",
        "distributed_type": "MULTI_GPU" if strategy == "DDP" else "FSDP",
        "num_machines": 1,
        "machine_rank": 0,
        "num_processes": num_gpus,
        "gpu_ids": "all",
        "mixed_precision": "bf16" if recipe.precision == "bf16" else "no",
        "rdzv_backend": "static",
        "same_network": True,
        "use_cpu": False,
    }
    if strategy == "FSDP":
        config["fsdp_config"] = {
            "fsdp_version": 2,
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_offload_params": False,
            "fsdp_reshard_after_forward": True,
            # a full state dict on save: final/ then loads with plain from_pretrained
            "fsdp_state_dict_type": "FULL_STATE_DICT",
            # the trainer's own activation_checkpointing setting applies; not twice
            "fsdp_activation_checkpointing": False,
        }
    return config


def accelerate_command(
    recipe: Recipe,
    run_dir: str | Path,
    num_gpus: int,
    *,
    resume: bool = False,
    params: int | None = None,
    gpu_memory_gib: float | None = None,
    python: str = sys.executable,
) -> list[str]:
    """Write run_dir/accelerate.yaml and return the `accelerate launch` command of the job."""
    if num_gpus < 2:
        from core.errors import InvalidInput

        raise InvalidInput(
            f"accelerate runs need at least 2 GPUs, not {num_gpus}.",
            "Use the local backend for one GPU.",
        )
    paths = RunPaths(Path(run_dir))
    strategy, why = choose_strategy(recipe, params=params, gpu_memory_gib=gpu_memory_gib)
    body = yaml.safe_dump(accelerate_config(recipe, num_gpus, strategy), sort_keys=False)
    write_text(paths.accelerate_config, f"# {strategy}: {why}\n{body}")
    command = [
        python,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(paths.accelerate_config),
        "-m",
        "trainers.sft",
        "--run-dir",
        str(paths.root),
    ]
    return [*command, "--resume"] if resume else command
