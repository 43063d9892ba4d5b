"""Tutorial-era (gym 0.21) envs on RLlib 2.60: adapted by rldebug.compat.legacy, as `rldebug debug`
does, they give the native arena's episodes and training returns on the same seeds."""

import sys
from pathlib import Path

import numpy as np
import pytest
from ray.rllib.algorithms.callbacks import DefaultCallbacks
from ray.rllib.callbacks.callbacks import RLlibCallback
from tiny import TINY_ENV, tiny_arena_config

import rldebug
from rldebug.arena import MultiAgentArena
from rldebug.callbacks import add_callbacks
from rldebug.compat.legacy import (
    adapt_config_callbacks,
    adapt_config_env,
    gymnasium_env,
    has_old_reset,
    is_old_callbacks,
)
from rldebug.shapes.episodes import last_step, log_episode_value, store

sys.path.insert(0, str(Path(__file__).parent / "legacy"))
from arena_2021 import Arena2021


def test_the_adapter_speaks_gymnasium_and_splits_the_time_limit():
    env = gymnasium_env(Arena2021(TINY_ENV))
    obs, infos = env.reset(seed=3)
    assert set(obs) == {"agent1", "agent2"} and infos == {}
    for _ in range(TINY_ENV["max_timesteps"]):
        _, _, terminated, truncated, _ = env.step({"agent1": 1, "agent2": 0})
    assert truncated == {"agent1": True, "agent2": True, "__all__": True}
    assert terminated == {"agent1": False, "agent2": False, "__all__": False}
    report = rldebug.check_env(gymnasium_env(Arena2021(TINY_ENV)))
    assert report.ok, str(report)


def test_same_seed_same_actions_same_episode_as_the_native_arena():
    native, old = MultiAgentArena(TINY_ENV), gymnasium_env(Arena2021(TINY_ENV))
    rng = np.random.default_rng(0)
    first_native, _ = native.reset(seed=7)
    first_old, _ = old.reset(seed=7)
    assert all((first_native[k] == first_old[k]).all() for k in first_native)
    for _ in range(TINY_ENV["max_timesteps"]):
        actions = {"agent1": int(rng.integers(4)), "agent2": int(rng.integers(4))}
        na, nr, nterm, ntrunc, _ = native.step(actions)
        oa, orew, oterm, otrunc, _ = old.step(actions)
        assert all((na[k] == oa[k]).all() for k in na) and nr == orew
        assert (nterm, ntrunc) == (oterm, otrunc)


def test_training_returns_match_the_native_arena_on_the_same_seed(tmp_path):
    notices = []
    native = tiny_arena_config()
    port = adapt_config_env(tiny_arena_config().environment(Arena2021, env_config=TINY_ENV),
                            notices.append)
    assert has_old_reset(Arena2021) and "gym 0.21" in notices[0]
    returns = {}
    for name, config in (("native", native), ("port", port)):
        result = rldebug.run(config, stop={"training_iteration": 2}, logdir=tmp_path / name,
                             progress=False)
        returns[name] = [result.last_result["env_runners"]["agent_episode_returns_mean"][a]
                         for a in ("agent1", "agent2")]
        result.algo.stop()
    assert returns["port"] == pytest.approx(returns["native"])


def test_new_style_envs_are_left_alone():
    config = tiny_arena_config()
    assert adapt_config_env(config, print) is config
    assert not has_old_reset(MultiAgentArena)



class CollisionCounter2021(DefaultCallbacks):
    """Written the 2021 way: worker/base_env/episode hooks, user_data, prev_reward_for,
    last_info_for, custom_metrics."""

    def on_episode_start(self, *, worker, base_env, policies, episode, env_index, **kwargs):
        episode.user_data["collisions"] = 0
        episode.user_data["agent1_rewards"] = []

    def on_episode_step(self, *, worker, base_env, episode, env_index, **kwargs):
        if episode.last_info_for("agent1").get("collision"):
            episode.user_data["collisions"] += 1
        episode.user_data["agent1_rewards"].append(episode.prev_reward_for("agent1"))

    def on_episode_end(self, *, worker, base_env, policies, episode, env_index, **kwargs):
        episode.custom_metrics["collisions"] = episode.user_data["collisions"]
        episode.custom_metrics["agent1_return"] = sum(episode.user_data["agent1_rewards"])


