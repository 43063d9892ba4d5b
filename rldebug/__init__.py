"""rldebug: step through, look inside and diagnose Ray RLlib 2.60 training.

Public API (everything else is an implementation detail):

- In-process training: :func:`local_mode`, :func:`run`, :func:`start_ray`.
- The tutorial's setup: :class:`MultiAgentArena`, :func:`arena_ppo_config`.
- Looking inside: :func:`inspect`, :func:`explain`, :func:`load` and the pictures
  :func:`plot_action_probs`, :func:`policy_map`, :func:`plot_policy_map`,
  :func:`explorer`, :func:`replay`.
- Tracing: :func:`trace`, :func:`load_trace`.
- The doctor: :func:`diagnose`, :class:`DoctorCallback`, :func:`check_env` (:mod:`rldebug.doctor`).
- Callbacks: :mod:`rldebug.callbacks` (``AgentReturns``, ``ArenaEvents``, ``add_callbacks``).
"""

from rldebug import doctor
from rldebug.configs import arena_ppo_config, policy_mapping_fn
from rldebug.doctor import DoctorCallback, check_env, diagnose
from rldebug.envs import MultiAgentArena
from rldebug.inspect import AlgoSummary, CheckpointError, Explanation, explain, inspect, load
from rldebug.local import LocalModeWarning, is_local, local_mode, local_mode_changes, start_ray
from rldebug.run import RunResult, run
from rldebug.trace import Trace, load_trace, trace
from rldebug.viz import explorer, plot_action_probs, plot_policy_map, policy_map, replay

__version__ = "0.1.0"

__all__ = [
    "AlgoSummary",
    "DoctorCallback",
    "CheckpointError",
    "Explanation",
    "LocalModeWarning",
    "MultiAgentArena",
    "RunResult",
    "Trace",
    "arena_ppo_config",
    "check_env",
    "diagnose",
    "doctor",
    "explain",
    "explorer",
    "inspect",
    "is_local",
    "load",
    "load_trace",
    "local_mode",
    "local_mode_changes",
    "plot_action_probs",
    "plot_policy_map",
    "policy_map",
    "replay",
    "run",
    "start_ray",
    "trace",
]
