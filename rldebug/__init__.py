"""rldebug: step through, look inside and diagnose Ray RLlib 2.60 training.

Public API (everything else is an implementation detail):

- In-process training: :func:`local_mode`, :func:`run`, :func:`start_ray`;
  :func:`debug_mode` (what ``rldebug debug script.py`` turns on: every Algorithm and
  Tune trial of an unchanged script in this process; ``RLDEBUG_DEBUG_MODE=1`` at
  import) and :func:`preflight` (RLlib 2.60's known traps in a config).
- The tutorial's setup: :class:`MultiAgentArena`, :func:`arena_ppo_config`.
- Looking inside: :func:`inspect`, :func:`explain`, :func:`load` and the pictures
  :func:`plot_action_probs`, :func:`policy_map`, :func:`plot_policy_map`,
  :func:`explorer`, :func:`replay`.
- Tracing: :func:`trace`, :func:`load_trace`.
- The IDE: :func:`break_on` / :func:`attach_remote` — stop on RL events; debug a remote
  EnvRunner; :func:`write_ide_configs` (``rldebug.ide``).
- The doctor: :func:`diagnose`, :class:`DoctorCallback` (:mod:`rldebug.doctor`).
- Probing a config: :func:`probe` trains your own config on tiny envs with known
  answers and says which part of learning is broken (:mod:`rldebug.probes`).
- Reproducing: :func:`reproduce` re-runs an event of a ``trace(..., reproducible=True)``
  in this process, stopping at its exact env step or minibatch;
  :func:`reproducible_events` lists them.
- Deployment: :func:`parity` checks a deployed policy against the checkpoint's training
  pipeline (connectors, module, greedy action) and names the piece it leaves out;
  :func:`inference_policy` is that pipeline as a standalone policy, :func:`export` writes
  it to a folder (and an ONNX graph where the pipeline allows).
- Comparing runs: :func:`diff` (configs, metrics by iteration and env steps, where they
  part beyond their noise across seeds, traces, doctor findings).
- Checking an env: :func:`check_env` and the passive checker local mode wraps around
  every env (:mod:`rldebug.envcheck`).
- Callbacks: :mod:`rldebug.callbacks` (``AgentReturns``, ``InfoEvents``, ``RewardTerms``,
  ``add_callbacks``); the arena's ``ArenaEvents`` is in :mod:`rldebug.arena`.

Where things live: the tools' packages (:mod:`rldebug.tracing`, :mod:`rldebug.inspection`,
:mod:`rldebug.doctor`, :mod:`rldebug.probes`, :mod:`rldebug.reproduction`,
:mod:`rldebug.rundiff`, :mod:`rldebug.ide`, :mod:`rldebug.envcheck`, :mod:`rldebug.viz`,
:mod:`rldebug.callbacks`), training in this process (:mod:`rldebug.inprocess`), 2021-era
code (:mod:`rldebug.compat`), the tutorial's example (:mod:`rldebug.arena`), and the RLlib
shapes and file layouts every tool reads (:mod:`rldebug.shapes`). Import paths from
before the layout change still work, with a ``DeprecationWarning`` (:mod:`rldebug._moved`).

Every public name is imported on first use (PEP 562): ``import rldebug`` loads no RLlib
(seconds of imports), so the CLI's help and ``rldebug doctor`` on a run's files answer at
once.
"""

import os
from importlib import import_module

from rldebug import _moved, breakpoint_hook

__version__ = "0.1.0"

# public name -> module that defines it, imported on first use
_LAZY = {
    "AlgoSummary": "rldebug.inspection",
    "CheckpointError": "rldebug.inspection",
    "Explanation": "rldebug.inspection",
    "explain": "rldebug.inspection",
    "inspect": "rldebug.inspection",
    "load": "rldebug.inspection",
    "LocalModeWarning": "rldebug.inprocess.local",
    "is_local": "rldebug.inprocess.local",
    "local_mode": "rldebug.inprocess.local",
    "local_mode_changes": "rldebug.inprocess.local",
    "start_ray": "rldebug.inprocess.local",
    "RunResult": "rldebug.inprocess.training",
    "run": "rldebug.inprocess.training",
    "Trace": "rldebug.tracing",
    "load_trace": "rldebug.tracing",
    "trace": "rldebug.tracing",
    "Reproduction": "rldebug.reproduction",
    "reproduce": "rldebug.reproduction",
    "reproducible_events": "rldebug.reproduction",
    "RunDiff": "rldebug.rundiff",
    "diff": "rldebug.rundiff",
    "MultiAgentArena": "rldebug.arena",
    "arena_ppo_config": "rldebug.arena.config",
    "policy_mapping_fn": "rldebug.arena.config",
    "DoctorCallback": "rldebug.doctor",
    "attach_remote": "rldebug.ide",
    "break_on": "rldebug.ide",
    "break_records": "rldebug.ide",
    "write_ide_configs": "rldebug.ide",
    "check_env": "rldebug.envcheck",
    "debug_mode": "rldebug.inprocess.debugging",
    "preflight": "rldebug.traps",
    "parity": "rldebug.deployment",
    "inference_policy": "rldebug.deployment",
    "export": "rldebug.deployment",
    "probe": "rldebug.probes",
    "diagnose": "rldebug.doctor",
    "explorer": "rldebug.viz",
    "plot_action_probs": "rldebug.viz",
    "plot_policy_map": "rldebug.viz",
    "policy_map": "rldebug.viz",
    "replay": "rldebug.viz",
}
_SUBPACKAGES = ("arena", "callbacks", "compat", "doctor", "envcheck", "ide", "inprocess",
                "inspection", "probes", "reproduction", "rundiff", "shapes", "tracing", "viz")

__all__ = [
    "AlgoSummary", "CheckpointError", "DoctorCallback", "Explanation", "LocalModeWarning",
    "MultiAgentArena", "Reproduction", "RunDiff", "RunResult", "Trace", "arena_ppo_config", "attach_remote", "break_on",
    "break_records", "check_env", "debug_mode", "diagnose", "diff", "doctor", "explain", "explorer",
    "export", "inference_policy", "inspect", "is_local", "load", "load_trace", "local_mode", "local_mode_changes",
    "parity", "plot_action_probs", "plot_policy_map", "policy_map", "policy_mapping_fn",
    "preflight",
    "probe", "replay", "reproduce", "reproducible_events", "run", "start_ray",
    "trace", "write_ide_configs",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES or f"rldebug.{name}" in _moved.MOVED:
        # an old module's name (_moved.MOVED) gives a stand-in that warns
        value = import_module(f"rldebug.{name}")
    else:
        raise AttributeError(f"module 'rldebug' has no attribute {name!r}; "
                             f"public names: {', '.join(__all__)}")
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


_moved.install()

# The user's PYTHONBREAKPOINT, before ray.init replaces it by Ray's debugger hook in this
# process (rldebug/breakpoint_hook.py; break_on and rldebug debug honour it). A Ray worker
# starts with Ray's hook set: it keeps the value its driver had found.
if os.environ.get("PYTHONBREAKPOINT", "") in breakpoint_hook.RAY_HOOKS:
    os.environ.setdefault(breakpoint_hook.USERS_HOOK, "")
else:  # this process's own, even where a parent that imported rldebug left another
    os.environ[breakpoint_hook.USERS_HOOK] = os.environ.get("PYTHONBREAKPOINT", "")

if os.environ.get("RLDEBUG_DEBUG_MODE") == "1":
    import_module("rldebug.inprocess.debugging").debug_mode()
