"""Environments that ship with rldebug."""

from rldebug.envs.arena import ACTION_NAMES, AGENTS, MultiAgentArena

__all__ = ["ACTION_NAMES", "AGENTS", "MultiAgentArena"]
