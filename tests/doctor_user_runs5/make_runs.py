"""Batch 5: labelled RLlib 2.60 runs on my own envs (user_envs5.py).

Made in session 47 by a helper that, as a new user, never ran or read the doctor (16
runs, 4 healthy, ~35 minutes of training on 2 cores; the runs under NOT_MADE did not fit
its budget). Run from the repo root, one run at a time::

    .venv/bin/python tests/doctor_user_runs5/make_runs.py            # every run
    .venv/bin/python tests/doctor_user_runs5/make_runs.py NAME ...   # named runs
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (str(HERE.parents[1]), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import user_envs5 as U

# --------------------------------------------------------------------------------------
# Healthy settings (one place, so each fault differs from its twin in one thing only)
SORT = {"lr": 1e-3, "gamma": 0.9, "lambda_": 0.95, "train_batch_size": 2000, "minibatch_size": 250,
            "num_epochs": 6, "entropy_coeff": 0.0, "vf_clip_param": 10.0, "grad_clip": None, "iters": 20}
ROPE = {"lr": 1e-3, "gamma": 0.9, "train_batch_size": 64, "n_step": 3, "target_update": 250,
            "learning_starts": 500, "capacity": 50000, "eps_steps": 4000, "iters": 20}
SOLAR = {"actor_lr": 1e-3, "critic_lr": 1e-3, "alpha_lr": 1e-3, "gamma": 0.9, "target_entropy": "auto",
             "learning_starts": 1000, "capacity": 50000, "train_batch_size": 256, "iters": 20}
COURIER_PPO = {"lr": 1e-3, "gamma": 0.95, "lambda_": 0.95, "train_batch_size": 2000, "minibatch_size": 250,
                   "num_epochs": 6, "entropy_coeff": 0.01, "grad_clip": None, "iters": 20}
COURIER_APPO = {"lr": 1e-3, "gamma": 0.95, "train_batch_size": 1000, "entropy_coeff": 0.01,
                    "grad_clip": 40.0, "iters": 20}


def sort_ppo_old(env_config=None, **over):
    """PPO, OLD API stack, on the sorting line (MultiDiscrete actions, 500-step episodes)."""
    from ray.rllib.algorithms.ppo import PPOConfig

    h = {**SORT, **over}
    config = (
        PPOConfig()
        .api_stack(enable_rl_module_and_learner=False,
                   enable_env_runner_and_connector_v2=False)
        .environment(U.SortingLineEnv, env_config=dict(env_config or {}))
        .framework("torch")
        .env_runners(num_env_runners=0)
        .training(lr=h["lr"], gamma=h["gamma"], lambda_=h["lambda_"],
                  train_batch_size=h["train_batch_size"], minibatch_size=h["minibatch_size"],
                  num_epochs=h["num_epochs"], entropy_coeff=h["entropy_coeff"],
                  vf_clip_param=h["vf_clip_param"], grad_clip=h["grad_clip"],
                  model={"fcnet_hiddens": [64, 64]})
        .debugging(seed=0)
    )
    if over.get("grad_clip_by"):
        config.training(grad_clip_by=over["grad_clip_by"])
    return config, h["iters"]


def rope_dqn(env_config=None, **over):
    """DQN (double_q, dueling, 3-step) on the registered Tightrope-v0 (+10 per step)."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    h = {**ROPE, **over}
    config = (
        DQNConfig()
        .environment("Tightrope-v0", env_config=dict(env_config or {}))
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
        .reporting(min_sample_timesteps_per_iteration=300)
        .debugging(seed=0)
    )
    return config, h["iters"]


