"""An unmodified Tune script, as a user would write it: a two-point grid search over
its own env's config, a callback and an RLModule of its own, one iteration per trial.

    python tests/debug_scripts/tune_grid.py STORAGE_DIR          # plain Tune (actors)
    rldebug debug tests/debug_scripts/tune_grid.py STORAGE_DIR   # every trial in-process
"""

import sys

import gymnasium as gym
from ray import tune
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec


class TaggedCartPole(gym.Wrapper):
    """CartPole that knows which grid point it belongs to."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.tag = (config or {}).get("tag")
        self.steps = 0

    def step(self, action):
        self.steps += 1
        result = self.env.step(action)  # ENV-STEP-BREAKPOINT
        return result


class CountingModule(DefaultPPOTorchRLModule):
    """The default PPO module, counting its forward passes."""

    forward_calls = 0
    train_calls = 0

    def _forward(self, batch, **kwargs):
        self.forward_calls += 1
        return super()._forward(batch, **kwargs)  # MODULE-FORWARD-BREAKPOINT

    def _forward_train(self, batch, **kwargs):
        self.train_calls += 1
        return super()._forward_train(batch, **kwargs)  # MODULE-FORWARD-TRAIN-BREAKPOINT


class SeenTags(RLlibCallback):
    def on_train_result(self, *, algorithm, result, **kwargs):
        tag = algorithm.config.env_config["tag"]  # CALLBACK-BREAKPOINT
        result["seen_tag"] = tag


config = (
    PPOConfig()
    .environment(TaggedCartPole, env_config={"tag": tune.grid_search(["a", "b"])})
    .env_runners(num_env_runners=1)
    .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
    .rl_module(rl_module_spec=RLModuleSpec(module_class=CountingModule),
               model_config=DefaultModelConfig(fcnet_hiddens=[8]))
    .callbacks(SeenTags)
)
results = tune.Tuner(
    PPO, param_space=config,
    run_config=tune.RunConfig(storage_path=sys.argv[1], name="grid",
                              stop={"training_iteration": 1}, verbose=0),
).fit()
print("TRIALS", len(results), sorted(r.metrics["seen_tag"] for r in results))
print("done")
