"""Read values out of RLlib 2.60 result dicts, for both API stacks.

RLlib nests results (``result["env_runners"]["episode_return_mean"]``) and the
two API stacks name things differently. These helpers take Tune-style
slash-separated keys and know where each stack keeps per-agent returns.
"""

from __future__ import annotations

import math
from typing import Any

_MISSING = object()


def get_path(result: dict, key: str, default: Any = None) -> Any:
    """Value at ``"a/b/c"`` in a nested result dict (or under the flat key itself)."""
    if key in result:
        return result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def has_path(result: dict, key: str) -> bool:
    return get_path(result, key, _MISSING) is not _MISSING


def mean_total_return(result: dict) -> float | None:
    """Mean return per episode summed over agents (both stacks)."""
    value = get_path(result, "env_runners/episode_return_mean")
    if value is None:
        value = get_path(result, "env_runners/episode_reward_mean")
    return _finite_or_none(value)


def per_agent_returns(result: dict) -> dict[str, float]:
    """Mean episode return per agent (new stack) or per policy (old stack)."""
    returns = get_path(result, "env_runners/agent_episode_returns_mean")
    if not isinstance(returns, dict):
        returns = get_path(result, "env_runners/policy_reward_mean") or {}
    return {str(k): v for k, v in returns.items() if _finite_or_none(v) is not None}


def env_steps_total(result: dict) -> int:
    """Env steps sampled since the start of the run (both stacks)."""
    for key in ("num_env_steps_sampled_lifetime", "env_runners/num_env_steps_sampled_lifetime",
                "timesteps_total"):
        value = get_path(result, key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    return 0


def _finite_or_none(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


__all__ = ["env_steps_total", "get_path", "has_path", "mean_total_return", "per_agent_returns"]
