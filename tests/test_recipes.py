"""Every recipe runs with --smoke, in this process (sharing the session's Ray)."""

import ast
import importlib.util
import runpy
import sys
from pathlib import Path

import pytest

RECIPES = sorted((Path(__file__).parent.parent / "recipes").glob("*.py"))


def test_there_are_recipes():
    assert len(RECIPES) >= 2


def required_modules(recipe: Path) -> tuple:
    """A recipe's optional dependencies, from its module-level ``REQUIRES`` tuple."""
    for node in ast.parse(recipe.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "REQUIRES"
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    return ()


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_runs_with_smoke(recipe, tmp_path, monkeypatch, capsys):
    missing = [m for m in required_modules(recipe) if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{recipe.name} needs {missing}: pip install -e '.[tf]'")
    monkeypatch.setattr(sys, "argv", [str(recipe), "--smoke", "--logdir", str(tmp_path)])
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(recipe), run_name="__main__")
    except SystemExit as exit_:  # a recipe that misses its goal exits non-zero
        assert exit_.code in (0, None), f"{recipe.name} missed its goal: {exit_.code}"
    out = capsys.readouterr().out
    assert "tensorboard --logdir" in out or "done" in out.lower()
