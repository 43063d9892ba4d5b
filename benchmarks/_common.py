"""Shared pieces of the benchmarks: RLlib's default PPO on the same two-policy arena."""

from __future__ import annotations

import statistics


def default_ppo_arena_config(env_config=None, seed=None):
    """The tutorial's two-policy arena with every PPO setting left at RLlib's default.

    Only what the arena needs is set: the env, the two policies and their mapping,
    and the FlattenObservations connector the new stack requires for MultiDiscrete.
    """
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.arena import MultiAgentArena
    from rldebug.arena.config import flatten_observations_connector, policy_mapping_fn

    return (
        PPOConfig()
        .environment(MultiAgentArena, env_config=env_config or {})
        .env_runners(env_to_module_connector=flatten_observations_connector)
        .multi_agent(policies={"pol1", "pol2"}, policy_mapping_fn=policy_mapping_fn)
        .debugging(seed=seed)
    )


def median(values):
    return statistics.median(values)
