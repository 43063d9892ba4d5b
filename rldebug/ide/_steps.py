"""What ``break_on`` looks at, read the same way on both API stacks.

- :func:`step_of` — per agent, the (obs, action, reward, info) of the env step
  an ``on_episode_step`` callback has just seen.
- :func:`learner_stats` — per module, the learner statistics of a train result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rldebug.callbacks._episodes import is_old_stack_episode, last_step


@dataclass
class AgentStep:
    """One agent's part of the env step just taken."""

    obs: Any
    action: Any
    reward: float | None
    info: dict


def _steps_new_stack(episode) -> dict[str, AgentStep]:
    rewards, infos = last_step(episode)
    observations = episode.get_observations(-1)
    actions = episode.get_actions(-1)
    return {aid: AgentStep(observations.get(aid), actions.get(aid), rewards.get(aid),
                           infos.get(aid) or {})
            for aid in rewards}


def _last_column_value(collector, column: str) -> Any:
    """Newest value of a column in an old-stack AgentCollector (flattened per component)."""
    components = collector.buffers.get(column)
    if not components:
        return None
    values = [component[-1] for component in components if component]
    return values[0] if len(values) == 1 else np.asarray(values)


def _steps_old_stack(episode) -> dict[str, AgentStep]:
    rewards, infos = last_step(episode)
    steps = {}
    for aid in episode.get_agents():
        collector = episode._agent_collectors.get(aid)
        steps[aid] = AgentStep(
            obs=_last_column_value(collector, "obs") if collector else None,
            action=_last_column_value(collector, "actions") if collector else None,
            reward=rewards.get(aid),
            info=infos.get(aid) or {},
        )
    return steps


def step_of(episode) -> dict[str, AgentStep]:
    """Per agent, what happened in the env step the episode just recorded."""
    return _steps_old_stack(episode) if is_old_stack_episode(episode) else _steps_new_stack(episode)


def episode_id_of(episode) -> str:
    return str(episode.episode_id if is_old_stack_episode(episode) else episode.id_)


def env_step_of(episode) -> int:
    return int(episode.length if is_old_stack_episode(episode) else len(episode))


def learner_stats(result: dict) -> dict[str, dict]:
    """``{module_id: stats}`` from a train result (new: ``learners``, old: ``info/learner``)."""
    learners = result.get("learners")
    if isinstance(learners, dict):
        return {mid: stats for mid, stats in learners.items()
                if isinstance(stats, dict) and not mid.startswith("__")}
    old = result.get("info", {}).get("learner", {})
    return {pid: stats.get("learner_stats", {}) for pid, stats in old.items()
            if isinstance(stats, dict)}


LOSS_KEYS = ("total_loss",)
KL_KEYS = ("mean_kl_loss", "kl")  # new stack, old stack


def first_value(stats: dict, keys: tuple[str, ...]) -> float | None:
    for key in keys:
        if key in stats:
            try:
                return float(stats[key])
            except (TypeError, ValueError):
                return None
    return None


def has_non_finite(value: Any) -> bool:
    """True if ``value`` (number, array, tensor, or nested dict/list/tuple) holds NaN or inf."""
    if value is None or isinstance(value, (str, bytes, bool)):
        return False
    if isinstance(value, dict):
        return any(has_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_non_finite(v) for v in value)
    if isinstance(value, (int, np.integer)):
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype,
                                                                          np.complexfloating):
        return False
    return not bool(np.isfinite(array).all())


__all__ = [
    "KL_KEYS",
    "LOSS_KEYS",
    "AgentStep",
    "env_step_of",
    "episode_id_of",
    "first_value",
    "has_non_finite",
    "learner_stats",
    "step_of",
]
