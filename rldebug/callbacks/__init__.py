"""Callbacks that log per-agent metrics to the results (and TensorBoard), on both API stacks.

- :class:`AgentReturns` — per-agent episode returns and per-step reward histograms, any env.
- :class:`InfoEvents` — per agent and episode, how often each event flag in ``infos`` was set.
- :class:`ArenaEvents` — the tutorial's arena: agent1's new fields and the collisions.
- :class:`RewardTerms` — per agent and episode, each named reward part the env reports in
  ``info["reward_terms"]`` (:mod:`rldebug.shapes.reward_terms`).
- :func:`add_callbacks` — append callbacks to a config, keeping the user's own.
"""

from rldebug.callbacks.agent_returns import AgentReturns
from rldebug.callbacks.arena_events import ArenaEvents, MissingEventsWarning
from rldebug.callbacks.compose import add_callbacks
from rldebug.callbacks.info_events import InfoEvents
from rldebug.callbacks.reward_terms import RewardTerms, RewardTermsWarning

__all__ = ["AgentReturns", "ArenaEvents", "InfoEvents", "MissingEventsWarning", "RewardTerms",
           "RewardTermsWarning", "add_callbacks"]
