"""Events in the env step an episode has just recorded: non-finite values, named info events.

Checked in ``on_episode_step``, so they are written before the next forward pass
can crash the sampler, with the episode's id and env step (what
``rldebug.reproduce`` replays to).
"""

from __future__ import annotations

import math

from rldebug.shapes.episodes import env_t, episode_id, last_step
from rldebug.shapes.numbers import has_non_finite


def step_events(episode, info_names: tuple[str, ...] = (), non_finite: bool = True) -> list[dict]:
    """Per agent of the step just taken: a non-finite observation or reward, and each
    ``info[name]`` that is truthy (``column`` ``"obs"``, ``"rewards"``, ``"info.<name>"``)."""
    found = []
    for agent_id, step in last_step(episode).items():
        where = {"agent_id": str(agent_id), "episode_id": episode_id(episode),
                 "env_step": env_t(episode)}
        if non_finite:
            if has_non_finite(step.obs):
                found.append({"column": "obs", **where})
            if step.reward is not None and not math.isfinite(step.reward):
                found.append({"column": "rewards", "value": float(step.reward), **where})
        for name in info_names:
            if step.info.get(name):
                found.append({"column": f"info.{name}", "value": step.reward, **where})
    return found


__all__ = ["step_events"]
