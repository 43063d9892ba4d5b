"""HEALTHY: PPO on a Dict observation (Box + Discrete) flattened by RLlib's FlattenObservations."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import DictCueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.env_to_module import FlattenObservations
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ray.tune.registry import register_env

pickle_by_value("envs", "common", __name__)


def make_config():
    register_env("pa_dict_cue", lambda cfg: DictCueEnv(cfg))
    return (
        PPOConfig()
        .environment("pa_dict_cue")
        .framework("torch")
        .env_runners(
            num_env_runners=0,
            env_to_module_connector=lambda env, spaces, device: FlattenObservations(),
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
