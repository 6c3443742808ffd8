"""GGUF through llama.cpp's own converter, when the person has it; a clear way to get it otherwise.

Writing GGUF by hand would mean tracking every architecture's tensor names; llama.cpp's
`convert_hf_to_gguf.py` already does, so Tunesmith only finds it and runs it on a plain model
folder. It is looked for in `$TUNESMITH_LLAMA_CPP_DIR` (a llama.cpp checkout), then on PATH (as
`convert_hf_to_gguf.py` or `convert-hf-to-gguf`). Missing or failing, it becomes a note: the rest
of the export is still useful, so it still completes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "TUNESMITH_LLAMA_CPP_DIR"
SCRIPT = "convert_hf_to_gguf.py"
PATH_NAMES = (SCRIPT, "convert-hf-to-gguf")
INSTALL_STEP = (
    "git clone https://github.com/ggml-org/llama.cpp && pip install -r "
    "llama.cpp/requirements/requirements-convert_hf_to_gguf.txt, then "
    f"export {ENV_VAR}=$PWD/llama.cpp and run the export again"
)
TIMEOUT_S = 3600
OUTTYPE = "f16"


@dataclass(frozen=True)
class GGUFOutcome:
    """The written file (None when nothing was written) and a note for the person."""

    path: Path | None
    note: str


def find_converter() -> list[str] | None:
    """The command prefix that runs llama.cpp's converter, or None when it is not installed."""
    folder = os.environ.get(ENV_VAR, "").strip()
    if folder:
        script = Path(folder).expanduser() / SCRIPT
        if script.is_file():
            return [sys.executable, str(script)]
    for name in PATH_NAMES:
        found = shutil.which(name)
        if found:
            return [sys.executable, found] if found.endswith(".py") else [found]
    return None


def convert(model_dir: Path, outfile: Path) -> GGUFOutcome:
    """Convert the plain model folder `model_dir` to `outfile` (f16), or say why not."""
    command = find_converter()
    if command is None:
        where = os.environ.get(ENV_VAR, "").strip()
        looked = f"in {ENV_VAR}={where} or " if where else f"({ENV_VAR} is not set) or "
        return GGUFOutcome(
            None,
            f"GGUF skipped: llama.cpp's {SCRIPT} was not found {looked}on PATH. "
            f"To get it: {INSTALL_STEP}.",
        )
    args = [*command, str(model_dir), "--outfile", str(outfile), "--outtype", OUTTYPE]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return GGUFOutcome(None, f"GGUF failed: {' '.join(args[:2])} could not run: {exc}.")
    if done.returncode != 0 or not outfile.is_file():
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
        return GGUFOutcome(
            None,
            f"GGUF failed: the converter exited with {done.returncode}: {' | '.join(tail)}. "
            "The safetensors export is complete; check that llama.cpp supports this architecture.",
        )
    return GGUFOutcome(outfile, f"GGUF written with llama.cpp's converter ({OUTTYPE}).")
