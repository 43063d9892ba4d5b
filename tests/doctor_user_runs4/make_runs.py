"""Regenerate the fourth batch of runs a new user made on envs of their own, labelled by
how each was made, before any diagnosis tool read them.

Envs (``user_envs4.py``): Catch (8x6x2 image-like Box read by a flat MLP through a
FlattenObservations connector, +1 catch / -1 miss) with PPO and DQN; Battery (price
arbitrage, rewards in dollars of both signs, 240-step episodes) with PPO on the new stack,
PPO on the old API stack, and APPO; Hover (2-D drone, Box(2) thrust, +1 per step alive,
crash terminates) with SAC; Canal (4 farms on an irrigation canal, multi-agent, modules
"head" and "tail") with PPO. Healthy configs were tuned until they learned; each faulty
run plants one fault on top of its healthy config and trains the same number of
iterations. Traced runs: catch_ppo_obs_zero (batches), battery_ppo_gamma05 and
hover_sac_crash_trunc (summary). The whole batch took about 27 minutes of training on 2
cores (session 46; the helper that made it, as a new user, never ran the doctor). Run
from the repo root, one run at a time::

    .venv/bin/python tests/doctor_user_runs4/make_runs.py            # every run
    .venv/bin/python tests/doctor_user_runs4/make_runs.py NAME ...   # named runs

Each run is trained with ``rldebug.run`` and stored stripped with
``benchmarks.run_store.copy_trial`` in ``runs/<name>``; labels go to ``labels.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

# run -> (how it was made, operator, module the fault concerns)
LABELS = {
    # Catch, PPO (image-like Box flattened)
    "catch_ppo_healthy": (("healthy (PPO, 8x6x2 screen flattened for an MLP, +1 catch / -1 "
                           "miss, gamma 0.97, lr 2e-3, batch 2000, 8 epochs)"), None, None),
    "catch_ppo_gamma05": (("gamma=0.5 (healthy 0.97) while each catch/miss reward comes 7 "
                           "steps after the ball appears"), "gamma_0.5", None),
    "catch_ppo_epochs40": (("num_epochs=40 on 200-step train batches, minibatch 50 (healthy: "
                            "8 epochs on 2000-step batches, minibatch 128)"),
                           "epochs_x10_small_batch", None),
    "catch_ppo_obs_zero": (("env bug: screen rendered into a buffer that is never filled, "
                            "observations all 0 (healthy: ball and paddle pixels); traced "
                            "batches"), "obs_zeroed", None),
    "catch_ppo_lrdiv1000": ("lr=2e-6, 1/1000 of the healthy 2e-3", "lr_div1000", None),
    # Catch, DQN
    "catch_dqn_healthy": (("healthy (DQN, flattened screen, replay 20000, train batch 32, "
                           "target update every 250 steps, lr 1e-3)"), None, None),
    "catch_dqn_replay16": (("replay buffer capacity 16, below the 32-transition train batch "
                            "(healthy 20000), learning from step 0"),
                           "replay_below_batch", None),
    "catch_dqn_no_target": (("target_network_update_freq=1e9 (healthy 250): target never "
                             "synced"), "target_never_updated", None),
    "catch_dqn_rew1000": (("env bug: catch/miss paid as +-1000 instead of +-1 (reward "
                           "x1000)"), "reward_x1000", None),
    # Battery, PPO new stack
    "battery_ppo_healthy": (("healthy (PPO, price arbitrage, rewards in dollars of both "
                             "signs, 240-step days, gamma 0.99, vf_clip_param 1e5)"),
                            None, None),
    "battery_ppo_rew1e-4": (("env bug: rewards x1e-4 (dollars divided by 10000, a unit "
                             "mix-up)"), "reward_x1e-4", None),
    "battery_ppo_noise": (("env bug: Gaussian noise std 10 added to every reward (healthy: "
                           "exact dollars)"), "reward_noise", None),
    "battery_ppo_vfclip": (("vf_clip_param=0.1 with returns in the hundreds of dollars "
                            "(healthy 1e5)"), "vf_clip_low", None),
    "battery_ppo_gradclip": ("grad_clip=1e-4 by global_norm (healthy: no grad_clip)",
                             "grad_clip_tiny", None),
    "battery_ppo_gamma05": (("gamma=0.5 (healthy 0.99): a MWh bought at night pays only "
                             "when sold hours later; traced summary"), "gamma_0.5", None),
    # Battery, PPO old API stack
    "battery_oldppo_healthy": (("healthy (PPO on the old API stack, model fcnet [64, 64], "
                                "lr 3e-4, vf_clip_param 1e5)"), None, None),
    "battery_oldppo_lr100": ("lr=0.03, 100x the healthy 3e-4 (old API stack)", "lr_x100",
                             None),
    # Battery, APPO
    "battery_appo_healthy": ("healthy (APPO, lr 1e-3, gamma 0.99, battery arbitrage)",
                             None, None),
    "battery_appo_nan": ("env bug: a NaN reward every 300 steps (price feed gap)",
                         "nan_reward", None),
    # Hover, SAC
    "hover_sac_healthy": (("healthy (SAC, 2-D drone, +1 per step alive, crash terminates, "
                           "actor/critic lr 3e-3, gamma 0.95, n_step 3, target_entropy auto "
                           "= -2)"), None, None),
    "hover_sac_crash_trunc": (("env bug: a crash reported as truncated, not terminated "
                               "(healthy: terminated); traced summary"),
                              "terminated_as_truncated", None),
    "hover_sac_target_ent": ("target_entropy=5.0 (2-D actions; healthy 'auto' = -2)",
                             "target_entropy_high", None),
    # Canal, PPO multi-agent (farms 0, 1 -> "head"; farms 2, 3 -> "tail")
    "canal_ppo_healthy": (("healthy (PPO, 4 farms, farm_0/farm_1 -> module 'head', "
                           "farm_2/farm_3 -> 'tail', rewards +1 in band / -1 outside)"),
                          None, None),
    "canal_ppo_farm1_x1000": (("env bug: farm_1's rewards x1000 (module 'head'; the others "
                               "+-1)"), "agent1_reward_x1000", "head"),
    "canal_ppo_farm1_nan": (("env bug: farm_1's reward NaN every 300 of its steps (module "
                             "'head')"), "agent1_nan_reward", "head"),
    "canal_ppo_swap": (("mapping bug: head/tail modules swap between farms 0-1 and 2-3 "
                        "every other episode"), "modules_swap_per_episode", None),
}

TRACED = {"catch_ppo_obs_zero": "batches", "battery_ppo_gamma05": "summary",
          "hover_sac_crash_trunc": "summary"}


# ----------------------------------------------------------------------------- configs

def flatten_screen(env=None, spaces=None, device=None):
    from ray.rllib.connectors.env_to_module import FlattenObservations

    return FlattenObservations()


def catch_ppo(env_cfg=None, iters=15, **train):
    import user_envs4
    from ray.rllib.algorithms.ppo import PPOConfig

    train = {"lr": 2e-3, "gamma": 0.97, "entropy_coeff": 0.01,
             "train_batch_size_per_learner": 2000, "minibatch_size": 128, "num_epochs": 8,
             **train}
    return (PPOConfig().environment(user_envs4.Catch, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, env_to_module_connector=flatten_screen)
            .training(**train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .debugging(seed=0)), iters


def catch_dqn(env_cfg=None, iters=15, **train):
    import user_envs4
    from ray.rllib.algorithms.dqn import DQNConfig

    train = {"lr": 1e-3, "gamma": 0.97, "train_batch_size_per_learner": 32,
             "target_network_update_freq": 250, "n_step": 3,
             "epsilon": [(0, 1.0), (4000, 0.02)],
             "num_steps_sampled_before_learning_starts": 500,
             "replay_buffer_config": {"type": "PrioritizedEpisodeReplayBuffer",
                                      "capacity": 20000}, **train}
    return (DQNConfig().environment(user_envs4.Catch, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, rollout_fragment_length=4,
                         env_to_module_connector=flatten_screen)
            .training(**train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=0)), iters


def battery_ppo(env_cfg=None, iters=20, **train):
    import user_envs4
    from ray.rllib.algorithms.ppo import PPOConfig

    train = {"lr": 1e-3, "gamma": 0.99, "entropy_coeff": 0.01, "vf_clip_param": 1e5,
             "train_batch_size_per_learner": 2400, "minibatch_size": 240, "num_epochs": 8,
             **train}
    return (PPOConfig().environment(user_envs4.Battery, env_config=env_cfg or {})
            .env_runners(num_env_runners=0)
            .training(**train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .debugging(seed=0)), iters


def battery_oldppo(env_cfg=None, iters=20, **train):
    import user_envs4
    from ray.rllib.algorithms.ppo import PPOConfig

    train = {"lr": 3e-4, "gamma": 0.99, "entropy_coeff": 0.01, "vf_clip_param": 1e5,
             "train_batch_size": 2400, "minibatch_size": 240, "num_epochs": 8,
             "model": {"fcnet_hiddens": [64, 64], "vf_share_layers": False}, **train}
    return (PPOConfig()
            .api_stack(enable_rl_module_and_learner=False,
                       enable_env_runner_and_connector_v2=False)
            .environment(user_envs4.Battery, env_config=env_cfg or {})
            .framework("torch")
            .env_runners(num_env_runners=0, rollout_fragment_length="auto")
            .training(**train)
            .debugging(seed=0)), iters


def battery_appo(env_cfg=None, iters=20, **train):
    import user_envs4
    from ray.rllib.algorithms.appo import APPOConfig

    train = {"lr": 1e-3, "gamma": 0.99, "vf_loss_coeff": 0.5, "entropy_coeff": 0.01,
             "train_batch_size_per_learner": 240, **train}
    return (APPOConfig().environment(user_envs4.Battery, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, rollout_fragment_length=60)
            .training(**train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=2400)
            .debugging(seed=0)), iters


def hover_sac(env_cfg=None, iters=12, fragment=8, **train):
    import user_envs4
    from ray.rllib.algorithms.sac import SACConfig

    train = {"actor_lr": 3e-3, "critic_lr": 3e-3, "alpha_lr": 1e-3, "gamma": 0.95,
             "initial_alpha": 0.2, "train_batch_size_per_learner": 256, "n_step": 3,
             "num_steps_sampled_before_learning_starts": 500,
             "replay_buffer_config": {"type": "EpisodeReplayBuffer", "capacity": 50000},
             **train}
    return (SACConfig().environment(user_envs4.Hover, env_config=env_cfg or {})
            .env_runners(num_env_runners=0, rollout_fragment_length=fragment)
            .training(**train)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=0)), iters


def farm_module(agent_id, episode=None, **kwargs):
    return "head" if agent_id in ("farm_0", "farm_1") else "tail"


def swapping_farm_module(agent_id, episode=None, **kwargs):
    """The user's mapping bug: which farms are 'head' flips with the episode."""
    flip = hash(getattr(episode, "id_", "")) % 2
    head = agent_id in ("farm_0", "farm_1")
    return "head" if head != bool(flip) else "tail"


