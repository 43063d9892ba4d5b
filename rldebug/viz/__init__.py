"""Pictures of what a policy does (matplotlib; ipywidgets for the explorer).

- :func:`plot_action_probs` — bars of one :class:`~rldebug.inspection.Explanation`.
- :func:`policy_map` / :func:`plot_policy_map` — greedy arrows on every arena cell
  for one agent (the other fixed) over an entropy or value heatmap.
- :func:`explorer` — sliders that move both arena agents; both policies' bars update.
- :func:`replay` — an episode of the trained agents as an animation (HTML or GIF).
"""

from rldebug.viz.bars import plot_action_probs
from rldebug.viz.explorers import Explorer, explorer
from rldebug.viz.figures import figure_to_array
from rldebug.viz.policy_maps import PolicyMap, plot_policy_map, policy_map
from rldebug.viz.replays import Replay, replay

__all__ = ["Explorer", "PolicyMap", "Replay", "explorer", "figure_to_array",
           "plot_action_probs", "plot_policy_map", "policy_map", "replay"]
