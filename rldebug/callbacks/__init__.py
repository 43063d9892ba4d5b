"""Callbacks that log per-agent metrics to the results (and TensorBoard), on both API stacks.

- :class:`AgentReturns` — per-agent episode returns and per-step reward histograms, any env.
- :class:`InfoEvents` — per agent and episode, how often each event flag in ``infos`` was set.
- :class:`RewardTerms` — per agent and episode, each named reward part the env reports in
  ``info["reward_terms"]`` (:mod:`rldebug.shapes.reward_terms`).
- :func:`add_callbacks` — append callbacks to a config, keeping the user's own.

The tutorial arena's ``ArenaEvents`` lives with the arena (:mod:`rldebug.arena.events`);
``rldebug.callbacks.ArenaEvents`` still finds it, with a ``DeprecationWarning``.
"""

import warnings

from rldebug.callbacks.agent_returns import AgentReturns
from rldebug.callbacks.compose import add_callbacks
from rldebug.callbacks.info_events import InfoEvents, MissingEventsWarning
from rldebug.callbacks.reward_terms import RewardTerms, RewardTermsWarning

__all__ = ["AgentReturns", "InfoEvents", "MissingEventsWarning", "RewardTerms",
           "RewardTermsWarning", "add_callbacks"]


def __getattr__(name: str):
    if name == "ArenaEvents":  # moved with the rest of the tutorial's example
        warnings.warn("rldebug.callbacks.ArenaEvents moved to rldebug.arena.ArenaEvents; import "
                      "it from there (the old name goes in the next release).",
                      DeprecationWarning, stacklevel=2)
        from rldebug.arena.events import ArenaEvents
        globals()["ArenaEvents"] = ArenaEvents  # warned once
        return ArenaEvents
    raise AttributeError(f"module 'rldebug.callbacks' has no attribute {name!r}")
