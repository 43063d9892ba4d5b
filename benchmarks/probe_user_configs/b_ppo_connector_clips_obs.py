"""BROKEN: an env-to-module connector clips every observation to [-1, 1] (a habit
from normalised envs), but this env's observations are raw units in [2, 10]: every
observation reaches the module as all ones."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gymnasium as gym
import numpy as np
from common import pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.env_to_module.observation_preprocessor import (
    SingleAgentObservationPreprocessor,
)
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ray.tune.registry import register_env

pickle_by_value("envs", "common", __name__)


class ClipObservations(SingleAgentObservationPreprocessor):
    def recompute_output_observation_space(self, input_observation_space, input_action_space):
        return gym.spaces.Box(-1.0, 1.0, input_observation_space.shape, np.float32)

    def preprocess(self, observation, episode):
        # PLANTED BUG: clip range assumes normalised observations.
        return np.clip(observation, -1.0, 1.0).astype(np.float32)


def make_config():
    register_env("pa_cue_raw", lambda cfg: CueEnv(cfg))
    return (
        PPOConfig()
        .environment("pa_cue_raw", env_config={"n_actions": 4, "obs_low": 2.0, "obs_high": 10.0})
        .framework("torch")
        .env_runners(
            num_env_runners=0,
            env_to_module_connector=lambda env, spaces, device: ClipObservations(),
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(lr=3e-4, gamma=0.99, train_batch_size_per_learner=512, minibatch_size=128)
    )
