"""BROKEN: a custom PPO Learner re-writes the loss to add an L2 weight penalty and
forgets the value-function term: the total loss is -surrogate - entropy + L2 only,
so the value head (and critic encoder) gets no gradient except weight decay."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch
from common import pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ray.rllib.evaluation.postprocessing import Postprocessing

pickle_by_value("envs", "common", __name__)


class PPOWithL2Learner(PPOTorchLearner):
    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        module = self.module[module_id].unwrapped()
        dist_cls = module.get_train_action_dist_cls()
        dist = dist_cls.from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        ratio = torch.exp(dist.logp(batch[Columns.ACTIONS]) - batch[Columns.ACTION_LOGP])
        adv = batch[Postprocessing.ADVANTAGES]
        surrogate = torch.min(
            adv * ratio,
            adv * torch.clamp(ratio, 1 - config.clip_param, 1 + config.clip_param),
        )
        if Columns.LOSS_MASK in batch:
            mask = batch[Columns.LOSS_MASK]
            mean = lambda x: torch.sum(x[mask]) / torch.sum(mask)
        else:
            mean = torch.mean
        entropy = dist.entropy()
        l2 = sum((p ** 2).sum() for p in module.parameters())
        # PLANTED BUG: no "+ config.vf_loss_coeff * vf_loss" term.
        return mean(-surrogate - config.entropy_coeff * entropy) + 1e-6 * l2


def make_config():
    return (
        PPOConfig()
        .environment(CueEnv, env_config={"n_actions": 4})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(learner_class=PPOWithL2Learner, lr=3e-4, entropy_coeff=0.0,
                  use_kl_loss=False, train_batch_size_per_learner=512, minibatch_size=128)
    )
