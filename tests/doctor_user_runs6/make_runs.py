"""Batch 6: labelled RLlib 2.60 runs on my own envs (user_envs6.py).

Made in session 48 by a helper that, as a new user, never ran or read the diagnosis tool
(25 runs, 5 healthy, ~27 minutes of training on 2 cores). Labels say how each run was
made (the modules-swap run crashed in its first iteration: its two modules see
observations of different sizes). Run from the repo root, one run at a time::

    .venv/bin/python tests/doctor_user_runs6/make_runs.py            # every run
    .venv/bin/python tests/doctor_user_runs6/make_runs.py NAME ...   # named runs
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (str(HERE.parents[1]), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import user_envs6 as U

# --------------------------------------------------------------------------------------
# Healthy settings (one place per base; each fault differs from its twin in one thing)
STOCK_PPO = {"lr": 1e-3, "gamma": 0.95, "lambda_": 0.95, "train_batch_size": 2000,
             "minibatch_size": 250, "num_epochs": 8, "entropy_coeff": 0.01,
             "vf_clip_param": 1000.0, "grad_clip": None, "iters": 20}
STOCK_IMPALA = {"lr": 1e-3, "gamma": 0.95, "train_batch_size": 500, "entropy_coeff": 0.01,
                "vf_loss_coeff": 0.5, "grad_clip": 40.0, "iters": 20}
THERMO = {"actor_lr": 1e-3, "critic_lr": 1e-3, "alpha_lr": 1e-3, "gamma": 0.95,
          "target_entropy": "auto", "learning_starts": 1000, "capacity": 50000,
          "train_batch_size": 256, "training_intensity": 32, "iters": 20}
LIFT = {"lr": 1e-3, "gamma": 0.97, "train_batch_size": 64, "n_step": 4,
        "target_update": 250, "learning_starts": 500, "capacity": 50000,
        "eps_steps": 4000, "steps_per_iter": 800, "iters": 20}
HIVE = {"lr": 1e-3, "gamma": 0.95, "train_batch_size": 1000, "entropy_coeff": 0.01,
        "grad_clip": 40.0, "iters": 20}


def _reg_stock():
    import gymnasium as gym
    from ray.tune.registry import register_env

    register_env("stockroom", lambda cfg: gym.make("StockRoom-v0", env_config=dict(cfg)))


def stock_ppo(env_config=None, **over):
    """PPO (new stack) on the registered StockRoom-v0 via register_env('stockroom')."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    _reg_stock()
    h = {**STOCK_PPO, **over}
    config = (
        PPOConfig()
        .environment("stockroom", env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0)
        .training(lr=h["lr"], gamma=h["gamma"], lambda_=h["lambda_"],
                  train_batch_size_per_learner=h["train_batch_size"],
                  minibatch_size=h["minibatch_size"], num_epochs=h["num_epochs"],
                  entropy_coeff=h["entropy_coeff"], vf_clip_param=h["vf_clip_param"],
                  grad_clip=h["grad_clip"])
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .debugging(seed=0)
    )
    return config, h["iters"]


def stock_impala(env_config=None, **over):
    """IMPALA (new stack) on the same registered StockRoom-v0."""
    from ray.rllib.algorithms.impala import IMPALAConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    _reg_stock()
    h = {**STOCK_IMPALA, **over}
    config = (
        IMPALAConfig()
        .environment("stockroom", env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0, rollout_fragment_length=50)
        .training(lr=h["lr"], gamma=h["gamma"],
                  train_batch_size_per_learner=h["train_batch_size"],
                  entropy_coeff=h["entropy_coeff"], vf_loss_coeff=h["vf_loss_coeff"],
                  grad_clip=h["grad_clip"])
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=2000)
        .debugging(seed=0)
    )
    return config, h["iters"]


def thermo_sac(env_config=None, **over):
    """SAC (new stack) on ThermostatEnv (class), Box(2,) action."""
    from ray.rllib.algorithms.sac import SACConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    h = {**THERMO, **over}
    config = (
        SACConfig()
        .environment(U.ThermostatEnv, env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0, rollout_fragment_length=4)
        .training(actor_lr=h["actor_lr"], critic_lr=h["critic_lr"], alpha_lr=h["alpha_lr"],
                  gamma=h["gamma"], target_entropy=h["target_entropy"],
                  train_batch_size_per_learner=h["train_batch_size"],
                  num_steps_sampled_before_learning_starts=h["learning_starts"],
                  replay_buffer_config={"type": "EpisodeReplayBuffer",
                                        "capacity": h["capacity"]},
                  training_intensity=h["training_intensity"])
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .reporting(min_sample_timesteps_per_iteration=480)
        .debugging(seed=0)
    )
    return config, h["iters"]


