"""Callbacks that log what the tutorial's custom metrics measured, on both API stacks.

- :class:`AgentReturns` — per-agent episode returns and per-step reward histograms.
- :class:`ArenaEvents` — agent1's new fields and the collisions per episode.
- :func:`add_callbacks` — append callbacks to a config, keeping the user's own.
"""

from rldebug.callbacks.agent_returns import AgentReturns
from rldebug.callbacks.arena_events import ArenaEvents, MissingEventsWarning
from rldebug.callbacks.compose import add_callbacks

__all__ = ["AgentReturns", "ArenaEvents", "MissingEventsWarning", "add_callbacks"]
