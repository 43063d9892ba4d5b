"""Every recipe runs with --smoke, in this process (sharing the session's Ray)."""

import runpy
import sys
from pathlib import Path

import pytest

RECIPES = sorted((Path(__file__).parent.parent / "recipes").glob("*.py"))


def test_there_are_recipes():
    assert len(RECIPES) >= 2


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_runs_with_smoke(recipe, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(recipe), "--smoke", "--logdir", str(tmp_path)])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(recipe), run_name="__main__")
    out = capsys.readouterr().out
    assert "tensorboard --logdir" in out or "done" in out.lower()
