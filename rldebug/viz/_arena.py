"""Arena geometry for the pictures: grid size and observations from positions."""

from __future__ import annotations

import numpy as np

from rldebug.shapes.env_meta import env_of
from rldebug.usage import UsageError, UsageTypeError


def arena_of(algo):
    """The algorithm's env if it is grid-shaped like MultiAgentArena, else a clear error."""
    from rldebug.inspection._common import require_algorithm

    require_algorithm(algo, "policy_map / explorer")
    env = env_of(algo)
    if not all(hasattr(env, a) for a in ("width", "height", "position_to_index")):
        raise UsageTypeError(
            f"This picture needs the MultiAgentArena (or an env with width, height and "
            f"position_to_index(row, col)); the algorithm's env is {type(env).__name__}.")
    return env


def check_position(env, position, name: str) -> tuple[int, int]:
    """``position`` as (row, col) inside the grid, or a ValueError naming the grid."""
    import numbers

    if isinstance(position, (str, bytes)) or not hasattr(position, "__len__") or \
            len(position) != 2 or not all(isinstance(v, numbers.Integral) and
                                          not isinstance(v, bool) for v in position):
        raise UsageError(f"{name} must be a (row, col) pair of ints, got {position!r}.")
    row, col = (int(v) for v in position)
    if not (0 <= row < env.height and 0 <= col < env.width):
        raise UsageError(f"{name} {position!r} is outside the {env.height}x{env.width} grid "
                         f"(rows 0..{env.height - 1}, columns 0..{env.width - 1}).")
    return row, col


def observation(env, own: tuple[int, int], other: tuple[int, int]) -> np.ndarray:
    """The arena observation of an agent at ``own`` with the other agent at ``other``."""
    return np.array([env.position_to_index(*own), env.position_to_index(*other)],
                    dtype=np.int64)
