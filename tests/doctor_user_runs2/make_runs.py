"""Regenerate the second batch of runs a new user made on envs of their own, labelled
before the doctor read them: like ``tests/doctor_user_runs``, a check of the doctor
independent of its rules and of the fault-injection benchmark.

A helper (session 39) wrote the envs (``user_envs2.py``: Inventory, costs <= 0, with APPO
and IMPALA; KeyDoor, a sparse key-then-door room, with PPO and DQN; Thermostat, a 1-D Box
action, with PPO; TurnTrack, a two-player turn-based game with a module per player) and
the configs as a new user would, tuned each healthy config until it learned, planted one
fault per run from the benchmark's operators (``benchmarks/doctor_faults/operators.py``),
wrote ``labels.json`` from how each run was made, and never ran the doctor. Its SAC
Thermostat did not learn in two configs, so no SAC run is here. About 50 minutes on 2
cores; run from the repo root, one run at a time::

    .venv/bin/python tests/doctor_user_runs2/make_runs.py            # every run
    .venv/bin/python tests/doctor_user_runs2/make_runs.py NAME ...   # named runs

Each run is trained with ``rldebug.run`` and stored stripped as the benchmark stores its
runs (``benchmarks.run_store.copy_trial``); a run that crashed before its first
iteration keeps its ``error.txt`` and an empty ``result.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

# run -> (how it was made, operator, module the fault concerns)
LABELS = {
    "keydoor_ppo_healthy": ("healthy (PPO, sparse key-then-door, 100-step limit)", None, None),
    "keydoor_ppo_gamma0": ("gamma=0 with a reward only at the door", "gamma_0", None),
    "keydoor_ppo_entropy1": ("entropy_coeff=1.0 (healthy uses 0.01)", "entropy_coeff_1", None),
    "keydoor_ppo_door_trunc": (("door reached reported as truncated, not terminated (traced "
                                "summary)"), "terminated_as_truncated", None),
    "keydoor_dqn_healthy": ("healthy (DQN, n_step 3, target update every 200 steps)", None, None),
    "keydoor_dqn_no_target": ("target_network_update_freq=1e9: target never synced",
                              "target_never_updated", None),
    "keydoor_dqn_tiny_replay": (("replay capacity 16 below the 32 train batch, learning "
                                 "starts at 0"), "replay_below_batch", None),
    "inventory_appo_healthy": ("healthy (APPO, all rewards are costs <= 0)", None, None),
    "inventory_appo_lr100": ("lr=0.5, 100x the healthy 5e-3", "lr_x100", None),
    "inventory_appo_obs_zero": ("observations all zeros (env bug, untraced)", "obs_zeroed", None),
    "inventory_impala_healthy": ("healthy (IMPALA lr 2e-3, entropy 0.01, rewards are costs <= 0)", None, None),
    "inventory_impala_sign": ("reward returned as +cost instead of -cost",
                              "reward_sign_flipped", None),
    "thermo_ppo_healthy": ("healthy (PPO, returns ~-50..-500, vf_clip_param=1e9)", None, None),
    "thermo_ppo_vfclip": ("vf_clip_param=0.1 with returns in the hundreds", "vf_clip_low",
                          None),
    "turntrack_ppo_healthy": ("healthy (2-player turn-based, modules p0/p1)", None, None),
    "turntrack_ppo_p1_x1000": ("player p1's rewards x1000 in the env", "agent1_reward_x1000",
                               "p1"),
    "turntrack_ppo_p1_nan": ("player p1's reward NaN every 300 of its turns",
                             "agent1_nan_reward", "p1"),
}

TRACED = {"keydoor_ppo_door_trunc": "summary"}


def ppo(env, env_cfg=None, iters=25, batch=1000, **train):
    from ray.rllib.algorithms.ppo import PPOConfig

    train = {"lr": 3e-4, "entropy_coeff": 0.01, **train}
    config = (PPOConfig().environment(env, env_config=env_cfg or {})
              .env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=batch, minibatch_size=128, num_epochs=6,
                        **train)
              .rl_module(model_config={"fcnet_hiddens": [64, 64]})
              .debugging(seed=0))
    return config, iters


def vtrace(cls_name, env_cfg=None, iters=30, **train):
    import user_envs2
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.impala import IMPALAConfig

    cls = {"appo": APPOConfig, "impala": IMPALAConfig}[cls_name]
    train = {"lr": 5e-3, "gamma": 0.9, "vf_loss_coeff": 0.05, "entropy_coeff": 0.0, **train}
    return (cls().environment(user_envs2.Inventory, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, rollout_fragment_length=50)
            .training(train_batch_size_per_learner=200, **train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=0)), iters


def keydoor_dqn(env_cfg=None, iters=25, **train):
    import user_envs2
    from ray.rllib.algorithms.dqn import DQNConfig

    train = {"lr": 5e-4, "train_batch_size_per_learner": 32, "target_network_update_freq": 200,
             "n_step": 3, "epsilon": [(0, 1.0), (8000, 0.05)],
             "num_steps_sampled_before_learning_starts": 500,
             "replay_buffer_config": {"type": "PrioritizedEpisodeReplayBuffer",
                                      "capacity": 20000}, **train}
    return (DQNConfig().environment(user_envs2.KeyDoor, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, rollout_fragment_length=4)
            .training(**train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=600)
            .debugging(seed=0)), iters


def same_name(agent_id, episode=None, **kwargs):
    return agent_id  # player p0 -> module p0, player p1 -> module p1


def turntrack(env_cfg=None):
    import user_envs2

    config, iters = ppo(user_envs2.TurnTrack, env_cfg, iters=20, lr=1e-3)
    return config.multi_agent(policies={"p0", "p1"}, policy_mapping_fn=same_name), iters


def configs():
    import user_envs2 as e

    kd = {"lr": 1e-3}
    imp = {"lr": 2e-3, "entropy_coeff": 0.01}
    th = {"vf_clip_param": 1e9, "lr": 1e-3, "gamma": 0.95}
    return {
        "keydoor_ppo_healthy": lambda: ppo(e.KeyDoor, **kd),
        "keydoor_ppo_gamma0": lambda: ppo(e.KeyDoor, **kd, gamma=0.0),
        "keydoor_ppo_entropy1": lambda: ppo(e.KeyDoor, **{**kd, "entropy_coeff": 1.0}),
        "keydoor_ppo_door_trunc": lambda: ppo(e.KeyDoor, {"door_truncates": True}, **kd),
        "keydoor_dqn_healthy": lambda: keydoor_dqn(),
        "keydoor_dqn_no_target": lambda: keydoor_dqn(target_network_update_freq=10 ** 9),
        "keydoor_dqn_tiny_replay": lambda: keydoor_dqn(
            replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer", "capacity": 16},
            num_steps_sampled_before_learning_starts=0),
        "inventory_appo_healthy": lambda: vtrace("appo"),
        "inventory_appo_lr100": lambda: vtrace("appo", lr=0.5),
        "inventory_appo_obs_zero": lambda: vtrace("appo", {"obs_zero": True}),
        "inventory_impala_healthy": lambda: vtrace("impala", **imp),
        "inventory_impala_sign": lambda: vtrace("impala", {"sign_flipped": True}, **imp),
        "thermo_ppo_healthy": lambda: ppo(e.Thermostat, **th),
        "thermo_ppo_vfclip": lambda: ppo(e.Thermostat, **{**th, "vf_clip_param": 0.1}),
        "turntrack_ppo_healthy": lambda: turntrack(),
        "turntrack_ppo_p1_x1000": lambda: turntrack({"a1_scale": 1000.0}),
        "turntrack_ppo_p1_nan": lambda: turntrack({"a1_nan_every": 300}),
    }


def main(names: list[str]) -> None:
    from benchmarks.run_store import make_labelled_runs

    make_labelled_runs(HERE, LABELS, configs(), TRACED, names)


if __name__ == "__main__":
    main(sys.argv[1:])
