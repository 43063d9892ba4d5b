"""``rldebug demo``: train the tutorial's two-policy arena in-process until it is solved."""

from __future__ import annotations

import math
import numbers
from pathlib import Path

from rldebug.arena.config import arena_ppo_config
from rldebug.inprocess.training import RunResult, run
from rldebug.usage import UsageError

TARGET_RETURN = 15.0  # the tutorial's target mean total reward
DEFAULT_BUDGET_S = 900


def demo(target: float = TARGET_RETURN, budget_s: float = DEFAULT_BUDGET_S,
         logdir: str | Path | None = None, api_stack: str = "new", seed: int | None = 0,
         progress: bool = True) -> RunResult:
    """Train ``arena_ppo_config()`` until the mean total return reaches ``target``.

    Stops early at ``budget_s`` seconds of training. Returns the :class:`RunResult`;
    ``result.stopped_by`` says whether the target or the budget ended it.
    """
    for name, value in (("budget_s", budget_s), ("target", target)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                not math.isfinite(value):
            raise UsageError(f"demo({name}=...) must be a finite number, got {value!r}.")
    if budget_s <= 0:
        raise UsageError(f"demo(budget_s=...) (--budget) must be > 0 seconds, got {budget_s!r}.")
    stop = {"env_runners/episode_return_mean": target, "time_total_s": budget_s}
    config = arena_ppo_config(api_stack=api_stack, seed=seed)
    return run(config, stop=stop, logdir=logdir, checkpoint_at_end=True, progress=progress)


__all__ = ["DEFAULT_BUDGET_S", "TARGET_RETURN", "demo"]
