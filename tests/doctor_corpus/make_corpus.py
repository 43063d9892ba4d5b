"""Regenerate the doctor's labelled corpus: real, tiny RLlib runs with known problems.

Run from the repo root (about 15 minutes on 2 cores)::

    .venv/bin/python tests/doctor_corpus/make_corpus.py            # every case
    .venv/bin/python tests/doctor_corpus/make_corpus.py dqn_lr_1   # some cases

Each case trains a real RLlib config (CartPole, Pendulum or the arena; PPO on
both API stacks, APPO, DQN, SAC), either with ``rldebug.run`` (in this process,
optionally traced) or with a real ``tune.Tuner``. Its files are copied to
``runs/<case>/`` stripped to what the doctor reads: ``result.json`` keeps the
numeric metrics only (no hostname, node ip, pid, dates, config, paths),
``params.json`` the JSON scalars of the config, ``error.txt`` the traceback
with paths shortened, ``trace/`` the trace's JSON lines (level "summary", or
"batches" for the per-step reward statistics). ``labels.json`` says
what each run is: ``{"expect": [rule ids]}`` for a problem (one of them must be
named at warning or error; for the agent or module in ``"module"`` when given) or
``{"healthy": true}`` (no error allowed).

The labels come from how each run was made, not from what the doctor says.
The envs are defined here so Ray pickles them by value into Tune's trial actor.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.run_store import copy_trial

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs"
LABELS = HERE / "labels.json"


# -- envs with known problems --------------------------------------------------------------


class NaNRewardCartPole(gym.Wrapper):
    """CartPole whose reward is NaN once every ``every`` steps (an env bug)."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.every = (config or {}).get("every", 500)
        self.steps = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.steps % self.every == 0:
            reward = float("nan")
        return obs, reward, terminated, truncated, info


class ScaledRewardCartPole(gym.Wrapper):
    """CartPole with every reward multiplied by ``scale`` (1000: returns in the 10^4-10^5)."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.scale = (config or {}).get("scale", 1000.0)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward * self.scale, terminated, truncated, info


class ZeroRewardCartPole(gym.Wrapper):
    """CartPole whose reward is always 0 (a reward wired to the wrong variable)."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, 0.0, terminated, truncated, info


class CrashingCartPole(gym.Wrapper):
    """CartPole that raises after ``crash_at`` steps (a bug on a rare path)."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.crash_at = (config or {}).get("crash_at", 700)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps >= self.crash_at:
            raise IndexError(f"pole index {self.steps} out of range (env bug on a rare path)")
        return self.env.step(action)


def never_positive_arena():
    """The arena with agent1's reward for a new field wired to 0: it never earns > 0."""
    from rldebug.arena.env import MultiAgentArena

    class NoPositiveRewardArena(MultiAgentArena):
        def step(self, action_dict):
            obs, rewards, terminateds, truncateds, infos = super().step(action_dict)
            rewards["agent1"] = min(rewards["agent1"], 0.0)
            infos["agent1"]["reward_terms"]["new_field"] = 0.0  # the terms still add up
            return obs, rewards, terminateds, truncateds, infos

    return NoPositiveRewardArena


# -- configs ---------------------------------------------------------------------------------

def _model(hiddens=(32, 32)):
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return DefaultModelConfig(fcnet_hiddens=list(hiddens))


def ppo(env="CartPole-v1", env_config=None, hiddens=(32, 32), **training):
    from ray.rllib.algorithms.ppo import PPOConfig

    settings = {"train_batch_size": 1000, "minibatch_size": 250, "num_epochs": 4,
                "lr": 3e-4, **training}
    return (PPOConfig().environment(env, env_config=env_config or {})
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
            .training(**settings)
            .rl_module(model_config=_model(hiddens))
            .debugging(seed=0))


def rllib_default_ppo(env):
    """RLlib's PPOConfig with nothing set but the env, in-process sampling and a seed."""
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig().environment(env).env_runners(num_env_runners=0)
            .debugging(seed=0))


