"""BROKEN: PPO on a Box(0, 10) action. The user turned off RLlib's action
normalisation and added a module-to-env connector that sends the env
clip(action, -1, 1) ("safety clip", kept from an earlier env whose actions were in
[-1, 1]). The env can only ever receive actions in [0, 1] = the lowest 10% of its range."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import copy

import numpy as np
from common import pickle_by_value
from envs import BoxTargetEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)


class SafetyClipActions(ConnectorV2):
    def __call__(self, *, rl_module, batch, episodes, explore=None, shared_data=None, **kwargs):
        batch[Columns.ACTIONS_FOR_ENV] = copy.deepcopy(batch[Columns.ACTIONS])
        self.foreach_batch_item_change_in_place(
            batch=batch,
            column=Columns.ACTIONS_FOR_ENV,
            # PLANTED BUG: fixed [-1, 1] range, the env's is [0, 10].
            func=lambda a, env_id, agent_id, module_id: np.clip(a, -1.0, 1.0),
        )
        return batch


def make_config():
    return (
        PPOConfig()
        .environment(BoxTargetEnv, env_config={"a_low": 0.0, "a_high": 10.0})
        .framework("torch")
        .env_runners(
            num_env_runners=0,
            module_to_env_connector=lambda env, spaces: SafetyClipActions(),
        )
        .environment(normalize_actions=False, clip_actions=False)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
