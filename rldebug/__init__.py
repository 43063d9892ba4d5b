"""rldebug: step through, look inside and diagnose Ray RLlib 2.60 training.

Public API (everything else is an implementation detail):

- :func:`local_mode` — a copy of any AlgorithmConfig that runs in this process.
- :func:`run` — train in-process with Tune-style stop criteria and Tune's files.
- :func:`arena_ppo_config` — the tutorial's two-policy PPO setup on the arena.
- :class:`MultiAgentArena` — the tutorial's environment (``rldebug.envs``).
"""

from rldebug.configs import arena_ppo_config, policy_mapping_fn
from rldebug.envs import MultiAgentArena
from rldebug.local import LocalModeWarning, is_local, local_mode, local_mode_changes, start_ray
from rldebug.run import RunResult, run

__version__ = "0.1.0"

__all__ = [
    "LocalModeWarning",
    "MultiAgentArena",
    "RunResult",
    "arena_ppo_config",
    "is_local",
    "local_mode",
    "local_mode_changes",
    "policy_mapping_fn",
    "run",
    "start_ray",
]