def old_ppo(**training):
    from ray.rllib.algorithms.ppo import PPOConfig

    settings = {"train_batch_size": 1000, "minibatch_size": 250, "num_epochs": 4,
                "lr": 3e-4, **training}
    return (PPOConfig()
            .api_stack(enable_rl_module_and_learner=False,
                       enable_env_runner_and_connector_v2=False)
            .environment("CartPole-v1").framework("torch")
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length="auto")
            .training(model={"fcnet_hiddens": [32, 32]}, **settings)
            .debugging(seed=0))


def appo(env="CartPole-v1", **training):
    from ray.rllib.algorithms.appo import APPOConfig

    # APPO makes ~10 updates of 200 steps per 1000 sampled: it needs a larger lr
    # than PPO (which makes ~50 per iteration here) to learn in 25 iterations.
    return (APPOConfig().environment(env)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length=50)
            .training(train_batch_size_per_learner=200, **{"lr": 5e-3, **training})
            .rl_module(model_config=_model())
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=0))


def dqn(**training):
    from ray.rllib.algorithms.dqn import DQNConfig

    settings = {"lr": 5e-4, "train_batch_size_per_learner": 32,
                "num_steps_sampled_before_learning_starts": 500,
                "target_network_update_freq": 500,
                "replay_buffer_config": {"type": "PrioritizedEpisodeReplayBuffer",
                                         "capacity": 20000},
                "epsilon": [(0, 1.0), (5000, 0.05)], **training}
    return (DQNConfig().environment("CartPole-v1")
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length=4)
            .training(**settings)
            .rl_module(model_config=_model((64, 64)))
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=0))


def sac(**training):
    from ray.rllib.algorithms.sac import SACConfig

    settings = {"train_batch_size_per_learner": 64,
                "num_steps_sampled_before_learning_starts": 500,
                "replay_buffer_config": {"type": "PrioritizedEpisodeReplayBuffer",
                                         "capacity": 20000}, **training}
    return (SACConfig().environment("Pendulum-v1")
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length=4)
            .training(**settings)
            .rl_module(model_config=_model((64, 64)))
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=0))


def arena(lr=1e-3, env=None):
    from rldebug import arena_ppo_config

    config = arena_ppo_config(lr=lr, seed=0)
    if env is not None:
        config.environment(env, env_config={})
    return config


def reward_terms(config):
    """The config with rldebug's RewardTerms callback (the arena reports reward_terms)."""
    from rldebug.callbacks import RewardTerms, add_callbacks

    return add_callbacks(config, RewardTerms)


# -- cases: name -> (how to run, config factory, iterations, label) ---------------------------

