"""Shipped recipe files: complete, commented starting points (`tunesmith train --recipe NAME`).

Each file sets recipe keys, each under a comment that starts with the field's help text (kept in
sync by tests/trainers/test_shipped_recipes.py) and goes on to say why the value was picked. A
file is read as overrides on top of the Recipe defaults; unknown keys are refused with the
closest valid ones, exactly like `--set`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import InvalidInput, NotFound
from trainers.recipe import Recipe, check_keys

RECIPES_DIR = Path(__file__).resolve().parent


def shipped_recipes() -> dict[str, Path]:
    """Name (file stem) -> path of every recipe shipped with Tunesmith."""
    return {path.stem: path for path in sorted(RECIPES_DIR.glob("*.yaml"))}


def read_recipe_overrides(path: str | Path) -> dict[str, Any]:
    """The keys a recipe file sets, validated: usable as overrides on a default recipe."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(
            f"There is no recipe file {path}.",
            f"Shipped recipes: {', '.join(shipped_recipes())}.",
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}", "Fix the line shown.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{path} holds a {type(data).__name__}, not recipe keys.",
            "Write one `key: value` per line, e.g. `epochs: 3`.",
        )
    check_keys(data)
    return data


def load_recipe_file(path: str | Path) -> Recipe:
    """A Recipe from a file: the Recipe defaults with the file's keys applied.

    Each key the file sets gets the reason "from <file name>".
    """
    path = Path(path)
    data = read_recipe_overrides(path)
    reasons = dict(data.pop("reasons", None) or {})
    recipe = Recipe().with_overrides(data) if data else Recipe()
    recipe.reasons = {**reasons, **{key: f"from {path.name}" for key in data}}
    return recipe


def resolve_recipe(name_or_path: str) -> Path:
    """A shipped recipe's name (cpu-smoke) or a path to a recipe file."""
    shipped = shipped_recipes()
    if name_or_path in shipped:
        return shipped[name_or_path]
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    raise NotFound(
        f"There is no recipe {name_or_path!r}.",
        f"Use a file path or a shipped recipe: {', '.join(shipped)}.",
    )