def solar_sac(env_config=None, **over):
    """SAC on the solar tracker (continuous action, Wh rewards, returns in thousands)."""
    from ray.rllib.algorithms.sac import SACConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    h = {**SOLAR, **over}
    config = (
        SACConfig()
        .environment(U.SolarTrackerEnv, env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0, rollout_fragment_length=4)
        .training(actor_lr=h["actor_lr"], critic_lr=h["critic_lr"], alpha_lr=h["alpha_lr"],
                  gamma=h["gamma"], target_entropy=h["target_entropy"],
                  train_batch_size_per_learner=h["train_batch_size"],
                  num_steps_sampled_before_learning_starts=h["learning_starts"],
                  replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                        "capacity": h["capacity"], "alpha": 0.6,
                                        "beta": 0.4},
                  training_intensity=h.get("training_intensity", 64))
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .reporting(min_sample_timesteps_per_iteration=500)
        .debugging(seed=0)
    )
    return config, h["iters"]


_EPISODE_PARITY: dict = {}


def courier_mapping(agent_id, episode, **kwargs):
    return "van" if agent_id == "van" else "drones"


def courier_mapping_swapped(agent_id, episode, **kwargs):
    """Swaps the two modules every other episode (the fault)."""
    key = getattr(episode, "id_", None) or id(episode)
    if key not in _EPISODE_PARITY:
        _EPISODE_PARITY[key] = len(_EPISODE_PARITY) % 2
    module = courier_mapping(agent_id, episode)
    if _EPISODE_PARITY[key]:
        module = "drones" if module == "van" else "van"
    return module


def _courier_common(config, env_config, mapping):
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return (
        config
        .environment(U.CourierSwarmEnv, env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0)
        .multi_agent(policies={"drones", "van"}, policy_mapping_fn=mapping)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .debugging(seed=0)
    )


def courier_ppo(env_config=None, mapping=courier_mapping, **over):
    """PPO (new stack), two modules: 'drones' (3 drones, joining at steps 0/4/8) and 'van'."""
    from ray.rllib.algorithms.ppo import PPOConfig

    h = {**COURIER_PPO, **over}
    config = _courier_common(PPOConfig(), env_config, mapping).training(
        lr=h["lr"], gamma=h["gamma"], lambda_=h["lambda_"],
        train_batch_size_per_learner=h["train_batch_size"],
        minibatch_size=h["minibatch_size"], num_epochs=h["num_epochs"],
        entropy_coeff=h["entropy_coeff"], grad_clip=h["grad_clip"])
    if over.get("grad_clip_by"):
        config.training(grad_clip_by=over["grad_clip_by"])
    return config, h["iters"]


def courier_appo(env_config=None, mapping=courier_mapping, **over):
    """APPO (new stack) on the same two-module courier env."""
    from ray.rllib.algorithms.appo import APPOConfig

    h = {**COURIER_APPO, **over}
    config = _courier_common(APPOConfig(), env_config, mapping).training(
        lr=h["lr"], gamma=h["gamma"], train_batch_size_per_learner=h["train_batch_size"],
        entropy_coeff=h["entropy_coeff"], grad_clip=h["grad_clip"],
        grad_clip_by=h.get("grad_clip_by", "global_norm"))
    return config, h["iters"]


# --------------------------------------------------------------------------------------
S = "PPO old API stack, SortingLineEnv (500-step episodes, MultiDiscrete([3,2])), lr 1e-3, gamma 0.9, lambda 0.95, train_batch 2000, minibatch 250, 6 epochs, entropy 0, vf_clip 10, fcnet [64,64], 20 iters"
R = "DQN new stack, Tightrope-v0 (registered, reward_threshold 4500, +10 per step alive, Discrete(9)), double_q, dueling, n_step 3, lr 1e-3, gamma 0.9, batch 64, target update 250, uniform EpisodeReplayBuffer capacity 50000, learning starts 500, eps 1->0.02 over 4000 steps, 300 steps/iter, fcnet [64,64], 20 iters"
P = "SAC new stack, SolarTrackerEnv (Box(1) action, Wh rewards up to 60/step, returns in thousands), actor/critic/alpha lr 1e-3, gamma 0.9, target_entropy auto, batch 256, learning starts 1000, training_intensity 64, 500 steps/iter, fcnet [64,64], 20 iters"
C = "PPO new stack, CourierSwarmEnv (4 agents: drone_0..2 -> module 'drones', joining at steps 0/4/8 and leaving when delivered; van -> module 'van'), lr 1e-3, gamma 0.95, lambda 0.95, train_batch 2000, minibatch 250, 6 epochs, entropy 0.01, fcnet [64,64], 20 iters"
A = "APPO new stack, CourierSwarmEnv (drones x3 -> 'drones', van -> 'van'), lr 1e-3, gamma 0.95, train_batch 1000, entropy 0.01, grad_clip 40, fcnet [64,64], 20 iters"

