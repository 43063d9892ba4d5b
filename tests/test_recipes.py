"""Every recipe runs with --smoke, in this process (sharing the session's Ray).

Each recipe checks its own goal and exits non-zero when it misses it; each ends with
one ``done: ...`` line whose number this test checks as well.
"""

import ast
import importlib.util
import math
import re
import runpy
import sys
from pathlib import Path

import pytest

RECIPES = sorted((Path(__file__).parent.parent / "recipes").glob("*.py"))

# recipe -> (the number in its "done:" line, what that number must be in a smoke run)
SMOKE_NUMBERS = {
    "checkpoints": (r"largest weight difference after restoring: (\S+) ", lambda x: x == 0),
    "custom_model": (r"dense layers \[(\d+)\]", lambda x: x == 16),
    "debug_in_ide": (r"done: (\d+) event", lambda x: x >= 1),
    "default_config": (r"done: (\d+) settings changed", lambda x: x >= 3),
    "did_it_learn": (r"the doctor read (\d+) iteration", lambda x: x == 2),
    # one 20-step episode: agent1 earns -1..+1 a step, agent2 -0.1..+1
    "env_loop": (r"random policy ([-+\d.]+) over 1 episode", lambda x: -22 <= x <= 40),
    "exercise2": (r"done: 2 trials, best return ([-\d.]+)", math.isfinite),
    "exercise3_arena_events": (r"minus its logged return: (\S+)$", lambda x: x <= 1e-6),
    "first_ppo": (r"after (\d+) iteration", lambda x: x == 2),
    "keras_model": (r"Keras dense layers \[(\d+)\]", lambda x: x == 16),
    # one tiny iteration leaves the policy near uniform over 4 actions (ln 4 = 1.386)
    "look_inside": (r"agent1's entropy at \[0, 99\]: ([\d.]+)", lambda x: 1.2 < x <= 1.3863),
    "multi_policy": (r"learning rates used pol1 ([\d.e-]+), pol2", lambda x: x == 1e-3),
    "per_agent_returns": (r"episode return in iteration 1: (\S+)$", lambda x: x <= 1e-6),
    "probe_config": (r"done: every probe passes()", lambda x: True),
    "reproduce_a_crash": (r"replayed to env step (\d+)", lambda x: x >= 1),
    "scaling": (r"done: (\d+) env steps from 2 runner", lambda x: x >= 200),
    "tune_grid": (r"done: 2 trials with checkpoints, best return ([-\d.]+)", math.isfinite),
}


def test_every_recipe_has_a_checked_number():
    assert {recipe.stem for recipe in RECIPES} == set(SMOKE_NUMBERS)


def required_modules(recipe: Path) -> tuple:
    """A recipe's optional dependencies, from its module-level ``REQUIRES`` tuple."""
    for node in ast.parse(recipe.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "REQUIRES"
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    return ()


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_reaches_its_goal_with_smoke(recipe, tmp_path, monkeypatch, capsys):
    missing = [m for m in required_modules(recipe) if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{recipe.name} needs {missing}: make test-tf")
    monkeypatch.setattr(sys, "argv", [str(recipe), "--smoke", "--logdir", str(tmp_path)])
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(recipe), run_name="__main__")
    except SystemExit as exit_:  # a recipe that misses its goal exits non-zero
        assert exit_.code in (0, None), f"{recipe.name} missed its goal: {exit_.code}"
    done = [line for line in capsys.readouterr().out.splitlines() if line.startswith("done:")]
    assert len(done) == 1, f"{recipe.name} printed {len(done)} 'done:' lines"
    pattern, expected = SMOKE_NUMBERS[recipe.stem]
    match = re.search(pattern, done[0])
    assert match, f"{recipe.name}'s last line {done[0]!r} does not match {pattern!r}"
    number = float(match.group(1)) if match.group(1) else 0.0
    assert expected(number), f"{recipe.name}: {number} in {done[0]!r}"
