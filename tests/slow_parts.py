"""Planted slowness for the timing rules: an env whose every step sleeps, and an APPO
Learner whose every loss computation sleeps (a learner slower than sampling)."""

import time

import gymnasium as gym
from ray.rllib.algorithms.appo.torch.appo_torch_learner import APPOTorchLearner
from ray.rllib.algorithms.impala.torch.impala_torch_learner import IMPALATorchLearner


class SlowCartPole(gym.Wrapper):
    """CartPole that sleeps ``delay_s`` (default 5 ms) in every step, on every runner."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.delay = float((config or {}).get("delay_s", 0.005))

    def step(self, action):
        time.sleep(self.delay)
        return super().step(action)


class SlowAPPOLearner(APPOTorchLearner):
    """APPO's Learner, 200 ms slower per module loss."""

    def compute_loss_for_module(self, **kwargs):
        time.sleep(0.2)
        return super().compute_loss_for_module(**kwargs)


class SlowIMPALALearner(IMPALATorchLearner):
    """IMPALA's Learner, 1 s slower per module loss: slower than one EnvRunner samples a
    100-step batch even on a loaded machine (at 200 ms, a loaded test run kept up)."""

    def compute_loss_for_module(self, **kwargs):
        time.sleep(1.0)
        return super().compute_loss_for_module(**kwargs)
