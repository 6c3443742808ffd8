"""Driving `tunesmith` in-process as a person would, for the CLI tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from ui.cli import app


def cli_invoker() -> Callable[..., Any]:
    """A function that runs `tunesmith ARGS...`, asserts it exited 0 (showing its output if not)
    and returns the parsed JSON when `--json` was passed, else the printed text. Exceptions are
    not caught, so a failing command shows its own traceback and `pytest.raises` can match it."""
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if "--json" in args else result.stdout

    return run
