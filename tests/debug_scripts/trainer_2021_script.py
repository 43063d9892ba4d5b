"""Tutorial-era training code (written for rldebug's tests): `ray.rllib.agents`,
`PPOTrainer(config=dict)`, `DEFAULT_CONFIG`, 2021 config keys and result keys,
`get_policy()` and `compute_single_action`. Runs on RLlib 2.60 under `rldebug debug`."""

import sys
from pathlib import Path

import ray
from ray.rllib.agents.ppo import DEFAULT_CONFIG, PPOTrainer

sys.path.insert(0, str(Path(__file__).parent.parent / "legacy"))
from arena_2021 import Arena2021

ray.init(local_mode=True)
config = DEFAULT_CONFIG.copy()
config.update({
    "env": Arena2021,
    "env_config": {"width": 3, "height": 3, "max_timesteps": 20},
    "num_workers": 1,
    "train_batch_size": 200,
    "sgd_minibatch_size": 100,
    "num_sgd_iter": 2,
    "framework": "torch",
    "multiagent": {
        "policies": {"pol1", "pol2"},
        "policy_mapping_fn": lambda agent_id, *args, **kwargs:
            "pol1" if agent_id == "agent1" else "pol2",
    },
    "model": {"fcnet_hiddens": [16, 16]},
})
trainer = PPOTrainer(config=config)
results = trainer.train()
print("EPISODE_REWARD_MEAN", results["episode_reward_mean"])
print("POLICY_REWARD_MEAN", sorted(results["policy_reward_mean"]))
env = Arena2021(config["env_config"])
obs = env.reset()
action = trainer.compute_single_action(obs["agent1"], policy_id="pol1")
print("ACTION", int(action), "HIDDEN", trainer.get_policy("pol1").model)
trainer.stop()
