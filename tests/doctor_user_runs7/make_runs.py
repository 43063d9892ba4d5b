"""Batch 7: labelled RLlib 2.60 runs on my own envs (user_envs7.py).

Bases: PPO and IMPALA on the registered MineEnv ('mine_v0', large rewards), SAC on
PortfolioEnv (continuous, tiny rewards), DQN on the registered HighLowEnv ('highlow_v0',
+1/-1 only at the end), multi-agent APPO on TagEnv (hunters/runner modules).
Run one at a time::

    .venv/bin/python .../doctor_user_runs7/make_runs.py            # every run
    .venv/bin/python .../doctor_user_runs7/make_runs.py NAME ...   # named runs
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (str(HERE.parents[1]), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import user_envs7 as U

# --------------------------------------------------------------------------------------
# Healthy settings (one place per base; each fault differs from its twin in one thing)
MINE_PPO = {"lr": 1e-3, "gamma": 0.95, "lambda_": 0.95, "train_batch_size": 2000,
            "minibatch_size": 250, "num_epochs": 8, "entropy_coeff": 0.01,
            "vf_clip_param": 1e6, "grad_clip": None, "iters": 20}
MINE_IMPALA = {"lr": 1e-3, "gamma": 0.95, "train_batch_size": 500, "entropy_coeff": 0.01,
               "vf_loss_coeff": 0.5, "grad_clip": 40.0, "iters": 20}
PORT_SAC = {"actor_lr": 1e-3, "critic_lr": 1e-3, "alpha_lr": 1e-3, "gamma": 0.9,
            "initial_alpha": 1e-3, "target_entropy": "auto", "learning_starts": 1000,
            "capacity": 50000, "train_batch_size": 256, "training_intensity": 32,
            "iters": 20}
HL_DQN = {"lr": 1e-3, "gamma": 0.99, "train_batch_size": 64, "n_step": 1,
          "target_update": 500, "learning_starts": 500, "capacity": 50000,
          "eps_steps": 5000, "steps_per_iter": 800, "iters": 20}
TAG_APPO = {"lr": 1e-3, "gamma": 0.95, "train_batch_size": 1000, "entropy_coeff": 0.01,
            "grad_clip": 40.0, "iters": 20}


def mine_ppo(env_config=None, **over):
    """PPO (new stack) on MineEnv registered via register_env('mine_v0')."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    U.register_all()
    h = {**MINE_PPO, **over}
    config = (
        PPOConfig()
        .environment("mine_v0", env_config=dict(env_config or {}))
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


def mine_impala(env_config=None, **over):
    """IMPALA (new stack) on the same registered 'mine_v0'."""
    from ray.rllib.algorithms.impala import IMPALAConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    U.register_all()
    h = {**MINE_IMPALA, **over}
    config = (
        IMPALAConfig()
        .environment("mine_v0", env_config=dict(env_config or {}))
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


def port_sac(env_config=None, **over):
    """SAC (new stack) on PortfolioEnv (class), Box(2,) positions."""
    from ray.rllib.algorithms.sac import SACConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    h = {**PORT_SAC, **over}
    config = (
        SACConfig()
        .environment(U.PortfolioEnv, env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0, rollout_fragment_length=4)
        .training(actor_lr=h["actor_lr"], critic_lr=h["critic_lr"], alpha_lr=h["alpha_lr"],
                  gamma=h["gamma"], initial_alpha=h["initial_alpha"],
                  target_entropy=h["target_entropy"],
                  train_batch_size_per_learner=h["train_batch_size"],
                  num_steps_sampled_before_learning_starts=h["learning_starts"],
                  replay_buffer_config={"type": "EpisodeReplayBuffer",
                                        "capacity": h["capacity"]},
                  training_intensity=h["training_intensity"])
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .reporting(min_sample_timesteps_per_iteration=500)
        .debugging(seed=0)
    )
    return config, h["iters"]


def hl_dqn(env_config=None, **over):
    """DQN (new stack, double_q, dueling) on HighLowEnv registered as 'highlow_v0'."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    U.register_all()
    h = {**HL_DQN, **over}
    config = (
        DQNConfig()
        .environment("highlow_v0", env_config=dict(env_config or {}))
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


def tag_mapping(agent_id, episode, **kwargs):
    return "runner" if agent_id == "runner" else "hunters"


def tag_mapping_swapped(agent_id, episode, **kwargs):
    """The fault: every other episode hunters -> 'runner' and runner -> 'hunters'."""
    key = getattr(episode, "id_", None) or id(episode)
    if key not in _EPISODE_PARITY:
        _EPISODE_PARITY[key] = len(_EPISODE_PARITY) % 2
    module = tag_mapping(agent_id, episode)
    if _EPISODE_PARITY[key]:
        module = "hunters" if module == "runner" else "runner"
    return module


def tag_appo(env_config=None, mapping=tag_mapping, **over):
    """APPO (new stack), multi-agent TagEnv: hunter_0/1 -> 'hunters', runner -> 'runner'."""
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    h = {**TAG_APPO, **over}
    config = (
        APPOConfig()
        .environment(U.TagEnv, env_config=dict(env_config or {}))
        .env_runners(num_env_runners=0, rollout_fragment_length=50)
        .multi_agent(policies={"hunters", "runner"}, policy_mapping_fn=mapping)
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
MP = "PPO new stack, MineEnv via register_env 'mine_v0' (3 ore veins, Discrete(4): mine vein i pays 3000*grade-1200, or stand down for 0; 100-step episodes, truncated only; per-step rewards -1200..+1800), lr 1e-3, gamma 0.95, lambda 0.95, train_batch 2000, minibatch 250, 8 epochs, entropy 0.01, vf_clip 1e6, fcnet [64,64], 20 iters; random policy +6.6k per episode (always-vein-0 -113k, scripted richest-vein-or-stand-down +16.5k; note a blind state-independent policy standing down 50-70% of the time also gets ~+15.2k..+15.3k); a tuning run of this exact healthy config went +5.2k -> +15.3k in 20 iters"
MI = "IMPALA new stack, MineEnv via register_env 'mine_v0' (per-step rewards -1200..+1800), lr 1e-3, gamma 0.95, train_batch 500, rollout_fragment 50, entropy 0.01, vf_loss_coeff 0.5, grad_clip 40, >=2000 env steps/iter, fcnet [64,64], 20 iters; random policy +6.6k per episode (scripted +16.5k; a blind state-independent policy standing down 50-70% of the time gets ~+15.2k..+15.3k); a tuning run of this exact healthy config went +5.9k -> +15.9k in 20 iters"
PS = "SAC new stack, PortfolioEnv (class; Box(2,) positions in [-1,1] on two assets with an observed AR(1) signal; per-step reward ~0.002 = position . return - 0.0005 turnover; 100-step episodes, truncated only), actor/critic/alpha lr 1e-3, gamma 0.9, initial_alpha 1e-3, target_entropy auto (-2), batch 256, EpisodeReplayBuffer 50000, learning starts 1000, training_intensity 32, 500 steps/iter, fcnet [64,64], 20 iters; random policy -0.066 per episode (flat 0, scripted sign-of-signal +0.435); a tuning run of this exact healthy config went -0.09 -> +0.24 in 20 iters (+0.26 at iter 15)"
HD = "DQN new stack, HighLowEnv via register_env 'highlow_v0' (card game, Discrete(3) higher/lower/cash-out; +1 for cashing out after 3 right guesses, -1 for a wrong guess or an early cash-out, 0 otherwise; episodes 1-4 steps), double_q, dueling, n_step 1, lr 1e-3, gamma 0.99, batch 64, target update 500, EpisodeReplayBuffer 50000, learning starts 500, eps 1->0.02 over 5000 steps, 800 steps/iter, fcnet [64,64], 20 iters; random policy -0.95 per episode (scripted -0.11); a tuning run of this exact healthy config went -0.91 -> +0.03 in 20 iters"
TA = "APPO new stack, multi-agent TagEnv (7x7 grid; hunter_0, hunter_1 -> module 'hunters'; runner -> module 'runner'; capture ends the episode with +1 per hunter and -1 for the runner, hunters -0.02/step, runner +0.02/step and +0.3 per coin; truncated at 50 steps), lr 1e-3, gamma 0.95, train_batch 1000, rollout_fragment 50, entropy 0.01, grad_clip 40 global_norm, >=2000 env steps/iter, fcnet [64,64], 20 iters; random play: hunter +0.45, runner -0.40 per episode, 20.5 steps (scripted chasing hunters vs random runner: hunter +0.93, 3.5 steps); a tuning run of this exact healthy config went hunters module (summed over both hunters) +0.69 -> +1.19, runner -0.31 -> -0.55, episode length 24.7 -> 17.0, episode return (sum of 3 agents) +0.37 -> +0.65, not monotone (hunters +0.16 at iter 10) as both sides learn"

LABELS = {
    # mine, PPO
    "mine_ppo_healthy": (f"healthy ({MP})", None, None),
    "mine_ppo_vf_clip_low": (f"vf_clip_param=1.0 (healthy 1e6; per-step rewards in the hundreds-thousands, returns ~1e4); else as healthy ({MP})", "vf_clip_low", None),
    "mine_ppo_nan_traced": (f"env_config nan_every=300: every 300th env step's reward is NaN; traced batches; else as healthy ({MP})", "nan_reward_traced", None),
    "mine_ppo_epochs_x10": (f"num_epochs=80 (healthy 8) on train batches of 200 (healthy 2000), minibatch 100; else as healthy ({MP})", "epochs_x10_small_batch", None),
    "mine_ppo_obs_x1e4": (f"env_config obs_scale=1e4: every observation x1e4; traced summary; else as healthy ({MP})", "obs_x1e4", None),
    # mine, IMPALA
    "mine_impala_healthy": (f"healthy ({MI})", None, None),
    "mine_impala_reward_x1000": (f"env_config reward_scale=1000: every reward x1000 (per-step up to ~1.8e6); else as healthy ({MI})", "reward_x1000", None),
    "mine_impala_obs_zeroed": (f"env_config obs_zero: every observation all zeros; traced summary; else as healthy ({MI})", "obs_zeroed", None),
    "mine_impala_reward_noise": (f"env_config reward_noise_std=2000: Gaussian noise std 2000 added to every per-step reward (rewards -1200..+1800); else as healthy ({MI})", "reward_noise", None),
    # portfolio, SAC
    "port_sac_healthy": (f"healthy ({PS})", None, None),
    "port_sac_target_entropy_high": (f"target_entropy=10 (healthy auto = -2 for the Box(2,) action); else as healthy ({PS})", "target_entropy_high", None),
    "port_sac_replay_below_batch": (f"replay buffer capacity=100 (healthy 50000) with train batch 256; else as healthy ({PS})", "replay_below_batch", None),
    "port_sac_lr_x100": (f"actor_lr=critic_lr=0.1, 100x the healthy 1e-3 (alpha_lr stays 1e-3); else as healthy ({PS})", "lr_x100", None),
    "port_sac_reward_x1e-4": (f"env_config reward_scale=1e-4: every reward x1e-4 (per-step ~2e-7); else as healthy ({PS})", "reward_x1e-4", None),
    # high-low, DQN
    "hl_dqn_healthy": (f"healthy ({HD})", None, None),
    "hl_dqn_target_never_updated": (f"target_network_update_freq=10**9 (healthy 500): the target network is never updated in the ~16000 sampled steps; else as healthy ({HD})", "target_never_updated", None),
    "hl_dqn_learning_never_starts": (f"num_steps_sampled_before_learning_starts=10**6 (healthy 500; the run samples ~16000 steps); else as healthy ({HD})", "learning_never_starts", None),
    "hl_dqn_reward_sign_flipped": (f"env_config reward_sign_flip: every reward negated (+1 for a wrong guess or early cash-out, -1 for a win); else as healthy ({HD})", "reward_sign_flipped", None),
    "hl_dqn_term_as_trunc": (f"env_config terminated_as_truncated: every real game end (wrong guess or cash-out) reported as truncated=True, terminated=False; traced batches; else as healthy ({HD})", "terminated_as_truncated", None),
    "hl_dqn_nan_reward": (f"env_config nan_every=300: every 300th env step's reward is NaN; not traced; else as healthy ({HD})", "nan_reward", None),
    # tag, APPO multi-agent
    "tag_appo_healthy": (f"healthy ({TA})", None, None),
    "tag_appo_agent1_x1000": (f"env_config agent1_reward_scale=1000: hunter_1's rewards x1000 (module 'hunters'); else as healthy ({TA})", "agent1_reward_x1000", "hunters"),
    "tag_appo_agent1_nan": (f"env_config agent1_nan_every=300: hunter_1's reward (module 'hunters') is NaN every 300th of its steps; else as healthy ({TA})", "agent1_nan_reward", "hunters"),
    "tag_appo_modules_swap": (f"policy_mapping_fn swaps modules every other episode (hunters -> 'runner', runner -> 'hunters'; all obs are Box(8,), so the swap runs); else as healthy ({TA})", "modules_swap_per_episode", None),
    "tag_appo_gamma_0": (f"gamma=0 (healthy 0.95); the hunters' +1 comes only at the capture, several moves after the chase that earns it; else as healthy ({TA})", "gamma_0", None),
}

TRACED = {
    "mine_ppo_nan_traced": "batches",
    "mine_ppo_obs_x1e4": "summary",
    "mine_impala_obs_zeroed": "summary",
    "hl_dqn_term_as_trunc": "batches",
}


def configs():
    return {
        "mine_ppo_healthy": lambda: mine_ppo(),
        "mine_ppo_vf_clip_low": lambda: mine_ppo(vf_clip_param=1.0),
        "mine_ppo_nan_traced": lambda: mine_ppo({"nan_every": 300}),
        "mine_ppo_epochs_x10": lambda: mine_ppo(num_epochs=80, train_batch_size=200,
                                                minibatch_size=100),
        "mine_ppo_obs_x1e4": lambda: mine_ppo({"obs_scale": 1e4}),
        "mine_impala_healthy": lambda: mine_impala(),
        "mine_impala_reward_x1000": lambda: mine_impala({"reward_scale": 1000.0}),
        "mine_impala_obs_zeroed": lambda: mine_impala({"obs_zero": True}),
        "mine_impala_reward_noise": lambda: mine_impala({"reward_noise_std": 2000.0}),
        "port_sac_healthy": lambda: port_sac(),
        "port_sac_target_entropy_high": lambda: port_sac(target_entropy=10.0),
        "port_sac_replay_below_batch": lambda: port_sac(capacity=100),
        "port_sac_lr_x100": lambda: port_sac(actor_lr=0.1, critic_lr=0.1),
        "port_sac_reward_x1e-4": lambda: port_sac({"reward_scale": 1e-4}),
        "hl_dqn_healthy": lambda: hl_dqn(),
        "hl_dqn_target_never_updated": lambda: hl_dqn(target_update=10**9),
        "hl_dqn_learning_never_starts": lambda: hl_dqn(learning_starts=10**6),
        "hl_dqn_reward_sign_flipped": lambda: hl_dqn({"reward_sign_flip": True}),
        "hl_dqn_term_as_trunc": lambda: hl_dqn({"terminated_as_truncated": True}),
        "hl_dqn_nan_reward": lambda: hl_dqn({"nan_every": 300}),
        "tag_appo_healthy": lambda: tag_appo(),
        "tag_appo_agent1_x1000": lambda: tag_appo({"agent1_reward_scale": 1000.0}),
        "tag_appo_agent1_nan": lambda: tag_appo({"agent1_nan_every": 300}),
        "tag_appo_modules_swap": lambda: tag_appo(mapping=tag_mapping_swapped),
        "tag_appo_gamma_0": lambda: tag_appo(gamma=0.0),
    }


def main(names):
    from benchmarks.run_store import make_labelled_runs

    unknown = [n for n in names if n not in LABELS]
    if unknown:
        raise SystemExit(f"unknown runs: {unknown}")
    make_labelled_runs(HERE, LABELS, configs(), TRACED, names)


if __name__ == "__main__":
    main(sys.argv[1:])
