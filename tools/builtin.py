"""The built-in tools, registered through the `tunesmith.tools` entry point like any plugin.

pyproject.toml names `builtin_tools` under `[project.entry-points."tunesmith.tools"]`, so the
registry loads built-ins and third-party tools the same way, and validates both.
"""

from __future__ import annotations

from tools.registry import ToolSpec


def builtin_tools() -> list[ToolSpec]:
    """Every built-in tool, in workflow order (the order `help` lists them)."""
    from tools.agent_tools import (
        datasets,
        evaluation,
        export,
        guide,
        knowledge,
        models,
        testing,
        training,
        usecase,
    )

    return [
        *models.TOOLS[:1],  # compare_models: pick a baseline first
        *usecase.TOOLS,
        *knowledge.TOOLS,
        *datasets.TOOLS,
        *training.TOOLS,
        *evaluation.TOOLS,
        *testing.TOOLS,
        *models.TOOLS[1:],  # try_model
        *export.TOOLS,
        *guide.TOOLS,
    ]
