"""The tutorial's example, in one place: the two-agent MultiAgentArena, its two-policy
PPO config, its dense-stack RLModule and the callback that counts its events.

- :mod:`rldebug.arena.env` — :class:`MultiAgentArena` (agent1 explores, agent2 chases).
- :mod:`rldebug.arena.config` — :func:`arena_ppo_config`, :func:`policy_mapping_fn`.
- :mod:`rldebug.arena.model` — ``DenseStackModule`` (the tutorial's custom model as an RLModule).
- :mod:`rldebug.arena.events` — ``ArenaEvents`` (new fields and collisions per episode).

rldebug's tools are generic and never import this package; the tests, recipes and
``rldebug demo`` use it as the running example.
"""

from importlib import import_module

from rldebug.arena.config import arena_ppo_config, policy_mapping_fn
from rldebug.arena.env import ACTION_NAMES, AGENTS, MultiAgentArena

# torch (the model) and RLlib's callback class (the events) load on first use
_LAZY = {"DenseStackModule": "rldebug.arena.model", "dense_stack_spec": "rldebug.arena.model",
         "ArenaEvents": "rldebug.arena.events"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'rldebug.arena' has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(_LAZY[name]), name)  # cached
    return value


__all__ = ["ACTION_NAMES", "AGENTS", "ArenaEvents", "DenseStackModule", "MultiAgentArena",
           "arena_ppo_config", "dense_stack_spec", "policy_mapping_fn"]
