"""Planted bugs for the probe tests: each breaks one part of an otherwise working config.

Written the way a user's real mistake looks: a connector that loses the observation,
a value output that is never trained, a mapping that changes between episodes, a
gamma of 0. Every config here is a small single- or multi-agent setup on RLlib's own
envs, or the arena's own config.
"""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
    DefaultPPOTorchRLModule,
)
from ray.rllib.connectors.env_to_module.observation_preprocessor import (
    SingleAgentObservationPreprocessor,
)


class ZeroObservations(SingleAgentObservationPreprocessor):
    """An env-to-module connector that replaces every observation by zeros (the bug of
    a normaliser dividing by an infinite scale, or a mask applied to the wrong key)."""

    def preprocess(self, observation, episode):
        return np.zeros_like(observation)


def zero_observations_connector(env=None, spaces=None, device=None):
    return ZeroObservations()


class DetachedValuePPOModule(DefaultPPOTorchRLModule):
    """PPO's default module with its value output cut from the graph: the value loss
    trains nothing (the bug of a ``.detach()`` or ``torch.no_grad()`` in a custom
    ``compute_values``)."""

    def compute_values(self, batch, embeddings=None):
        return super().compute_values(batch, embeddings).detach()


class FourActions(gym.Env):
    """Box(2) observations, four actions, one step per episode (the probes read its
    spaces and play their own envs in them)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(4)

    def __init__(self, config=None):
        super().__init__()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), float(action == 0), True, False, {}


def swapping_mapping_fn(agent_id, episode, **kwargs):
    """agent1 -> pol1 and agent2 -> pol2 in some episodes, the other way round in the
    rest (decided by the episode's id, as RLlib's self-play examples decide it, with no
    answer for episode=None): each policy trains on both agents' experience."""
    own = {"agent1": "pol1", "agent2": "pol2"}[agent_id]
    if int(str(episode.id_)[-4:], 16) % 2 == 0:
        return own
    return {"pol1": "pol2", "pol2": "pol1"}[own]


def _small_model():
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return DefaultModelConfig(fcnet_hiddens=[32, 32])


def ppo(env="CartPole-v1", **training):
    """A small, quick PPO config: a narrow net, 4 epochs at lr 1e-3 (as the arena's),
    8 envs stepped together (one forward pass for 8 env steps)."""
    from ray.rllib.algorithms.ppo import PPOConfig

    settings = {"lr": 1e-3, "num_epochs": 4, **training}
    return (PPOConfig().environment(env).training(**settings)
            .env_runners(num_envs_per_env_runner=8)
            .rl_module(model_config=_small_model()))


def ppo_zeroed_observations():
    return ppo().env_runners(env_to_module_connector=zero_observations_connector)


def ppo_detached_value():
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    return ppo().rl_module(rl_module_spec=RLModuleSpec(module_class=DetachedValuePPOModule))


def ppo_module_left_out(policies_to_train=("p0",)):
    """PPO on RLlib's MultiAgentCartPole, agent i -> module p{i}, with module p1 left out
    of ``policies_to_train`` (a list, or a callable (module_id, batch) -> bool)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    trained = policies_to_train if callable(policies_to_train) else list(policies_to_train)
    return (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
            .multi_agent(policies={"p0", "p1"},
                         policy_mapping_fn=lambda aid, *args, **kwargs: f"p{aid}",
                         policies_to_train=trained)
            .training(lr=1e-3, num_epochs=4)
            .rl_module(model_config=_small_model()))


def only_p0(module_id, batch=None):
    """A callable policies_to_train that leaves p1 out."""
    return module_id == "p0"


def p0_once_sampled(module_id, batch):
    """A callable policies_to_train that reads the batch (so it cannot be asked before
    training) and never lets p1 through."""
    return batch.env_steps() > 0 and module_id == "p0"


class TenWideActions(FourActions):
    """FourActions with one Box action in [0, 10] instead."""

    action_space = gym.spaces.Box(0.0, 10.0, (1,), np.float32)


def clip_to_unit_range_connector(env=None, spaces=None, device=None):
    """A module-to-env connector that sends the env clip(action, -1, 1): a "safety clip"
    kept from an env whose actions were in [-1, 1], with RLlib's own action
    normalisation turned off."""
    from ray.rllib.connectors.connector_v2 import ConnectorV2
    from ray.rllib.core.columns import Columns

    class ClipToUnitRange(ConnectorV2):
        def __call__(self, *, rl_module, batch, episodes, **kwargs):
            batch[Columns.ACTIONS_FOR_ENV] = copy.deepcopy(batch[Columns.ACTIONS])
            self.foreach_batch_item_change_in_place(
                batch=batch, column=Columns.ACTIONS_FOR_ENV,
                func=lambda action, env_id, agent_id, module_id: np.clip(action, -1.0, 1.0))
            return batch

    return ClipToUnitRange()


def ppo_actions_clipped_to_unit_range():
    return (ppo(TenWideActions)
            .environment(normalize_actions=False, clip_actions=False)
            .env_runners(module_to_env_connector=clip_to_unit_range_connector))
