"""Gymnasium spaces as rldebug's tools say them: why a value is not in a space."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def contains(space: gym.Space, value: Any) -> bool:
    """``space.contains(value)``, False where gymnasium's raises instead: a Box asked
    about a ragged value (a Tuple space's parts, a batch of Tuple observations) makes
    ``np.asarray`` raise ValueError."""
    try:
        return bool(space.contains(value))
    except (ValueError, TypeError):
        return False


def why_not_in(obs: Any, space: gym.Space) -> str:
    """A short reason why ``obs`` is not in ``space`` (shape, dtype or range)."""
    if isinstance(space, (gym.spaces.Box, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
        try:
            arr = obs if isinstance(obs, np.ndarray) else np.asarray(obs)
        except ValueError:  # ragged: parts of other shapes
            return f"{obs!r:.80} has parts of different shapes, not one array"
        if arr.shape != space.shape:
            return f"shape {arr.shape}, expected {space.shape}"
        if not np.can_cast(arr.dtype, space.dtype):
            return f"dtype {arr.dtype}, expected {space.dtype} (or one that casts to it safely)"
        shown = f"values {arr.tolist()}" if arr.size <= 16 else f"values of shape {arr.shape}"
        return f"{shown} outside the space's bounds{_where_out_of_bounds(arr, space)}"
    if isinstance(space, gym.spaces.Discrete):
        return (f"{obs!r} is not an int in [{space.start}, {space.start + space.n - 1}]")
    if isinstance(space, gym.spaces.Dict) and isinstance(obs, dict):
        if set(obs) != set(space.spaces):
            return (f"its keys are {sorted(map(str, obs))}, the space's "
                    f"{sorted(map(str, space.spaces))}")
        for key, part in space.spaces.items():
            if not contains(part, obs[key]):
                return f"[{key!r}]: {why_not_in(obs[key], part)}"
    if isinstance(space, gym.spaces.Tuple) and isinstance(obs, (tuple, list)):
        if len(obs) != len(space.spaces):
            return f"it has {len(obs)} parts, the space {len(space.spaces)}"
        for i, part in enumerate(space.spaces):
            if not contains(part, obs[i]):
                return f"part {i}: {why_not_in(obs[i], part)}"
    return f"{obs!r:.80} is not contained in the space"




def _where_out_of_bounds(arr: np.ndarray, space: gym.Space, most: int = 3) -> str:
    """``": index 2 is 1 (bounds -0.419..0.419)"``: the first entries of ``arr`` outside
    ``space``'s bounds (a NaN is outside every bound); "" where none is found."""
    if isinstance(space, gym.spaces.Box):
        low, high = space.low, space.high
    elif isinstance(space, gym.spaces.MultiDiscrete):
        low = np.asarray(getattr(space, "start", 0))
        high = low + space.nvec - 1
    else:  # MultiBinary
        low, high = np.asarray(0), np.asarray(1)
    try:
        low, high = np.broadcast_to(low, arr.shape), np.broadcast_to(high, arr.shape)
        with np.errstate(invalid="ignore"):
            outside = np.argwhere(~((arr >= low) & (arr <= high)))
    except (TypeError, ValueError):
        return ""
    if not len(outside):
        return ""
    said = [f"{_index(i)} is {_exact(arr[tuple(i)])} (bounds {_exact(low[tuple(i)])}.."
            f"{_exact(high[tuple(i)])})" for i in outside[:most]]
    more = f", and {len(outside) - most} more" if len(outside) > most else ""
    return ": " + ", ".join(said) + more


def _index(position: np.ndarray) -> str:
    if len(position) == 0:
        return "the value"  # a Box of shape ()
    return f"index {int(position[0]) if len(position) == 1 else tuple(map(int, position))}"


def _exact(value) -> str:
    """A number as its dtype holds it, shortest (a float32 1.0000001 against a bound of 1
    reads so, not as 1 and 1)."""
    value = np.asarray(value)[()]
    if isinstance(value, np.integer | np.bool_):
        return str(int(value))
    if not np.isfinite(value):
        return str(value)
    if value == 0 or 1e-4 <= abs(value) < 1e7:
        return np.format_float_positional(value, unique=True, trim="-")
    return np.format_float_scientific(value, unique=True, trim="-")


def leaves(space: gym.Space, where: str = "") -> list[tuple[str, gym.Space]]:
    """The parts of ``space`` that are not Dict or Tuple, with where they sit (``""``,
    ``"['pos']"``, ``"[1]"``)."""
    if isinstance(space, gym.spaces.Dict):
        return [leaf for key, sub in space.spaces.items()
                for leaf in leaves(sub, f"{where}[{key!r}]")]
    if isinstance(space, gym.spaces.Tuple):
        return [leaf for i, sub in enumerate(space.spaces) for leaf in leaves(sub, f"{where}[{i}]")]
    return [(where, space)]


def offset_discrete_parts(space: gym.Space) -> list[tuple[str, gym.Space]]:
    """The Discrete/MultiDiscrete parts of ``space`` whose values do not start at 0, with
    where they sit (:func:`leaves`). RLlib 2.60 ignores ``start`` on both stacks: it
    sends the index 0..n-1 as the action, and its FlattenObservations one-hots an
    observation with ``depth=n`` and no offset."""
    return [(where, part) for where, part in leaves(space)
            if isinstance(part, (gym.spaces.Discrete, gym.spaces.MultiDiscrete))
            and np.any(np.asarray(part.start) != 0)]


def start_text(part: gym.Space) -> str:
    """The ``start`` of a Discrete/MultiDiscrete part, as a user wrote it."""
    return str(int(part.start)) if np.ndim(part.start) == 0 else \
        str(np.asarray(part.start).tolist())


def from_zero_text(part: gym.Space) -> str:
    """The same Discrete/MultiDiscrete part declared from 0."""
    return (f"Discrete({int(part.n)})" if isinstance(part, gym.spaces.Discrete) else
            f"MultiDiscrete({np.asarray(part.nvec).tolist()})")


# the leaves RLlib 2.60's flattening (utils/numpy.flatten_inputs_to_1d_tensor) encodes:
# Discrete and MultiDiscrete one-hot, anything else cast to float32 (Box, MultiBinary)
FLATTENABLE = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete,
               gym.spaces.MultiBinary)


def unflattenable_parts(space: gym.Space) -> list[tuple[str, gym.Space]]:
    """The parts of ``space`` (:func:`leaves`) that RLlib's FlattenObservations cannot turn
    into numbers: Text, Graph, Sequence, OneOf (it casts them to float32 and fails,
    "could not convert string to float")."""
    return [(where, part) for where, part in leaves(space) if not isinstance(part, FLATTENABLE)]


__all__ = ["FLATTENABLE", "contains", "from_zero_text", "leaves", "offset_discrete_parts",
           "start_text", "unflattenable_parts", "why_not_in"]
