"""A 2021-style script (for rldebug's tests): `import gym`, `ray.init(local_mode=True)`,
an env with gym 0.21's API and a 2021 callbacks class. Unchanged, it runs on RLlib
2.60 only under `rldebug debug`."""

import sys
from pathlib import Path

import gym  # noqa: F401 - gym 0.21 era; gymnasium under rldebug debug
import ray
from ray.rllib.algorithms.callbacks import DefaultCallbacks
from ray.rllib.algorithms.ppo import PPOConfig

sys.path.insert(0, str(Path(__file__).parent.parent / "legacy"))
from arena_2021 import Arena2021


class CountCollisions(DefaultCallbacks):
    def on_episode_start(self, *, worker, base_env, policies, episode, env_index, **kwargs):
        episode.user_data["collisions"] = 0

    def on_episode_step(self, *, worker, base_env, episode, env_index, **kwargs):
        episode.user_data["collisions"] += int(episode.last_info_for("agent1")["collision"])

    def on_episode_end(self, *, worker, base_env, policies, episode, env_index, **kwargs):
        episode.custom_metrics["collisions"] = episode.user_data["collisions"]


ray.init(local_mode=True)
config = (PPOConfig().environment(Arena2021, env_config={"width": 3, "height": 3,
                                                          "max_timesteps": 20})
          .env_runners(num_env_runners=2)
          .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
          .multi_agent(policies={"pol1", "pol2"},
                       policy_mapping_fn=lambda aid, *a, **k: "pol1" if aid == "agent1" else "pol2")
          .callbacks(CountCollisions))
algo = config.build_algo()
result = algo.train()
print("COLLISIONS", result["env_runners"]["custom_metrics"]["collisions_mean"])
algo.stop()
