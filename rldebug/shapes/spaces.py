"""Gymnasium spaces as rldebug's tools say them: why a value is not in a space."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def why_not_in(obs: Any, space: gym.Space) -> str:
    """A short reason why ``obs`` is not in ``space`` (shape, dtype or range)."""
    if isinstance(space, (gym.spaces.Box, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
        arr = obs if isinstance(obs, np.ndarray) else np.asarray(obs)
        if arr.shape != space.shape:
            return f"shape {arr.shape}, expected {space.shape}"
        if not np.can_cast(arr.dtype, space.dtype):
            return f"dtype {arr.dtype}, expected {space.dtype} (or one that casts to it safely)"
        return f"values {arr.tolist()} outside the space's bounds"
    if isinstance(space, gym.spaces.Discrete):
        return (f"{obs!r} is not an int in [{space.start}, {space.start + space.n - 1}]")
    if isinstance(space, gym.spaces.Dict) and isinstance(obs, dict):
        if set(obs) != set(space.spaces):
            return (f"its keys are {sorted(map(str, obs))}, the space's "
                    f"{sorted(map(str, space.spaces))}")
        for key, part in space.spaces.items():
            if not part.contains(obs[key]):
                return f"[{key!r}]: {why_not_in(obs[key], part)}"
    if isinstance(space, gym.spaces.Tuple) and isinstance(obs, (tuple, list)):
        if len(obs) != len(space.spaces):
            return f"it has {len(obs)} parts, the space {len(space.spaces)}"
        for i, part in enumerate(space.spaces):
            if not part.contains(obs[i]):
                return f"part {i}: {why_not_in(obs[i], part)}"
    return f"{obs!r:.80} is not contained in the space"


__all__ = ["why_not_in"]
