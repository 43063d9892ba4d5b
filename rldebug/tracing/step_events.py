"""Events in one env step, read from what the env's ``step`` returned: non-finite
observations and rewards, named info events.

The trace's env wrapper calls :func:`env_step_events` on each ``step`` result (cheap:
no episode is read), and ``on_episode_step``, which RLlib calls right after, adds the
episode's id and env step and writes them: before the next forward pass can crash
the sampler, and with what ``rldebug.reproduce`` replays to.
"""

from __future__ import annotations

import math

from rldebug.shapes.episodes import DEFAULT_AGENT_ID
from rldebug.shapes.numbers import has_non_finite

_COMMON = "__common__"  # MultiAgentEnv's shared info, not an agent


def _per_agent(result) -> list[tuple]:
    obs, rewards, _, _, infos = result
    if not isinstance(rewards, dict):  # a single-agent gymnasium env
        return [(DEFAULT_AGENT_ID, obs, rewards, infos or {})]
    obs, infos = obs or {}, infos or {}
    agents = dict.fromkeys([*obs, *rewards, *infos])
    return [(str(a), obs.get(a), rewards.get(a), infos.get(a) or {})
            for a in agents if a != _COMMON]


def env_step_events(result, info_names: tuple[str, ...] = (),
                    non_finite: bool = True) -> list[dict]:
    """Per agent of this step: a non-finite observation or reward, and each truthy
    ``info[name]`` (``column`` ``"obs"``, ``"rewards"``, ``"info.<name>"``)."""
    found = []
    for agent_id, obs, reward, info in _per_agent(result):
        if non_finite:
            if has_non_finite(obs):
                found.append({"column": "obs", "agent_id": agent_id})
            if reward is not None and not math.isfinite(float(reward)):
                found.append({"column": "rewards", "agent_id": agent_id,
                              "value": float(reward)})
        for name in info_names:
            if isinstance(info, dict) and info.get(name):
                found.append({"column": f"info.{name}", "agent_id": agent_id,
                              "value": None if reward is None else float(reward)})
    return found


__all__ = ["env_step_events"]
