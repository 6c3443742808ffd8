"""Shipped recipe files: each loads, sets only real fields, and explains every key it sets.

A key's comment starts with the field's help text (so a renamed or re-described field shows up
here), followed by optional lines on why this recipe picks its value.
"""

from __future__ import annotations

import re

import pytest
import yaml

from core.errors import InvalidInput, NotFound
from trainers.recipe import Recipe, field_help
from trainers.recipes import (
    load_recipe_file,
    read_recipe_overrides,
    resolve_recipe,
    shipped_recipes,
)

KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):")
SHIPPED = shipped_recipes()


def comments_above_keys(text: str) -> dict[str, list[str]]:
    """Top-level key -> the comment lines directly above it."""
    found: dict[str, list[str]] = {}
    block: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            block.append(line[1:].strip())
            continue
        match = KEY_LINE.match(line)
        if match:
            found[match.group(1)] = block
        block = []
    return found


def test_there_are_shipped_recipes():
    assert {"cpu-smoke", "lora-default", "full-small", "gpu-fast"} <= set(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_recipe_loads_and_every_key_is_a_commented_field(name):
    path = SHIPPED[name]
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    comments = comments_above_keys(text)
    help_texts = field_help()

    assert set(comments) == set(data)  # every key found, and at the top level
    for key, lines in comments.items():
        assert key in help_texts and key != "reasons", f"{name}: {key} is not a recipe field"
        assert lines, f"{name}: {key} has no comment above it"
        assert lines[0] == help_texts[key], f"{name}: {key}'s comment is out of date"

    recipe = load_recipe_file(path)
    defaults = Recipe()
    for key, value in data.items():
        assert getattr(recipe, key) == value
        kind = type(getattr(defaults, key))
        assert isinstance(value, kind) or (kind is float and isinstance(value, int)), key
        assert recipe.reasons[key] == f"from {path.name}"


def test_the_smoke_recipe_is_a_short_cpu_run_of_the_builtin():
    recipe = load_recipe_file(SHIPPED["cpu-smoke"])
    assert recipe.base_model == "builtin:smollm2-135m-instruct"
    assert (recipe.device, recipe.precision) == ("cpu", "fp32")
    assert 0 < recipe.max_steps <= 50 and recipe.use_liger is False


def test_recipes_resolve_by_name_or_path(tmp_path):
    assert resolve_recipe("cpu-smoke") == SHIPPED["cpu-smoke"]
    mine = tmp_path / "mine.yaml"
    mine.write_text("# Passes over the training rows.\nepochs: 2\n")
    assert resolve_recipe(str(mine)) == mine
    assert read_recipe_overrides(mine) == {"epochs": 2}
    with pytest.raises(NotFound, match="no recipe"):
        resolve_recipe("no-such-recipe")


def test_a_misspelt_key_is_refused_with_the_closest_one(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rat: 0.001\n")
    with pytest.raises(InvalidInput) as caught:
        load_recipe_file(bad)
    assert "learning_rate" in caught.value.hint


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("epochs: [1, 2\n", InvalidInput),
        ("- epochs\n", InvalidInput),
        ("epochs: lots\n", InvalidInput),
    ],
)
def test_broken_files_are_refused(tmp_path, text, error):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(error):
        load_recipe_file(path)