CASES = {
    # healthy controls, one per family and stack
    "healthy_ppo_cartpole": ("run", lambda: ppo(lr=1e-3, num_epochs=6), 30, {"healthy": True}),
    "healthy_old_ppo_cartpole": ("tune", lambda: old_ppo(), 20, {"healthy": True}),
    "healthy_appo_cartpole": ("run", lambda: appo(), 25, {"healthy": True}),
    "healthy_dqn_cartpole": ("run", lambda: dqn(), 25, {"healthy": True}),
    "healthy_sac_pendulum": ("run", lambda: sac(), 12, {"healthy": True}),
    "healthy_arena": ("tune", lambda: arena(), 20, {"healthy": True}),
    # one problem each
    "ppo_entropy_coeff_1": ("run", lambda: ppo(entropy_coeff=1.0), 25,
                            {"expect": ["policy_stays_random"]}),
    "ppo_lr_1e-7": ("run", lambda: ppo(lr=1e-7), 25, {"expect": ["updates_too_small"]}),
    # PPO on Pendulum with every setting at RLlib's default: vf_clip_param=10 clips every
    # value error of a return near -1000, and the run does not learn
    "ppo_pendulum_rllib_defaults": ("run", lambda: rllib_default_ppo("Pendulum-v1"), 25,
                                    {"expect": ["critic_clipped"]}),
    "dqn_lr_1": ("run", lambda: dqn(lr=1.0), 20, {"expect": ["q_values_diverging"]}),
    "ppo_nan_reward_traced": ("run_traced",
                              lambda: ppo(env=NaNRewardCartPole, env_config={"every": 500}),
                              6, {"expect": ["non_finite_reward"]}),
    "ppo_nan_reward": ("tune", lambda: ppo(env=NaNRewardCartPole, env_config={"every": 500}),
                       6, {"expect": ["non_finite_reward"]}),
    "arena_agent1_never_positive": ("tune", lambda: arena(env=never_positive_arena()), 25,
                                    {"expect": ["reward_never_positive"], "module": "agent1"}),
    "arena_agent1_never_positive_traced": ("run_traced:batches",
                                           lambda: arena(env=never_positive_arena()), 25,
                                           {"expect": ["reward_never_positive"], "module": "agent1"}),
    "arena_agent1_never_positive_terms": ("run", lambda: reward_terms(
        arena(env=never_positive_arena())), 25, {"expect": ["reward_never_positive"],
                                                 "module": "agent1"}),
    "ppo_zero_reward_traced": ("run_traced:batches", lambda: ppo(env=ZeroRewardCartPole), 12,
                               {"expect": ["reward_constant"]}),
    "arena_lr_0.5": ("run", lambda: arena(lr=0.5), 10, {"expect": ["lr_too_high"]}),
    "ppo_reward_x1000": ("run", lambda: ppo(env=ScaledRewardCartPole), 15,
                         {"expect": ["reward_scale"]}),
    "ppo_zero_reward": ("run", lambda: ppo(env=ZeroRewardCartPole), 20,
                        {"expect": ["reward_constant"]}),
    "tune_env_crash": ("tune", lambda: ppo(env=CrashingCartPole, env_config={"crash_at": 3500}),
                       10, {"expect": ["trial_errored"]}),
    "sac_target_entropy_high": ("run", lambda: sac(target_entropy=5.0), 10,
                                {"expect": ["alpha_runaway"]}),
    "appo_lr_0.5": ("run", lambda: appo(lr=0.5), 15, {"expect": ["lr_too_high"]}),
    # The CartPole settings above on Acrobot (-1 a step until a swing-up, 500-step limit):
    # acting at random the policy almost never swings up, and it stays random (found
    # 2026-12-04 while trying APPO Acrobot as a benchmark base: that run's entropy dipped
    # below 90 % of its first value for one iteration, which hid it from the 20-iteration
    # streak policy_stays_random then required)
    "appo_acrobot_reward_never_found": ("run", lambda: appo(env="Acrobot-v1"), 30,
                                        {"expect": ["policy_stays_random"]}),
}


# -- running ---------------------------------------------------------------------------------

def run_case(name: str, work: Path) -> None:
    how, make, iterations, _ = CASES[name]
    config = make()
    if how.startswith("run"):
        import rldebug

        logdir = work / name
        try:
            level = how.partition(":")[2] or "summary"  # "run_traced:batches"
            rldebug.run(config, stop={"training_iteration": iterations}, logdir=logdir,
                        progress=False, trace=level if how.startswith("run_traced") else None)
        except Exception as err:  # noqa: BLE001 - a broken run is still a corpus entry
            print(f"  {name}: training raised {type(err).__name__}: {err}"[:300])
        copy_trial(logdir, RUNS / name)
        return
    from ray import tune

    tuner = tune.Tuner(config.algo_class, param_space=config,
                       run_config=tune.RunConfig(storage_path=str(work), name=name,
                                                 stop={"training_iteration": iterations},
                                                 verbose=0))
    tuner.fit()
    trials = [p for p in (work / name).iterdir() if (p / "result.json").is_file()]
    if len(trials) != 1:
        raise RuntimeError(f"{name}: expected one Tune trial dir, found {trials}")
    copy_trial(trials[0], RUNS / name)


def main(names: list[str]) -> None:
    import ray

    unknown = sorted(set(names) - set(CASES))
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; known: {sorted(CASES)}")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    labels = json.loads(LABELS.read_text()) if LABELS.is_file() else {}
    with tempfile.TemporaryDirectory(prefix="rldebug-corpus-") as work:
        for name in names or list(CASES):
            print(f"case {name} ...", flush=True)
            np.random.seed(0)
            run_case(name, Path(work))
            labels[name] = CASES[name][3]
            LABELS.write_text(json.dumps(dict(sorted(labels.items())), indent=1) + "\n")
    ray.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
