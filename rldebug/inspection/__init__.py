"""Look inside an RLlib Algorithm: modules, spaces, layers, logits, distributions, values.

- :func:`inspect` → :class:`AlgoSummary` (modules/policies, agent mapping, spaces, layers).
- :func:`explain` → :class:`Explanation` (module input, logits, probs, entropy, value, actions).
- :func:`load` restores an Algorithm (or its modules) from a checkpoint. Loading
  unpickles code: only load checkpoints from sources you trust.

Both API stacks are supported, and on the new stack both multi-agent and single-agent
algorithms; the stack-specific code is in ``_new_stack`` (multi-agent),
``_single_agent`` and ``_old_stack``.
"""

from rldebug.inspection.checkpoint import CheckpointError, load
from rldebug.inspection.explanation import Explanation, explain
from rldebug.inspection.summary import AlgoSummary, LayerInfo, ModuleSummary, inspect

__all__ = ["AlgoSummary", "CheckpointError", "Explanation", "LayerInfo", "ModuleSummary",
           "explain", "inspect", "load"]
