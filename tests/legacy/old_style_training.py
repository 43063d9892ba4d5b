"""A 2021-style RLlib script (written for rldebug's tests, in the style of that era).

It is never run: ``rldebug migrate`` parses it. Each commented line says what the
test expects to be named there.
"""
import gym  # import gym
import ray
from gym.spaces import Discrete  # import gym.spaces
from ray import tune
from ray.rllib.agents.callbacks import DefaultCallbacks  # ray.rllib.agents, DefaultCallbacks
from ray.rllib.agents.ppo import DEFAULT_CONFIG, PPOTrainer  # agents, DEFAULT_CONFIG, PPOTrainer
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.rllib.models import ModelCatalog  # ModelCatalog

Box = gym.spaces.Box


class Corridor(MultiAgentEnv):
    def __init__(self, config=None):
        self.action_space = Discrete(2)  # action_space

    def reset(self):  # reset without seed
        return {"a": 0}

    def step(self, action_dict):
        return {"a": 0}, {"a": 1.0}, {"__all__": True}, {}  # 4-tuple step


class CountSteps(DefaultCallbacks):  # DefaultCallbacks
    def on_episode_start(self, *, worker, base_env, policies, episode, **kwargs):
        episode.user_data["steps"] = 0  # user_data

    def on_episode_step(self, *, worker, base_env, episode, **kwargs):
        episode.user_data["steps"] += episode.prev_reward_for("a")  # user_data, prev_reward_for

    def on_episode_end(self, *, worker, base_env, policies, episode, **kwargs):
        episode.custom_metrics["steps"] = episode.user_data["steps"]  # custom_metrics, user_data


ray.init(local_mode=True)  # local_mode
config = DEFAULT_CONFIG.copy()  # DEFAULT_CONFIG
config.update({
    "env": Corridor,
    "num_workers": 0,  # num_workers
    "sgd_minibatch_size": 64,  # sgd_minibatch_size
    "num_sgd_iter": 3,  # num_sgd_iter
    "multiagent": {"policies": {"p"}},  # multiagent
    "callbacks": CountSteps,
    "framework": "tf",  # framework
    "exploration_config": {"type": "EpsilonGreedy"},  # exploration_config
})
trainer = PPOTrainer(config=config)  # PPOTrainer
result = trainer.train()
print(result["episode_reward_mean"])  # episode_reward_mean
print(result["custom_metrics"], result["hist_stats"])  # custom_metrics, hist_stats
checkpoint = trainer.save()  # trainer.save()
print(trainer.evaluate()["evaluation"])  # evaluation
policy = trainer.get_policy("p")  # get_policy
ModelCatalog.register_custom_model("mine", object)  # ModelCatalog
env = Corridor()
obs, reward, done, info = env.step({"a": 0})  # 4-tuple unpack
action = trainer.compute_single_action(obs["a"])  # compute_single_action
tune.run("PPO", config=config, stop={"episode_reward_mean": 15},  # tune.run, episode_reward_mean
         local_dir="~/results")  # local_dir