def lift_dqn(env_config=None, **over):
    """DQN (new stack, double_q, dueling, n-step) on LiftEnv (class)."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    h = {**LIFT, **over}
    config = (
        DQNConfig()
        .environment(U.LiftEnv, env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0, rollout_fragment_length=4)
        .training(lr=h["lr"], gamma=h["gamma"], train_batch_size_per_learner=h["train_batch_size"],
                  double_q=True, dueling=True, n_step=h["n_step"],
                  target_network_update_freq=h["target_update"],
                  num_steps_sampled_before_learning_starts=h["learning_starts"],
                  epsilon=[(0, 1.0), (h["eps_steps"], 0.02)],
                  replay_buffer_config={"type": "EpisodeReplayBuffer",
                                        "capacity": h["capacity"]})
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64],
                                                   head_fcnet_hiddens=[64]))
        .reporting(min_sample_timesteps_per_iteration=h["steps_per_iter"])
        .debugging(seed=0)
    )
    return config, h["iters"]


_EPISODE_PARITY: dict = {}


def hive_mapping(agent_id, episode, **kwargs):
    return "guard" if agent_id == "guard" else "foragers"


def hive_mapping_swapped(agent_id, episode, **kwargs):
    """The fault: every other episode foragers -> 'guard' and guard -> 'foragers'."""
    key = getattr(episode, "id_", None) or id(episode)
    if key not in _EPISODE_PARITY:
        _EPISODE_PARITY[key] = len(_EPISODE_PARITY) % 2
    module = hive_mapping(agent_id, episode)
    if _EPISODE_PARITY[key]:
        module = "foragers" if module == "guard" else "guard"
    return module


def hive_appo(env_config=None, mapping=hive_mapping, **over):
    """APPO (new stack), multi-agent HiveEnv: forager_0/1 -> 'foragers', guard -> 'guard'."""
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    h = {**HIVE, **over}
    config = (
        APPOConfig()
        .environment(U.HiveEnv, env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0, rollout_fragment_length=50)
        .multi_agent(policies={"foragers", "guard"}, policy_mapping_fn=mapping)
        .training(lr=h["lr"], gamma=h["gamma"],
                  train_batch_size_per_learner=h["train_batch_size"],
                  entropy_coeff=h["entropy_coeff"], grad_clip=h["grad_clip"],
                  grad_clip_by="global_norm")
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=2000)
        .debugging(seed=0)
    )
    return config, h["iters"]


# --------------------------------------------------------------------------------------
SP = "PPO new stack, StockRoom-v0 (gymnasium-registered, wrapped by register_env 'stockroom'; 100-day episodes, Discrete(5) order sizes, stock arrives 2 days after ordering, every reward a cost <= 0), lr 1e-3, gamma 0.95, lambda 0.95, train_batch 2000, minibatch 250, 8 epochs, entropy 0.01, vf_clip 1000, fcnet [64,64], 20 iters; random policy -485 per episode (always-order-3 -315, scripted order-up-to-14 heuristic -201); the healthy run went -478 -> -208 by iter 19 (-262 at iter 20) in 20 iters"
SI = "IMPALA new stack, StockRoom-v0 via register_env 'stockroom', lr 1e-3, gamma 0.95, train_batch 500, rollout_fragment 50, entropy 0.01, vf_loss_coeff 0.5, grad_clip 40, >=2000 env steps/iter, fcnet [64,64], 20 iters; random policy -485 (always-order-3 -315, heuristic -201); the healthy run went -479 -> -205 by iter 19 (-294 at iter 20) in 20 iters"
TS = "SAC new stack, ThermostatEnv (class; Box(2,) heater/cooler action; 120-step episodes; reward -|T - setpoint| - 0.2 energy), actor/critic/alpha lr 1e-3, gamma 0.95, target_entropy auto (-2), batch 256, EpisodeReplayBuffer 50000, learning starts 1000, training_intensity 32, 480 steps/iter, fcnet [64,64], 20 iters; random policy -809 per episode (heater/cooler off -784, scripted controller -87); the healthy run went -928 -> -189 in 20 iters"
LD = "DQN new stack, LiftEnv (class; 6 floors, Discrete(3); +10 per delivery, -0.1/step, terminates after 3 deliveries, truncated at 100), double_q, dueling, n_step 4, lr 1e-3, gamma 0.97, batch 64, target update 250, EpisodeReplayBuffer 50000, learning starts 500, eps 1->0.02 over 4000 steps, 800 steps/iter, fcnet [64,64], 20 iters; random policy +1.7 per episode (scripted elevator +28.1); the healthy run went +1.3 -> +28.0 in 20 iters"
HA = "APPO new stack, multi-agent HiveEnv (forager_0, forager_1 -> module 'foragers'; guard -> module 'guard'; 100-step episodes), lr 1e-3, gamma 0.95, train_batch 1000, rollout_fragment 50, entropy 0.01, grad_clip 40 global_norm, >=2000 env steps/iter, fcnet [64,64], 20 iters; random policy +5.2 per episode summed over the 3 agents (scripted +32); the healthy run went +5.6 -> +13.6 in 20 iters"

LABELS = {
    # stock room, PPO
    "stock_ppo_healthy": (f"healthy ({SP})", None, None),
    "stock_ppo_gamma_0": (f"gamma=0 (healthy 0.95); an order only costs now and pays off 2+ days later when it arrives; else as healthy ({SP})", "gamma_0", None),
    "stock_ppo_vf_clip_low": (f"vf_clip_param=0.01 (healthy 1000; returns -200..-500, per-step costs 0..15); else as healthy ({SP})", "vf_clip_low", None),
    "stock_ppo_nan_traced": (f"env_config nan_every=500: every 500th env step's reward is NaN; traced batches; else as healthy ({SP})", "nan_reward_traced", None),
    "stock_ppo_epochs_x10": (f"num_epochs=80 (healthy 8) on train batches of 200 (healthy 2000), minibatch 100; else as healthy ({SP})", "epochs_x10_small_batch", None),
    # stock room, IMPALA
    "stock_impala_healthy": (f"healthy ({SI})", None, None),
    "stock_impala_obs_zeroed": (f"env_config obs_zero: every observation all zeros; else as healthy ({SI})", "obs_zeroed", None),
    "stock_impala_reward_noise": (f"env_config reward_noise_std=20: Gaussian noise std 20 added to every per-step reward (costs are 0..15); else as healthy ({SI})", "reward_noise", None),
    # thermostat, SAC
    "thermo_sac_healthy": (f"healthy ({TS})", None, None),
    "thermo_sac_target_entropy_high": (f"target_entropy=10 (healthy auto = -2 for the Box(2,) action); else as healthy ({TS})", "target_entropy_high", None),
    "thermo_sac_replay_below_batch": (f"replay buffer capacity=100 (healthy 50000) with train batch 256; else as healthy ({TS})", "replay_below_batch", None),
    "thermo_sac_obs_x1e4": (f"env_config obs_scale=1e4: every observation x1e4; traced summary; else as healthy ({TS})", "obs_x1e4", None),
    # lift, DQN
    "lift_dqn_healthy": (f"healthy ({LD})", None, None),
    "lift_dqn_learning_never_starts": (f"num_steps_sampled_before_learning_starts=1e6 (healthy 500; the run samples ~16000 steps); else as healthy ({LD})", "learning_never_starts", None),
    "lift_dqn_term_as_trunc": (f"env_config terminated_as_truncated: the terminal after the 3rd delivery is reported as truncated; else as healthy ({LD})", "terminated_as_truncated", None),
    "lift_dqn_reward_sign_flipped": (f"env_config reward_sign_flip: every reward negated (-10 per delivery, +0.1 per step); else as healthy ({LD})", "reward_sign_flipped", None),
    "lift_dqn_gamma_0.5": (f"gamma=0.5 (healthy 0.97) while the +10 delivery comes up to ~10 steps after the moves that earn it; else as healthy ({LD})", "gamma_0.5", None),
    # hive, APPO multi-agent
    "hive_appo_healthy": (f"healthy ({HA})", None, None),
    "hive_appo_agent1_nan": (f"env_config agent1_nan_every=200: forager_1's reward (module 'foragers') is NaN every 200th of its steps; else as healthy ({HA})", "agent1_nan_reward", "foragers"),
    "hive_appo_agent1_x1000": (f"env_config agent1_reward_scale=1000: forager_1's rewards x1000 (module 'foragers'); else as healthy ({HA})", "agent1_reward_x1000", "foragers"),
    "hive_appo_modules_swap": (f"policy_mapping_fn swaps modules every other episode (foragers->'guard', guard->'foragers'; note the forager obs is Box(4,) and the guard obs Box(5,)); else as healthy ({HA})", "modules_swap_per_episode", None),
    "hive_appo_entropy1": (f"entropy_coeff=1.0 (healthy 0.01); else as healthy ({HA})", "entropy_coeff_1", None),
    # added once the first 22 runs had fit in the budget
    "stock_ppo_reward_x1e-4": (f"env_config reward_scale=1e-4: every cost x1e-4; else as healthy ({SP})", "reward_x1e-4", None),
    "lift_dqn_lr_div1000": (f"lr=1e-6, healthy 1e-3 / 1000; else as healthy ({LD})", "lr_div1000", None),
    "hive_appo_grad_clip_tiny": (f"grad_clip=1e-4 (healthy 40), grad_clip_by global_norm; else as healthy ({HA})", "grad_clip_tiny", None),
}

# Planned but not trained (left out to stay near the ~16-22 run target / time budget).
NOT_MADE = {
    "thermo_sac_lr_x100": (f"actor_lr=critic_lr=0.1, 100x the healthy 1e-3 (alpha_lr stays 1e-3); else as healthy ({TS})", "lr_x100", None),
    "hive_appo_reward_zero": (f"env_config reward_zero: every agent's reward 0; else as healthy ({HA})", "reward_zero", None),
}

TRACED = {
    "stock_ppo_nan_traced": "batches",
    "thermo_sac_obs_x1e4": "summary",
}


def configs():
    return {
        "stock_ppo_healthy": lambda: stock_ppo(),
        "stock_ppo_gamma_0": lambda: stock_ppo(gamma=0.0),
        "stock_ppo_vf_clip_low": lambda: stock_ppo(vf_clip_param=0.01),
        "stock_ppo_nan_traced": lambda: stock_ppo({"nan_every": 500}),
        "stock_ppo_epochs_x10": lambda: stock_ppo(num_epochs=80, train_batch_size=200,
                                                  minibatch_size=100),
        "stock_impala_healthy": lambda: stock_impala(),
        "stock_impala_obs_zeroed": lambda: stock_impala({"obs_zero": True}),
        "stock_impala_reward_noise": lambda: stock_impala({"reward_noise_std": 20.0}),
        "thermo_sac_healthy": lambda: thermo_sac(),
        "thermo_sac_target_entropy_high": lambda: thermo_sac(target_entropy=10.0),
        "thermo_sac_replay_below_batch": lambda: thermo_sac(capacity=100),
        "thermo_sac_obs_x1e4": lambda: thermo_sac({"obs_scale": 1e4}),
        "thermo_sac_lr_x100": lambda: thermo_sac(actor_lr=0.1, critic_lr=0.1),
        "lift_dqn_healthy": lambda: lift_dqn(),
        "lift_dqn_learning_never_starts": lambda: lift_dqn(learning_starts=int(1e6)),
        "lift_dqn_term_as_trunc": lambda: lift_dqn({"terminated_as_truncated": True}),
        "lift_dqn_reward_sign_flipped": lambda: lift_dqn({"reward_sign_flip": True}),
        "lift_dqn_gamma_0.5": lambda: lift_dqn(gamma=0.5),
        "hive_appo_healthy": lambda: hive_appo(),
        "hive_appo_agent1_nan": lambda: hive_appo({"agent1_nan_every": 200}),
        "hive_appo_agent1_x1000": lambda: hive_appo({"agent1_reward_scale": 1000.0}),
        "hive_appo_modules_swap": lambda: hive_appo(mapping=hive_mapping_swapped),
        "hive_appo_entropy1": lambda: hive_appo(entropy_coeff=1.0),
        "stock_ppo_reward_x1e-4": lambda: stock_ppo({"reward_scale": 1e-4}),
        "lift_dqn_lr_div1000": lambda: lift_dqn(lr=1e-6),
        "hive_appo_grad_clip_tiny": lambda: hive_appo(grad_clip=1e-4),
        "hive_appo_reward_zero": lambda: hive_appo({"reward_zero": True}),
    }


def main(names):
    from benchmarks.run_store import make_labelled_runs

    unknown = [n for n in names if n not in LABELS]
    if unknown:
        raise SystemExit(f"unknown runs: {unknown}")
    make_labelled_runs(HERE, LABELS, configs(), TRACED, names)


if __name__ == "__main__":
    main(sys.argv[1:])