class NativeCollisionCounter(RLlibCallback):
    """The same count the 2.60 way."""

    def on_episode_step(self, *, episode, **kwargs):
        data = store(episode)
        data["native"] = data.get("native", 0) + int(
            bool(last_step(episode)["agent1"].info.get("collision")))

    def on_episode_end(self, *, episode, metrics_logger, **kwargs):
        log_episode_value(episode, metrics_logger, ("native_collisions",),
                          float(store(episode).get("native", 0)))


def test_2021_callbacks_count_what_the_native_callback_counts(tmp_path):
    notices = []
    assert is_old_callbacks(CollisionCounter2021) and not is_old_callbacks(RLlibCallback)
    small = tiny_arena_config(env_config={"width": 3, "height": 3, "max_timesteps": 20})
    config = adapt_config_callbacks(small.callbacks(CollisionCounter2021), notices.append)
    config = add_callbacks(config, NativeCollisionCounter)
    assert "2021 callback hooks" in notices[0]
    result = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path,
                         progress=False)
    try:
        runners = result.last_result["env_runners"]
        legacy = runners["custom_metrics"]
        for stat in ("mean", "min", "max"):
            assert legacy[f"collisions_{stat}"] == runners[f"native_collisions_{stat}"]
        assert legacy["collisions_max"] > 0  # collisions did happen
        assert legacy["agent1_return_mean"] == pytest.approx(
            runners["agent_episode_returns_mean"]["agent1"])
    finally:
        result.algo.stop()


def test_2021_callbacks_on_the_old_stack_get_prev_reward_for(tmp_path):
    """A 2021 config dict runs on the old stack, whose EpisodeV2 has no prev_reward_for:
    the tutorial's Exercise 3 callback failed its trial with an AttributeError."""
    from ray.rllib.algorithms.ppo import PPO

    from rldebug.compat.legacy import config_from_dict

    notices = []
    config = config_from_dict(PPO, {
        "env": MultiAgentArena, "env_config": {"width": 3, "height": 3, "max_timesteps": 20},
        "callbacks": CollisionCounter2021, "train_batch_size": 200, "sgd_minibatch_size": 100,
        "num_sgd_iter": 1, "num_workers": 0, "seed": 0, "model": {"fcnet_hiddens": [16]},
        "multiagent": {"policies": {"pol1", "pol2"},
                       "policy_mapping_fn": lambda agent, *args, **kwargs:
                       "pol1" if agent == "agent1" else "pol2"}}, notices.append)
    assert not config.enable_rl_module_and_learner  # 2021 keys: the old stack
    result = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path,
                         progress=False)
    try:
        runners = result.last_result["env_runners"]
        legacy = runners["custom_metrics"]
        assert legacy["collisions_max"] > 0
        # summed step by step, agent1's rewards make up its return, as RLlib counts it
        assert legacy["agent1_return_mean"] == pytest.approx(
            runners["policy_reward_mean"]["pol1"])
    finally:
        result.algo.stop()


def test_a_2021_trainer_saves_evaluates_and_shows_its_workers_as_2021_code_reads_them():
    """The tutorial's cells: trainer.save() gave a training result (os.path.dirname of it
    raised), evaluate()["evaluation"] a KeyError, trainer.workers.local_worker() an
    AttributeError from RLlib's error-raising deprecation."""
    from ray.rllib.algorithms.ppo import PPO, PPOConfig

    from rldebug.compat.legacy import trainer_2021

    PPOTrainer = trainer_2021(PPO, PPOConfig, lambda message: None)
    config = {"env": "CartPole-v1", "num_workers": 0, "train_batch_size": 200,
              "sgd_minibatch_size": 100, "num_sgd_iter": 1, "seed": 0,
              "evaluation_duration": 2, "model": {"fcnet_hiddens": [8]}}
    trainer = PPOTrainer(config=config)
    restored = PPOTrainer(config=config)
    try:
        trainer.train()
        assert trainer.workers.local_worker().env.observation_space.shape == (4,)
        path = trainer.save()
        assert isinstance(path, str) and (Path(path) / "rllib_checkpoint.json").is_file()
        restored.restore(path)
        assert restored.iteration == 1
        evaluation = restored.evaluate()["evaluation"]
        assert np.isfinite(evaluation["episode_reward_mean"])
    finally:
        trainer.stop()
        restored.stop()