def canal_ppo(env_cfg=None, iters=12, mapping=None, **train):
    import user_envs4
    from ray.rllib.algorithms.ppo import PPOConfig

    train = {"lr": 1e-3, "gamma": 0.95, "entropy_coeff": 0.01,
             "train_batch_size_per_learner": 2000, "minibatch_size": 128, "num_epochs": 6,
             **train}
    return (PPOConfig().environment(user_envs4.Canal, env_config=env_cfg or {})
            .env_runners(num_env_runners=0)
            .training(**train)
            .multi_agent(policies={"head", "tail"},
                         policy_mapping_fn=mapping or farm_module)
            .rl_module(model_config={"fcnet_hiddens": [64, 64]})
            .debugging(seed=0)), iters


def configs():
    return {
        "catch_ppo_healthy": lambda: catch_ppo(),
        "catch_ppo_gamma05": lambda: catch_ppo(gamma=0.5),
        "catch_ppo_epochs40": lambda: catch_ppo(train_batch_size_per_learner=200,
                                                minibatch_size=50, num_epochs=40),
        "catch_ppo_obs_zero": lambda: catch_ppo({"obs_zero": True}),
        "catch_ppo_lrdiv1000": lambda: catch_ppo(lr=2e-6),
        "catch_dqn_healthy": lambda: catch_dqn(),
        "catch_dqn_replay16": lambda: catch_dqn(
            replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer", "capacity": 16},
            num_steps_sampled_before_learning_starts=0),
        "catch_dqn_no_target": lambda: catch_dqn(target_network_update_freq=10 ** 9),
        "catch_dqn_rew1000": lambda: catch_dqn({"reward_scale": 1000.0}),
        "battery_ppo_healthy": lambda: battery_ppo(),
        "battery_ppo_rew1e-4": lambda: battery_ppo({"reward_scale": 1e-4}),
        "battery_ppo_noise": lambda: battery_ppo({"reward_noise": 10.0}),
        "battery_ppo_vfclip": lambda: battery_ppo(vf_clip_param=0.1),
        "battery_ppo_gradclip": lambda: battery_ppo(grad_clip=1e-4,
                                                    grad_clip_by="global_norm"),
        "battery_ppo_gamma05": lambda: battery_ppo(gamma=0.5),
        "battery_oldppo_healthy": lambda: battery_oldppo(),
        "battery_oldppo_lr100": lambda: battery_oldppo(lr=3e-2),
        "battery_appo_healthy": lambda: battery_appo(),
        "battery_appo_nan": lambda: battery_appo({"nan_reward_every": 300}),
        "hover_sac_healthy": lambda: hover_sac(),
        "hover_sac_crash_trunc": lambda: hover_sac({"terminated_as_truncated": True}),
        "hover_sac_target_ent": lambda: hover_sac(target_entropy=5.0),
        "canal_ppo_healthy": lambda: canal_ppo(),
        "canal_ppo_farm1_x1000": lambda: canal_ppo({"fault_agent": 1, "reward_scale": 1000.0}),
        "canal_ppo_farm1_nan": lambda: canal_ppo({"fault_agent": 1, "nan_reward_every": 300}),
        "canal_ppo_swap": lambda: canal_ppo(mapping=swapping_farm_module),
    }


def main(names: list[str]) -> None:
    from benchmarks.run_store import make_labelled_runs

    make_labelled_runs(HERE, LABELS, configs(), TRACED, names)


if __name__ == "__main__":
    main(sys.argv[1:])
