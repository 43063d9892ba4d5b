"""Regenerate the third batch of runs a new user made on envs of their own, labelled by
how each was made, before any diagnosis tool read them.

Envs (``user_envs3.py``): QueueLight (traffic light, costs <= 0, 200-step episodes) with
PPO and APPO; PointReach (2-D continuous point-to-target, dense -distance) with SAC;
Delivery (Dict observation, flattened by a FlattenObservations env-to-module connector;
sparse +100 at the goal) with PPO and DQN; Forage
(multi-agent foraging) with PPO, three foragers sharing one module ("shared") and a
red/blue pair with a module each ("duo"). Healthy configs were tuned until they learned;
each faulty run plants one fault operator from ``benchmarks/doctor_faults/operators.py``
on top of its healthy config and trains the same number of iterations. Traced runs:
queue_ppo_obs1e4 (batches), point_sac_nan and delivery_ppo_goal_trunc (summary). The whole
batch took about 25 minutes of training on 2 cores (session 43; the helper that made it,
as a new user, never ran the doctor). Run from the repo root, one run at a time::

    .venv/bin/python tests/doctor_user_runs3/make_runs.py            # every run
    .venv/bin/python tests/doctor_user_runs3/make_runs.py NAME ...   # named runs

Each run is trained with ``rldebug.run`` and stored stripped with
``benchmarks.run_store.copy_trial``; a run that crashed before its first iteration keeps
its ``error.txt`` and an empty ``result.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

# run -> (how it was made, operator, module the fault concerns)
LABELS = {
    # QueueLight, PPO
    "queue_ppo_healthy": (("healthy (PPO, traffic light, rewards are costs <= 0, 200-step "
                           "episodes, vf_clip_param=1000)"), None, None),
    "queue_ppo_lr100": ("lr=0.1, 100x the healthy 1e-3", "lr_x100", None),
    "queue_ppo_vfclip": ("vf_clip_param=0.1 with returns in the hundreds (healthy 1000)",
                         "vf_clip_low", None),
    "queue_ppo_obs1e4": (("env bug: observations x1e4 (queue lengths not normalised), "
                          "traced batches"), "obs_x1e4", None),
    # QueueLight, APPO
    "queue_appo_healthy": ("healthy (APPO lr 3e-3, gamma 0.95, traffic light, rewards are costs <= 0)", None, None),
    "queue_appo_sign": ("env bug: reward returned as +cost instead of -cost",
                        "reward_sign_flipped", None),
    "queue_appo_gradclip": ("grad_clip=1e-4 by global_norm (healthy: 40)",
                            "grad_clip_tiny", None),
    # PointReach, SAC
    "point_sac_healthy": (("healthy (SAC, 2-D point to target, dense -distance reward, lrs 1e-3, "
                           "initial_alpha 0.2, gamma 0.9)"),
                          None, None),
    "point_sac_lrdiv1000": ("actor_lr=1e-6, critic_lr=1e-6: 1/1000 of the healthy 1e-3",
                            "lr_div1000", None),
    "point_sac_target_ent": ("target_entropy=5.0 (2-D actions; healthy 'auto' = -2)",
                             "target_entropy_high", None),
    "point_sac_no_learn": ("num_steps_sampled_before_learning_starts=1e9 (healthy 500)",
                           "learning_never_starts", None),
    "point_sac_nan": ("env bug: a NaN reward every 300 steps, traced summary",
                      "nan_reward", None),
    # Delivery, PPO
    "delivery_ppo_healthy": ("healthy (PPO, Dict obs flattened, +100 only at the goal)",
                             None, None),
    "delivery_ppo_gamma0": ("gamma=0 with a reward only at the goal (healthy 0.99)",
                            "gamma_0", None),
    "delivery_ppo_entropy1": ("entropy_coeff=1.0 (healthy 0.01)", "entropy_coeff_1", None),
    "delivery_ppo_goal_trunc": (("env bug: goal reached reported as truncated, not "
                                 "terminated; traced summary"), "terminated_as_truncated",
                                None),
    "delivery_ppo_reward_zero": ("env bug: reward always 0 (goal bonus never paid)",
                                 "reward_zero", None),
    # Delivery, DQN
    "delivery_dqn_healthy": (("healthy (DQN, Dict obs flattened, target update every 500 "
                              "steps, +100 only at the goal)"), None, None),
    "delivery_dqn_no_target": ("target_network_update_freq=1e9: target never synced",
                               "target_never_updated", None),
    # Forage, PPO multi-agent
    "forage_shared_healthy": ("healthy (PPO, 3 foragers all mapped to one module 'shared')",
                              None, None),
    "forage_shared_a1_x1000": ("env bug: forager_1's rewards x1000 (module 'shared')",
                               "agent1_reward_x1000", "shared"),
    "forage_duo_healthy": ("healthy (PPO, forager_0 -> module 'red', forager_1 -> 'blue')",
                           None, None),
    "forage_duo_a1_nan": (("env bug: forager_1's reward NaN every 300 of its steps (module "
                           "'blue')"), "agent1_nan_reward", "blue"),
    "forage_duo_swap": (("mapping bug: forager_0/forager_1 swap modules red/blue every "
                         "other episode"), "modules_swap_per_episode", None),
}

TRACED = {"queue_ppo_obs1e4": "batches", "point_sac_nan": "summary",
          "delivery_ppo_goal_trunc": "summary"}


# ----------------------------------------------------------------------------- configs

def queue_ppo(env_cfg=None, iters=20, **train):
    import user_envs3
    from ray.rllib.algorithms.ppo import PPOConfig

    train = {"lr": 1e-3, "gamma": 0.98, "entropy_coeff": 0.01, "vf_clip_param": 1000.0,
             **train}
    return (PPOConfig().environment(user_envs3.QueueLight, env_config=env_cfg or {})
            .env_runners(num_env_runners=0)
            .training(train_batch_size_per_learner=2000, minibatch_size=128, num_epochs=6,
                      **train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .debugging(seed=0)), iters


def queue_appo(env_cfg=None, iters=50, **train):
    import user_envs3
    from ray.rllib.algorithms.appo import APPOConfig

    train = {"lr": 3e-3, "gamma": 0.95, "vf_loss_coeff": 0.5, "entropy_coeff": 0.01,
             **train}
    return (APPOConfig().environment(user_envs3.QueueLight, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, rollout_fragment_length=50)
            .training(train_batch_size_per_learner=200, **train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=0)), iters


def point_sac(env_cfg=None, iters=10, **train):
    import user_envs3
    from ray.rllib.algorithms.sac import SACConfig

    train = {"actor_lr": 1e-3, "critic_lr": 1e-3, "alpha_lr": 1e-3, "gamma": 0.9,
             "initial_alpha": 0.2, "train_batch_size_per_learner": 128,
             "num_steps_sampled_before_learning_starts": 500,
             "replay_buffer_config": {"type": "EpisodeReplayBuffer", "capacity": 50000},
             **train}
    return (SACConfig().environment(user_envs3.PointReach, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, rollout_fragment_length=4)
            .training(**train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=0)), iters


def _flatten(env=None, spaces=None, device=None):
    from ray.rllib.connectors.env_to_module import FlattenObservations

    return FlattenObservations()


def delivery_ppo(env_cfg=None, iters=25, **train):
    import user_envs3
    from ray.rllib.algorithms.ppo import PPOConfig

    train = {"lr": 1e-3, "gamma": 0.99, "entropy_coeff": 0.01, **train}
    return (PPOConfig().environment(user_envs3.Delivery, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, env_to_module_connector=_flatten)
            .training(train_batch_size_per_learner=1000, minibatch_size=128, num_epochs=6,
                      **train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .debugging(seed=0)), iters


def delivery_dqn(env_cfg=None, iters=25, **train):
    import user_envs3
    from ray.rllib.algorithms.dqn import DQNConfig

    train = {"lr": 5e-4, "gamma": 0.99, "train_batch_size_per_learner": 32,
             "target_network_update_freq": 500, "n_step": 3,
             "epsilon": [(0, 1.0), (8000, 0.05)],
             "num_steps_sampled_before_learning_starts": 500,
             "replay_buffer_config": {"type": "PrioritizedEpisodeReplayBuffer",
                                      "capacity": 20000}, **train}
    return (DQNConfig().environment(user_envs3.Delivery, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, rollout_fragment_length=4,
                         env_to_module_connector=_flatten)
            .training(**train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=600)
            .debugging(seed=0)), iters


def to_shared(agent_id, episode=None, **kwargs):
    return "shared"  # every forager uses the one module


def to_colour(agent_id, episode=None, **kwargs):
    return {"forager_0": "red", "forager_1": "blue"}[agent_id]


def swapping_colour(agent_id, episode=None, **kwargs):
    """The user's mapping bug: which forager gets which module flips by episode."""
    flip = hash(getattr(episode, "id_", "")) % 2
    return ("red", "blue")[(agent_id == "forager_1") != bool(flip)]


