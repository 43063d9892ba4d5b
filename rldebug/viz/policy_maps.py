"""Arena policy map: greedy arrows on every cell for one agent, the other agent fixed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rldebug.usage import UsageError
from rldebug.viz._arena import arena_of, check_position, observation
from rldebug.viz.figures import check_drawing, new_figure

BACKGROUNDS = ("entropy", "value", "max_prob")
# (d_col, d_row) of each arena action; with angles="xy" on an imshow (rows grow
# downwards) a negative d_row points up on screen.
_ARROWS = {0: (0, -1), 1: (1, 0), 2: (0, 1), 3: (-1, 0)}


@dataclass
class PolicyMap:
    """Per-cell policy outputs for ``agent_id`` with the other agent at ``other_position``.

    Arrays are (height, width); the other agent's cell is NaN / -1.
    """

    agent_id: str
    module_id: str
    other_position: tuple[int, int]
    greedy_action: np.ndarray  # int, -1 on the other agent's cell
    probs: np.ndarray  # (height, width, n_actions)
    entropy: np.ndarray
    value: np.ndarray | None
    action_names: tuple | None

    def figure(self, background: str = "entropy"):
        """The map as a matplotlib Figure (see :func:`plot_policy_map`)."""
        return plot_policy_map(self, background=background)

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png")
        return buffer.getvalue()


def policy_map(algo, agent_id: str = "agent1",
               other_position: tuple[int, int] | None = None) -> PolicyMap:
    """Ask the policy of ``agent_id`` about every cell of the arena in one batch.

    :param algo: a built Algorithm on the arena (either API stack).
    :param agent_id: the agent to move over the grid (``"agent1"`` or ``"agent2"``).
    :param other_position: (row, col) of the other agent; default: its start cell
        (bottom-right for agent2, top-left for agent1).
    :returns: a :class:`PolicyMap`; ``.figure()`` draws it.
    """
    from rldebug.inspection import explain

    env = arena_of(algo)
    agents = list(env.possible_agents)
    if agent_id not in agents:
        raise UsageError(f"Unknown agent id {agent_id!r}; the arena's agents are {agents}.")
    if other_position is None:
        other_position = (env.height - 1, env.width - 1) if agent_id == agents[0] else (0, 0)
    other = check_position(env, other_position, "other_position")
    cells = [(r, c) for r in range(env.height) for c in range(env.width) if (r, c) != other]
    result = explain(algo, np.stack([observation(env, cell, other) for cell in cells]),
                     agent_id=agent_id)
    if result.probs is None:
        raise UsageError("policy_map needs a categorical action distribution.")
    shape = (env.height, env.width)
    greedy = np.full(shape, -1, dtype=int)
    probs = np.full(shape + (result.probs.shape[-1],), np.nan)
    entropy = np.full(shape, np.nan)
    value = np.full(shape, np.nan) if result.value is not None else None
    for i, (r, c) in enumerate(cells):
        greedy[r, c] = int(result.greedy_action[i])
        probs[r, c] = result.probs[i]
        entropy[r, c] = result.entropy[i]
        if value is not None:
            value[r, c] = result.value[i]
    return PolicyMap(agent_id=agent_id, module_id=result.module_id, other_position=other,
                     greedy_action=greedy, probs=probs, entropy=entropy, value=value,
                     action_names=result.action_names)


def plot_policy_map(pmap: PolicyMap, background: str = "entropy", ax=None):
    """Draw greedy-action arrows over an ``entropy``, ``value`` or ``max_prob`` heatmap.

    :param pmap: from :func:`policy_map`.
    :param background: what the colours show; ``value`` needs a value function.
    :param ax: a matplotlib Axes to draw into (default: a new figure).
    :returns: the matplotlib Figure.
    """
    check_drawing(pmap, PolicyMap, "plot_policy_map", "rldebug.policy_map(algo)", ax)
    if background not in BACKGROUNDS:
        raise UsageError(f"background must be one of {BACKGROUNDS}, got {background!r}.")
    if background == "value" and pmap.value is None:
        raise UsageError(f"Module {pmap.module_id!r} has no value function; use "
                         f"background='entropy' or 'max_prob'.")
    grid = {"entropy": pmap.entropy, "value": pmap.value,
            "max_prob": np.max(pmap.probs, axis=-1)}[background]
    height, width = grid.shape
    if ax is None:
        fig = new_figure((0.45 * width + 1.6, 0.45 * height + 0.6))
        ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="viridis", origin="upper")
    ax.figure.colorbar(image, ax=ax, label=background)
    rows, cols = np.nonzero(pmap.greedy_action >= 0)
    actions = pmap.greedy_action[rows, cols]
    dx = np.array([_ARROWS.get(a, (0, 0))[0] for a in actions], dtype=float)
    dy = np.array([_ARROWS.get(a, (0, 0))[1] for a in actions], dtype=float)
    # Arrow length grows with the greedy action's probability.
    confidence = np.max(pmap.probs[rows, cols], axis=-1)
    scale = 0.35 + 0.5 * confidence
    ax.quiver(cols, rows, dx * scale, dy * scale, color="white", angles="xy",
              scale_units="xy", scale=1.0, width=0.006, pivot="middle")
    other_r, other_c = pmap.other_position
    ax.scatter([other_c], [other_r], s=160, c="red", marker="o", edgecolors="black",
               label="other agent")
    ax.set_xticks(range(width))
    ax.set_yticks(range(height))
    ax.set_title(f"{pmap.agent_id} → {pmap.module_id}: greedy actions over {background}",
                 fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.04), fontsize=7, frameon=False)
    return ax.figure
