"""Shared pieces for the audit cases: a plain actor-critic TorchRLModule (healthy)."""
import sys

import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn


def pickle_by_value(*module_names):
    """Let Ray ship these modules' classes by value (no import needed on workers)."""
    import ray.cloudpickle as cp

    for name in module_names:
        mod = sys.modules.get(name)
        if mod is not None and name != "__main__":
            cp.register_pickle_by_value(mod)


class MLPActorCritic(TorchRLModule, ValueFunctionAPI):
    """My own encoder (2 x tanh MLP) shared by a policy head and a value head."""

    def setup(self):
        in_dim = int(np.prod(self.observation_space.shape))
        h = int(self.model_config.get("hidden", 64))
        self.encoder = nn.Sequential(
            nn.Linear(in_dim, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh()
        )
        self.pi = nn.Linear(h, int(self.action_space.n))
        self.vf = nn.Linear(h, 1)

    def _encode(self, batch):
        obs = batch[Columns.OBS].float()
        return self.encoder(obs.reshape(obs.shape[0], -1))

    def _forward(self, batch, **kwargs):
        return {Columns.ACTION_DIST_INPUTS: self.pi(self._encode(batch))}

    def _forward_train(self, batch, **kwargs):
        emb = self._encode(batch)
        return {Columns.ACTION_DIST_INPUTS: self.pi(emb), Columns.EMBEDDINGS: emb}

    def compute_values(self, batch, embeddings=None):
        if embeddings is None:
            embeddings = self._encode(batch)
        return self.vf(embeddings).squeeze(-1)


class SeparateActorCritic(TorchRLModule, ValueFunctionAPI):
    """Separate actor and critic encoders; `_actor_input`/`_critic_input` feed them."""

    def setup(self):
        in_dim = int(np.prod(self.observation_space.shape))
        h = int(self.model_config.get("hidden", 64))
        self.actor = nn.Sequential(
            nn.Linear(in_dim, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(),
            nn.Linear(h, int(self.action_space.n)),
        )
        self.critic = nn.Sequential(
            nn.Linear(in_dim, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, 1)
        )

    def _obs(self, batch):
        obs = batch[Columns.OBS].float()
        return obs.reshape(obs.shape[0], -1)

    def _actor_input(self, obs):
        return obs

    def _critic_input(self, obs):
        return obs

    def _forward(self, batch, **kwargs):
        return {Columns.ACTION_DIST_INPUTS: self.actor(self._actor_input(self._obs(batch)))}

    def compute_values(self, batch, embeddings=None):
        return self.critic(self._critic_input(self._obs(batch))).squeeze(-1)
