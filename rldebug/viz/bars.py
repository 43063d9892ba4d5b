"""Action-probability bars for one observation."""

from __future__ import annotations

import numpy as np

from rldebug.usage import UsageError
from rldebug.viz.figures import check_drawing, new_figure


def plot_action_probs(explanation, ax=None, title: str | None = None):
    """Bar chart of ``explanation.probs``; the greedy action is highlighted (for a
    MultiDiscrete action, each part's values, labelled ``part=value``).

    :param explanation: an :class:`~rldebug.inspection.Explanation` of one observation
        (index a batched one first: ``explanation[i]``).
    :param ax: a matplotlib Axes to draw into (default: a new figure).
    :param title: the axes title (default: agent, module and observation).
    :returns: the matplotlib Figure.
    :raises ValueError: for a batched explanation or one without probabilities.
    """
    from rldebug.inspection.explanation import Explanation

    check_drawing(explanation, Explanation, "plot_action_probs",
                  "rldebug.explain(algo, obs)", ax)
    if explanation.batched:
        raise UsageError(f"plot_action_probs draws one observation; this explanation holds "
                         f"{len(explanation)}. Pass explanation[i].")
    if explanation.probs is None:
        raise UsageError("This explanation has no action probabilities (the action "
                         "distribution is not categorical); plot its logits instead.")
    probs = np.asarray(explanation.probs, dtype=float)
    parts = getattr(explanation, "action_parts", None)
    if parts:  # MultiDiscrete: each part's values side by side, its greedy value marked
        names = [f"{part}={value}" for part, size in enumerate(parts) for value in range(size)]
        starts = np.cumsum([0, *parts[:-1]])
        greedy_at = {int(start + value) for start, value in
                     zip(starts, np.ravel(explanation.greedy_action))}
    else:
        names = explanation.action_names or tuple(str(i) for i in range(len(probs)))
        greedy_at = {int(explanation.greedy_action)}
    if ax is None:
        fig = new_figure((max(4, 0.5 * len(probs)), 2.8))
        ax = fig.add_subplot()
    colours = ["tab:orange" if i in greedy_at else "tab:blue" for i in range(len(probs))]
    ax.bar(range(len(probs)), probs, color=colours)
    ax.set_xticks(range(len(probs)), names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability")
    for i, p in enumerate(probs):
        ax.text(i, p + 0.02, f"{p:.2f}", ha="center", fontsize=8)
    ax.set_title(title or f"{explanation.agent_id} → {explanation.module_id}: obs "
                 f"{explanation.observation_text}", fontsize=9)
    return ax.figure