LABELS = {
    # sorting line, PPO old stack
    "sort_ppo_old_healthy": (f"healthy ({S})", None, None),
    "sort_ppo_old_lr_x100": (f"lr=0.1, 100x the healthy 1e-3; else as healthy ({S})", "lr_x100", None),
    "sort_ppo_old_vf_clip_low": (f"vf_clip_param=0.1 (healthy 10); per-step rewards -1..1.5, values ~10; else as healthy ({S})", "vf_clip_low", None),
    "sort_ppo_old_obs_zero": (f"env_config obs_zero: every observation all zeros (healthy: parcel class one-hot etc.); traced batches; else as healthy ({S})", "obs_zeroed", None),
    "sort_ppo_old_entropy1": (f"entropy_coeff=1.0 (healthy 0.0); else as healthy ({S})", "entropy_coeff_1", None),
    # tightrope, DQN
    "rope_dqn_healthy": (f"healthy ({R})", None, None),
    "rope_dqn_target_never": (f"target_network_update_freq=1e9 (healthy 250); else as healthy ({R})", "target_never_updated", None),
    "rope_dqn_term_as_trunc": (f"env_config terminated_as_truncated: the fall (true terminal) is reported as truncated; traced summary; else as healthy ({R})", "terminated_as_truncated", None),
    "rope_dqn_replay_below_batch": (f"replay buffer capacity=16 (healthy 50000) with train batch 32 (healthy 64); else as healthy ({R})", "replay_below_batch", None),
    # solar tracker, SAC
    "solar_sac_healthy": (f"healthy ({P})", None, None),
    "solar_sac_target_entropy_high": (f"target_entropy=5 (healthy auto = -1); else as healthy ({P})", "target_entropy_high", None),
    "solar_sac_learning_never_starts": (f"num_steps_sampled_before_learning_starts=1e6 (healthy 1000; run samples ~10000); else as healthy ({P})", "learning_never_starts", None),
    # courier swarm, PPO
    "courier_ppo_healthy": (f"healthy ({C})", None, None),
    "courier_ppo_agent1_x1000": (f"env_config agent1_reward_scale=1000: drone_1's rewards x1000 (drone_1 is mapped to module 'drones'); else as healthy ({C})", "agent1_reward_x1000", "drones"),
    "courier_ppo_modules_swap": (f"policy_mapping_fn swaps modules every other episode (drones->'van', van->'drones'); else as healthy ({C})", "modules_swap_per_episode", None),
    "courier_ppo_epochs_x10": (f"num_epochs=40 (healthy 6) on train batches of 200 (healthy 2000), minibatch 100; else as healthy ({C})", "epochs_x10_small_batch", None),
}

