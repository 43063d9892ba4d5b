"""Probe states written in the user's own observation space, and probe targets in the
user's own action space.

A probe has at most two states (``0`` and ``1``). :func:`observation` writes a state
as a valid observation of the user's space, of the same family and shape (Box,
Discrete, MultiDiscrete, MultiBinary, and Dict/Tuple of those), so that the user's
env-to-module connectors, encoder and custom model see the kind of input they
were built for. :func:`target_action` and :func:`action_reward` do the same for
the actions: a Discrete space rewards one action; a Box space rewards actions
near a point a quarter of the way in from one bound (never the centre, where an
untrained Gaussian already sits, nor a bound, which tanh squashing cannot reach).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rldebug.usage import UsageError

OBSERVATION_FAMILIES = "Box, Discrete, MultiDiscrete, MultiBinary, or a Dict/Tuple of those"
ACTION_FAMILIES = "Discrete or Box"

# Where in a bounded Box the two states (and the two Box action targets) lie.
_FRACTION = {0: 0.25, 1: 0.75}
# Used for an unbounded side of a Box.
_UNBOUNDED = {0: -1.0, 1: 1.0}


class UnsupportedSpace(UsageError):
    """A space the probes cannot write states or actions in (unusable input: exit 2)."""


def check_observation_space(space: Any, where: str) -> None:
    """Raise :class:`UnsupportedSpace` unless the probes can write both states in ``space``."""
    if isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)):
        subs = space.spaces.values() if isinstance(space, gym.spaces.Dict) else space.spaces
        if not len(list(subs)):
            raise UnsupportedSpace(f"{where}'s observation space {space} is empty.")
        for sub in (space.spaces.values() if isinstance(space, gym.spaces.Dict)
                    else space.spaces):
            check_observation_space(sub, where)
        return
    if not isinstance(space, (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete,
                              gym.spaces.MultiBinary)):
        raise UnsupportedSpace(
            f"{where}'s observation space is {space}; probes write their states in "
            f"{OBSERVATION_FAMILIES}. Probe a config whose env has one of those.")
    if np.array_equal(observation(space, 0), observation(space, 1)):
        raise UnsupportedSpace(
            f"{where}'s observation space {space} holds a single value, so no probe can "
            "show it two different states.")


def check_action_space(space: Any, where: str) -> None:
    if isinstance(space, gym.spaces.Discrete):
        if space.n < 2:
            raise UnsupportedSpace(f"{where} has a single action ({space}); the policy probes "
                                   "need at least two to choose from.")
        return
    if isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating):
        return
    raise UnsupportedSpace(f"{where}'s action space is {space}; probes support "
                           f"{ACTION_FAMILIES} actions.")


def _box_point(low: np.ndarray, high: np.ndarray, state: int) -> np.ndarray:
    bounded = np.isfinite(low) & np.isfinite(high)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf where unbounded
        point = np.where(bounded, low + _FRACTION[state] * (high - low), _UNBOUNDED[state])
    return np.clip(point, low, high)


def observation(space: Any, state: int) -> Any:
    """State ``0`` or ``1`` as an observation of ``space`` (same structure and dtype)."""
    if isinstance(space, gym.spaces.Dict):
        return {key: observation(sub, state) for key, sub in space.spaces.items()}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(observation(sub, state) for sub in space.spaces)
    if isinstance(space, gym.spaces.Discrete):
        return np.int64(space.start + (space.n - 1) * state)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return (np.asarray(space.start if hasattr(space, "start") else 0)
                + (space.nvec - 1) * state).astype(space.dtype)
    if isinstance(space, gym.spaces.MultiBinary):
        return np.full(space.shape, state, dtype=space.dtype)
    if isinstance(space, gym.spaces.Box):
        point = _box_point(space.low.astype(np.float64), space.high.astype(np.float64), state)
        if np.issubdtype(space.dtype, np.integer):
            point = np.round(point)
        return point.astype(space.dtype)
    raise UnsupportedSpace(f"probes cannot write an observation in {space}; they support "
                           f"{OBSERVATION_FAMILIES}.")


def _box_action_bounds(space: gym.spaces.Box) -> tuple[np.ndarray, np.ndarray]:
    """The range actions are judged on: the Box's bounds, or [-1, 1] where unbounded."""
    low = np.where(np.isfinite(space.low), space.low, -1.0).astype(np.float64)
    high = np.where(np.isfinite(space.high), space.high, 1.0).astype(np.float64)
    return low, high


def target_action(space: Any, which: int) -> Any:
    """The rewarded action number ``which`` (0 or 1): a Discrete index, or a Box point."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.start + (1 if which == 1 else space.n - 1 if space.n > 2 else 0))
    low, high = _box_action_bounds(space)
    return low + _FRACTION[which] * (high - low)


def _sent_index(space: gym.spaces.Discrete, which: int) -> int:
    """The index RLlib sends the env for the rewarded Discrete action: 2.60 samples the
    index 0..n-1 and sends it as it is on both stacks, whatever the space's ``start``."""
    return int(target_action(space, which)) - int(space.start)


def action_reward(space: Any, action: Any, which: int) -> float:
    """+1 for the rewarded action, -1 for the others; for a Box, 1 at the target falling
    linearly to -1 at half the range away (clipped). ``action`` as RLlib sends it: a
    Discrete action is its index (see :func:`_sent_index`)."""
    target = target_action(space, which)
    if isinstance(space, gym.spaces.Discrete):
        return 1.0 if int(np.asarray(action).reshape(())) == _sent_index(space, which) else -1.0
    low, high = _box_action_bounds(space)
    action = np.clip(np.asarray(action, dtype=np.float64).reshape(space.shape), low, high)
    distance = float(np.mean(np.abs(action - target) / (high - low)))
    return float(np.clip(1.0 - 4.0 * distance, -1.0, 1.0))


def action_miss(space: gym.spaces.Box, action: Any, which: int) -> float:
    """How far a Box action is from counting as the rewarded one, as a fraction of the
    action range beyond the tolerance of :func:`action_hits` (<= 0 when it hits)."""
    target = target_action(space, which)
    low, high = _box_action_bounds(space)
    action = np.clip(np.asarray(action, dtype=np.float64).reshape(space.shape), low, high)
    return float(np.max(np.abs(action - target) / (high - low))) - 1 / 8


def action_hits(space: Any, action: Any, which: int) -> bool:
    """Whether a (greedy) action, as the module gives it, counts as the rewarded one: its
    index (:func:`_sent_index`), or a Box action within an eighth of the range of the
    target in every dimension."""
    if isinstance(space, gym.spaces.Discrete):
        return int(np.asarray(action).reshape(())) == _sent_index(space, which)
    return action_miss(space, action, which) <= 0


def describe_action(space: Any, which: int) -> str:
    target = target_action(space, which)
    if isinstance(space, gym.spaces.Discrete):
        return f"action {target}"
    return f"action ≈ {[round(float(v), 2) for v in np.asarray(target).reshape(-1)]}"


def agent_target(index: int) -> int:
    """Which of the two targets (and states) agent number ``index`` gets in the
    multi-agent probes: alternate, so neighbouring agents want different things."""
    return index % 2


__all__ = [
    "ACTION_FAMILIES",
    "OBSERVATION_FAMILIES",
    "UnsupportedSpace",
    "action_hits",
    "action_miss",
    "action_reward",
    "agent_target",
    "check_action_space",
    "check_observation_space",
    "describe_action",
    "observation",
    "target_action",
]
