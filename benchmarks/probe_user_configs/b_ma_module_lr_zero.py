"""BROKEN: multi-agent PPO, two modules; a leftover per-module override lr=0.0 for
"p1" (from an experiment that froze it) means p1's optimizer never moves its weights."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import TwoAgentCueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)


def policy_mapping_fn(agent_id, episode, **kwargs):
    return "p0" if agent_id == "agent_0" else "p1"


def make_config():
    return (
        PPOConfig()
        .environment(TwoAgentCueEnv, env_config={"with_id": False})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .multi_agent(policies={"p0", "p1"}, policy_mapping_fn=policy_mapping_fn)
        .rl_module(
            model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]),
            algorithm_config_overrides_per_module={
                "p1": PPOConfig.overrides(lr=0.0),  # PLANTED BUG
            },
        )
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