# Planned but not trained (the training budget ran out; the other job slowed the first runs).
NOT_MADE = {
    "rope_dqn_reward_x1000": (f"env_config reward_scale=1000: +10000 per step (healthy +10); else as healthy ({R})", "reward_x1000", None),
    "solar_sac_obs_x1e4": (f"env_config obs_scale=1e4: observations x1e4; traced batches; else as healthy ({P})", "obs_x1e4", None),
    "solar_sac_lr_x100": (f"actor_lr=critic_lr=0.1, 100x the healthy 1e-3 (alpha_lr stays 1e-3); else as healthy ({P})", "lr_x100", None),
    "solar_sac_reward_noise": (f"env_config reward_noise_std=10: Gaussian noise std 10 added to every reward; else as healthy ({P})", "reward_noise", None),
    "courier_ppo_gamma0": (f"gamma=0 (healthy 0.95) while the +5 delivery reward comes 4+ steps after the moves toward it; else as healthy ({C})", "gamma_0", None),
    "courier_appo_healthy": (f"healthy ({A})", None, None),
    "courier_appo_agent1_nan": (f"env_config agent1_nan_every=300: drone_1's reward (module 'drones') is NaN every 300th of its steps; else as healthy ({A})", "agent1_nan_reward", "drones"),
    "courier_appo_reward_zero": (f"env_config reward_zero: every reward 0; else as healthy ({A})", "reward_zero", None),
    "courier_appo_grad_clip_tiny": (f"grad_clip=1e-4 (healthy 40), grad_clip_by global_norm; else as healthy ({A})", "grad_clip_tiny", None),
}

TRACED = {
    "sort_ppo_old_obs_zero": "batches",
    "rope_dqn_term_as_trunc": "summary",
}


def configs():
    return {
        "sort_ppo_old_healthy": lambda: sort_ppo_old(),
        "sort_ppo_old_lr_x100": lambda: sort_ppo_old(lr=0.1),
        "sort_ppo_old_vf_clip_low": lambda: sort_ppo_old(vf_clip_param=0.1),
        "sort_ppo_old_obs_zero": lambda: sort_ppo_old({"obs_zero": True}),
        "sort_ppo_old_entropy1": lambda: sort_ppo_old(entropy_coeff=1.0),
        "rope_dqn_healthy": lambda: rope_dqn(),
        "rope_dqn_target_never": lambda: rope_dqn(target_update=int(1e9)),
        "rope_dqn_term_as_trunc": lambda: rope_dqn({"terminated_as_truncated": True}),
        "rope_dqn_replay_below_batch": lambda: rope_dqn(capacity=16, train_batch_size=32),
        "rope_dqn_reward_x1000": lambda: rope_dqn({"reward_scale": 1000.0}),
        "solar_sac_healthy": lambda: solar_sac(),
        "solar_sac_target_entropy_high": lambda: solar_sac(target_entropy=5.0),
        "solar_sac_learning_never_starts": lambda: solar_sac(learning_starts=int(1e6)),
        "solar_sac_obs_x1e4": lambda: solar_sac({"obs_scale": 1e4}),
        "solar_sac_lr_x100": lambda: solar_sac(actor_lr=0.1, critic_lr=0.1),
        "solar_sac_reward_noise": lambda: solar_sac({"reward_noise_std": 10.0}),
        "courier_ppo_healthy": lambda: courier_ppo(),
        "courier_ppo_agent1_x1000": lambda: courier_ppo({"agent1_reward_scale": 1000.0}),
        "courier_ppo_modules_swap": lambda: courier_ppo(mapping=courier_mapping_swapped),
        "courier_ppo_gamma0": lambda: courier_ppo(gamma=0.0),
        "courier_ppo_epochs_x10": lambda: courier_ppo(num_epochs=40, train_batch_size=200,
                                                      minibatch_size=100),
        "courier_appo_healthy": lambda: courier_appo(),
        "courier_appo_agent1_nan": lambda: courier_appo({"agent1_nan_every": 300}),
        "courier_appo_reward_zero": lambda: courier_appo({"reward_zero": True}),
        "courier_appo_grad_clip_tiny": lambda: courier_appo(grad_clip=1e-4),
    }


def main(names):
    from benchmarks.run_store import make_labelled_runs

    unknown = [n for n in names if n not in LABELS]
    if unknown:
        raise SystemExit(f"unknown runs: {unknown}")
    make_labelled_runs(HERE, LABELS, configs(), TRACED, names)


if __name__ == "__main__":
    main(sys.argv[1:])
