"""A custom RLModule: the tutorial's configurable dense stack with separate logits and value heads.

The 2021 tutorial wrote this as a Keras ``ModelV2``; on RLlib 2.60's new stack a
model is an ``RLModule``. ``DenseStackModule`` shares one ReLU dense stack
between a logits head and a value head (``ValueFunctionAPI``, which PPO needs).
"""

from __future__ import annotations

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule

from rldebug.usage import UsageError

DEFAULT_LAYERS = (256, 256)


class DenseStackModule(TorchRLModule, ValueFunctionAPI):
    """ReLU dense layers of ``model_config["layers"]`` sizes, then logits and value heads.

    The observation it sees is the one after the env-to-module connectors (for
    the arena: the 200-long one-hot vector ``FlattenObservations`` makes).
    """

    def setup(self):
        layers = list(self.model_config.get("layers", DEFAULT_LAYERS))
        if not layers or not all(isinstance(n, int) and n > 0 for n in layers):
            raise UsageError(f"DenseStackModule model_config['layers'] must be a non-empty "
                             f"list of positive ints, got {layers!r}.")
        if len(self.observation_space.shape) != 1:
            raise UsageError(
                f"DenseStackModule needs a flat (1-D) observation, got "
                f"{self.observation_space}; add a FlattenObservations connector.")
        sizes = [self.observation_space.shape[0], *layers]
        stack = []
        for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            stack += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
        self.dense_layers = torch.nn.Sequential(*stack)
        self.logits = torch.nn.Linear(layers[-1], self.action_space.n)
        self.values = torch.nn.Linear(layers[-1], 1)

    def _forward(self, batch, **kwargs):
        features = self.dense_layers(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self.logits(features),
                Columns.EMBEDDINGS: features}

    def compute_values(self, batch, embeddings=None):
        if embeddings is None:
            embeddings = self.dense_layers(batch[Columns.OBS])
        return self.values(embeddings).squeeze(-1)


def dense_stack_spec(layers=DEFAULT_LAYERS, module_ids=("pol1", "pol2")):
    """A MultiRLModuleSpec with one :class:`DenseStackModule` per module id."""
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    return MultiRLModuleSpec(rl_module_specs={
        mid: RLModuleSpec(module_class=DenseStackModule, model_config={"layers": list(layers)})
        for mid in module_ids})


__all__ = ["DenseStackModule", "dense_stack_spec"]
