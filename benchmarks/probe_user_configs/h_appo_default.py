"""HEALTHY: APPO with its default module and hyperparameters (v-trace family)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.appo import APPOConfig

pickle_by_value("envs", "common", __name__)


def make_config():
    return (
        APPOConfig()
        .environment(CueEnv, env_config={"n_actions": 3})
        .framework("torch")
        .env_runners(num_env_runners=1)
    )
