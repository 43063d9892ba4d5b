"""Save two checkpoints that name what their training script registered: PPO on an env
registered with ray.tune.register_env (new stack), and old-stack PPO with a custom model
registered with ModelCatalog. Loaded in another process, neither name is registered.

    python registered_names_checkpoints.py OUT_DIR
"""

import sys
from pathlib import Path

import gymnasium as gym
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.models import ModelCatalog
from ray.rllib.models.torch.fcnet import FullyConnectedNetwork
from ray.tune.registry import register_env

OUT = Path(sys.argv[1])
register_env("a_registered_cartpole", lambda config: gym.make("CartPole-v1"))


class RegisteredModel(FullyConnectedNetwork):
    pass


ModelCatalog.register_custom_model("a_registered_model", RegisteredModel)

algo = (PPOConfig().environment("a_registered_cartpole").env_runners(num_env_runners=0)
        .training(train_batch_size=64, minibatch_size=32, num_epochs=1).build_algo())
algo.save_to_path(str(OUT / "registered_env"))
algo.stop()
algo = (PPOConfig().api_stack(enable_rl_module_and_learner=False,
                              enable_env_runner_and_connector_v2=False)
        .environment("CartPole-v1").env_runners(num_env_runners=0)
        .training(model={"custom_model": "a_registered_model"}).build_algo())
algo.save(str(OUT / "registered_model"))
algo.stop()
print("SAVED")
