"""BROKEN: PPO with entropy_coeff=5.0 (meant 0.005, lost the 'e-3') on 4 actions.
PPO standardises advantages, so the policy-gradient pull is O(1) while the entropy
pull is 5x: the policy stays close to uniform."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)


def make_config():
    return (
        PPOConfig()
        .environment(CueEnv, env_config={"n_actions": 4})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(lr=3e-4, entropy_coeff=5.0,  # PLANTED BUG
                  train_batch_size_per_learner=512, minibatch_size=128)
    )
