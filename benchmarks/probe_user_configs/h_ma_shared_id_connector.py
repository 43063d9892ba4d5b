"""HEALTHY: one PPO module shared by both agents; an env-to-module connector appends
a one-hot agent id to every agent's observation (so the id survives any env)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gymnasium as gym
import numpy as np
from common import pickle_by_value
from envs import TwoAgentCueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.env_to_module.observation_preprocessor import (
    MultiAgentObservationPreprocessor,
)
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)

AGENT_IDS = ["agent_0", "agent_1"]


class AppendAgentId(MultiAgentObservationPreprocessor):
    def recompute_output_observation_space(self, input_observation_space, input_action_space):
        n = len(AGENT_IDS)
        spaces = {}
        for aid, sp in input_observation_space.spaces.items():
            low = np.concatenate([sp.low.reshape(-1), np.zeros(n)]).astype(np.float32)
            high = np.concatenate([sp.high.reshape(-1), np.ones(n)]).astype(np.float32)
            spaces[aid] = gym.spaces.Box(low, high, dtype=np.float32)
        return gym.spaces.Dict(spaces)

    def preprocess(self, observations, episode):
        out = {}
        for aid, obs in observations.items():
            one_hot = np.zeros(len(AGENT_IDS), np.float32)
            one_hot[AGENT_IDS.index(aid)] = 1.0
            out[aid] = np.concatenate(
                [np.asarray(obs, np.float32).reshape(-1), one_hot]
            ).astype(np.float32)
        return out


def make_config():
    return (
        PPOConfig()
        .environment(TwoAgentCueEnv, env_config={"with_id": False})
        .framework("torch")
        .env_runners(
            num_env_runners=0,
            env_to_module_connector=lambda env, spaces, device: AppendAgentId(),
        )
        .multi_agent(
            policies={"shared"},
            policy_mapping_fn=lambda agent_id, episode, **kw: "shared",
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
