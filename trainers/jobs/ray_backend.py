"""A Ray cluster, for when one machine is not enough: Ray's job submission API runs the same job.

The entrypoint is the same `python -m trainers.sft --run-dir DIR` the local backend runs (or its
`accelerate launch` for several GPUs), and `runtime_env.working_dir` ships this checkout to the
cluster. DIR must be on storage the cluster's nodes see (a shared filesystem): the job reads its
recipe there and writes its checkpoints and results there. Ray is imported only on submission.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from core.errors import TunesmithError
from trainers.jobs.local import REPO_ROOT, sft_command
from trainers.recipe import Recipe

EXCLUDES = [".git", ".venv", ".tunesmith", "**/__pycache__", "*.safetensors", "*.gguf"]
"""Kept out of the uploaded working_dir: environments, workspaces and weights are not code."""


def ray_job_command(
    recipe: Recipe,
    run_dir: str | Path,
    *,
    run_id: str,
    num_gpus: int = 1,
    resume: bool = False,
    params: int | None = None,
) -> dict[str, Any]:
    """The keyword arguments of `JobSubmissionClient.submit_job` for this run.

    `params` (the model's parameter count) picks DDP or FSDP for several GPUs; without it the
    count is read from the base model's config.
    """
    run_dir = Path(run_dir)
    if num_gpus > 1:
        from trainers.jobs.multi_gpu import accelerate_command

        job = accelerate_command(
            recipe, run_dir, num_gpus, resume=resume, params=params, python="python"
        )
    else:
        job = ["python", *sft_command(run_dir, resume=resume)[1:]]
    return {
        "entrypoint": shlex.join(job),
        "submission_id": run_id,
        "runtime_env": {
            "working_dir": str(REPO_ROOT),
            "excludes": EXCLUDES,
            "env_vars": {"PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"},
        },
        "entrypoint_num_gpus": num_gpus if recipe.device != "cpu" else 0,
        "metadata": {"tunesmith_run": run_id, "base_model": recipe.base_model},
    }


def submit_ray_job(address: str, job: dict[str, Any]) -> str:
    """Submit `job` (from `ray_job_command`) to the cluster at `address`; return its id."""
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise TunesmithError(
            "Ray is not installed, so runs cannot be sent to a Ray cluster.",
            'Install it with `pip install "ray[default]"`, or train on this machine.',
        ) from None
    return JobSubmissionClient(address).submit_job(**job)