def forage(mode, env_cfg=None, iters=None, mapping=None, **train):
    import user_envs3
    from ray.rllib.algorithms.ppo import PPOConfig

    train = {"lr": 1e-3, "gamma": 0.95, "entropy_coeff": 0.01, **train}
    config = (PPOConfig().environment(user_envs3.Forage,
                                      env_config={"mode": mode, **(env_cfg or {})})
              .env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=2000, minibatch_size=128, num_epochs=6,
                        **train)
              .rl_module(model_config={"fcnet_hiddens": [64, 64]})
              .debugging(seed=0))
    if mode == "shared":
        config = config.multi_agent(policies={"shared"}, policy_mapping_fn=to_shared)
        iters = iters or 15
    else:
        iters = iters or 20
        config = config.multi_agent(policies={"red", "blue"},
                                    policy_mapping_fn=mapping or to_colour)
    return config, iters


def configs():
    return {
        "queue_ppo_healthy": lambda: queue_ppo(),
        "queue_ppo_lr100": lambda: queue_ppo(lr=0.1),
        "queue_ppo_vfclip": lambda: queue_ppo(vf_clip_param=0.1),
        "queue_ppo_obs1e4": lambda: queue_ppo({"obs_scale": 1e4}),
        "queue_appo_healthy": lambda: queue_appo(),
        "queue_appo_sign": lambda: queue_appo({"reward_sign_flipped": True}),
        "queue_appo_gradclip": lambda: queue_appo(grad_clip=1e-4, grad_clip_by="global_norm"),
        "point_sac_healthy": lambda: point_sac(),
        "point_sac_lrdiv1000": lambda: point_sac(actor_lr=1e-6, critic_lr=1e-6),
        "point_sac_target_ent": lambda: point_sac(target_entropy=5.0),
        "point_sac_no_learn": lambda: point_sac(
            num_steps_sampled_before_learning_starts=10 ** 9),
        "point_sac_nan": lambda: point_sac({"nan_reward_every": 300}),
        "delivery_ppo_healthy": lambda: delivery_ppo(),
        "delivery_ppo_gamma0": lambda: delivery_ppo(gamma=0.0),
        "delivery_ppo_entropy1": lambda: delivery_ppo(entropy_coeff=1.0),
        "delivery_ppo_goal_trunc": lambda: delivery_ppo({"terminated_as_truncated": True}),
        "delivery_ppo_reward_zero": lambda: delivery_ppo({"reward_constant": 0.0}),
        "delivery_dqn_healthy": lambda: delivery_dqn(),
        "delivery_dqn_no_target": lambda: delivery_dqn(target_network_update_freq=10 ** 9),
        "forage_shared_healthy": lambda: forage("shared"),
        "forage_shared_a1_x1000": lambda: forage("shared", {"fault_agent": 1,
                                                            "reward_scale": 1000.0}),
        "forage_duo_healthy": lambda: forage("duo"),
        "forage_duo_a1_nan": lambda: forage("duo", {"fault_agent": 1,
                                                    "nan_reward_every": 300}),
        "forage_duo_swap": lambda: forage("duo", mapping=swapping_colour),
    }


def main(names: list[str]) -> None:
    from benchmarks.run_store import make_labelled_runs

    make_labelled_runs(HERE, LABELS, configs(), TRACED, names)


if __name__ == "__main__":
    main(sys.argv[1:])
