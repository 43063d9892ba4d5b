"""A 2021-style multi-agent `tune.run` script (written for rldebug's tests, not taken
from a tutorial): a gym-0.21 env with one shared space, a DefaultCallbacks subclass
with `episode.user_data` and `episode.custom_metrics`, `ray.init(local_mode=True)`,
`tune.run("PPO", config=<2021 dict>)` and the ExperimentAnalysis a 2021 script read.

    python tune_run_2021_script.py STORAGE_PATH
"""

import sys
from pathlib import Path

import ray
from ray import tune
from ray.rllib.agents.callbacks import DefaultCallbacks

sys.path.insert(0, str(Path(__file__).parent.parent / "legacy"))
from runners_2021 import Runners2021


class MoveCounter(DefaultCallbacks):
    def on_episode_start(self, *, worker, base_env, policies, episode, env_index, **kwargs):
        episode.user_data["moves"] = 0

    def on_episode_step(self, *, worker, base_env, episode, env_index, **kwargs):
        for runner in ("runner_0", "runner_1"):
            episode.user_data["moves"] += int(bool(episode.last_info_for(runner).get("moved")))

    def on_episode_end(self, *, worker, base_env, policies, episode, env_index, **kwargs):
        episode.custom_metrics["moves"] = episode.user_data["moves"]


ray.init(local_mode=True)
analysis = tune.run(
    "PPO",
    config={
        "env": Runners2021,
        "env_config": {"length": 10},
        "num_workers": 1,
        "train_batch_size": 200,
        "sgd_minibatch_size": 50,
        "num_sgd_iter": 2,
        "seed": 7,
        "framework": "torch",
        "model": {"fcnet_hiddens": [16, 16]},
        "multiagent": {
            "policies": {"fast": (None, Runners2021().observation_space,
                                  Runners2021().action_space, {}),
                         "slow": (None, Runners2021().observation_space,
                                  Runners2021().action_space, {})},
            "policy_mapping_fn": lambda agent_id, *args, **kwargs:
                "fast" if agent_id == "runner_0" else "slow",
        },
        "callbacks": MoveCounter,
    },
    stop={"training_iteration": 2},
    storage_path=sys.argv[1], name="runners",
)
trial = analysis.trials[0]
print("STATUS", trial.status)
print("EPISODE_REWARD_MEAN", trial.last_result["episode_reward_mean"])
print("POLICY_REWARD_MEAN", sorted(trial.last_result["policy_reward_mean"].items()))
print("MOVES_MEAN", trial.last_result["custom_metrics"]["moves_mean"])
print("ITERATION", trial.last_result["training_iteration"])
print("BEST_CONFIG_SEED", analysis.get_best_config("episode_reward_mean", "max")["seed"])
print("BEST_TRIAL", analysis.get_best_trial("episode_reward_mean", "max").trial_id)
print("DATAFRAME_ROWS", len(analysis.dataframe()))
print("TRIAL_DATAFRAME_ROWS", len(next(iter(analysis.trial_dataframes.values()))))
