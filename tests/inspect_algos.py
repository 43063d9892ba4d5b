"""Tiny trained arena algorithms (one per API stack) and their checkpoints, built once.

Shared by the test_inspect*.py modules through a module-level cache, so each stack
is built and trained once per test session whichever modules run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tiny import tiny_arena_config

import rldebug

# A high learning rate makes a few tiny iterations move the policies away from
# uniform, so the statistical agreement tests have something to detect.
TRAIN_ITERATIONS = 4
_ALGOS: dict = {}
_CHECKPOINTS: dict = {}
_ROOT = Path(tempfile.mkdtemp(prefix="rldebug_inspect_"))


def trained_algo(api_stack: str):
    """A tiny arena PPO algo on ``api_stack``, trained a few iterations (cached)."""
    if api_stack not in _ALGOS:
        algo = rldebug.local_mode(tiny_arena_config(api_stack, lr=1e-2)).build_algo()
        for _ in range(TRAIN_ITERATIONS):
            algo.train()
        _ALGOS[api_stack] = algo
    return _ALGOS[api_stack]


def checkpoint_of(api_stack: str) -> Path:
    """A checkpoint of :func:`trained_algo` (new stack: save_to_path; old: save)."""
    if api_stack not in _CHECKPOINTS:
        algo = trained_algo(api_stack)
        path = _ROOT / f"checkpoint_{api_stack}"
        if api_stack == "new":
            algo.save_to_path(str(path))
        else:  # save_to_path raises on the old stack (Algorithm.get_state)
            algo.save(str(path))
        _CHECKPOINTS[api_stack] = path
    return _CHECKPOINTS[api_stack]
