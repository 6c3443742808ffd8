"""Terminal output shared by the CLI commands: JSON, errors, progress bars.

Progress goes to stderr so `--json` output on stdout stays machine-readable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yield a `(stage, done, total, detail="")` callback driving one bar per stage on stderr.

    `detail` (e.g. "12 kept, 3 rejected") is shown beside the stage name and may change.
    """
    if not enabled or not err.is_terminal:
        yield lambda stage, done, total, detail="": None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    tasks: dict[str, Any] = {}
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:

        def update(stage: str, done: int, total: int, detail: str = "") -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            label = f"{stage} ({detail})" if detail else stage
            bar.update(tasks[stage], completed=done, total=total, description=label)

        yield update


def quiet_libraries() -> None:
    """Silence the load-time progress bars and warnings of transformers and friends."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("transformers", "sentence_transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass
