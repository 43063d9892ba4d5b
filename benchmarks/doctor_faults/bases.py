"""The healthy base configs the fault benchmark mutates: tiny, seeded, in-process.

Each base learns clearly within its iteration budget (its healthy controls are the
proof: ``tests/test_doctor_faults.py`` checks that at least two seeds of three end
well above where they began), and takes one to three minutes on 2 cores (SAC six). Settings are RLlib 2.60's own defaults wherever those learn at this size;
where they do not (PPO on Pendulum), the settings of RLlib's own examples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.doctor_faults.envs import Faulty, faulty_multi_agent_cartpole


def _model(hiddens=(32, 32)):
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return DefaultModelConfig(fcnet_hiddens=list(hiddens))


def _env(config, env_id, **env_config):
    return config.environment(Faulty, env_config={"env": env_id, **env_config})


def ppo(env_id, seed, hiddens=(32, 32), **training):
    from ray.rllib.algorithms.ppo import PPOConfig

    settings = {"train_batch_size": 1000, "minibatch_size": 250, "num_epochs": 4,
                "lr": 1e-3, **training}
    return (_env(PPOConfig(), env_id)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
            .training(**settings)
            .rl_module(model_config=_model(hiddens))
            .debugging(seed=seed))


def ppo_pendulum(seed):
    # RLlib's examples train PPO on Pendulum with gamma 0.95, lambda 0.1, small
    # minibatches and a small vf_loss_coeff; the value loss is left unclipped: with
    # RLlib's default vf_clip_param=10 every value error of a return near -1000 is
    # clipped and this base does not learn in 30 iterations (measured: -1127 -> -1090
    # vs -1127 -> -185 unclipped, seed 0).
    return ppo("Pendulum-v1", seed, hiddens=(64, 64), train_batch_size=1000,
               minibatch_size=64, num_epochs=6, lr=1e-3, gamma=0.95, lambda_=0.1,
               vf_loss_coeff=0.01, vf_clip_param=float("inf"))


def ppo_lunar(env_id):
    """PPO on a LunarLander (discrete or continuous): 2000-step batches, 64x64, 6 epochs
    at lr 5e-4."""
    settings = {"train_batch_size": 2000, "minibatch_size": 250, "num_epochs": 6,
                "lr": 5e-4}
    return lambda seed, **kw: ppo(env_id, seed, hiddens=(64, 64), **{**settings, **kw})


def vtrace(config_class, env_id, seed, **training):
    # vf_loss_coeff 0.05 and no entropy bonus: RLlib's own APPO and IMPALA CartPole
    # examples' settings. With RLlib's defaults (0.5, 0.01) these bases went from ~28 to
    # only 40-100 in 30 iterations (measured, 3 seeds each); with these, APPO seeds 0 and
    # 1 reached 260-365 and 220-245, IMPALA seed 0 about 200.
    settings = {"lr": 5e-3, "vf_loss_coeff": 0.05, "entropy_coeff": 0.0, **training}
    return (_env(config_class(), env_id)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length=50)
            .training(train_batch_size_per_learner=200, **settings)
            .rl_module(model_config=_model())
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=1000)
            .debugging(seed=seed))


def appo(seed, **training):
    from ray.rllib.algorithms.appo import APPOConfig

    return vtrace(APPOConfig, "CartPole-v1", seed, **training)


def appo_goal(seed, **training):
    from ray.rllib.algorithms.appo import APPOConfig

    return vtrace(APPOConfig, "GoalCorridor", seed, **training)


def impala(seed, **training):
    from ray.rllib.algorithms.impala import IMPALAConfig

    return vtrace(IMPALAConfig, "CartPole-v1", seed, **training)


def replay(config, env_id, seed, settings, steps_per_iteration):
    """DQN/SAC: a prioritized replay buffer of 20000 steps, learning after 500, a 64x64
    network, 4-step fragments and ``steps_per_iteration`` env steps per iteration."""
    settings = {"num_steps_sampled_before_learning_starts": 500,
                "replay_buffer_config": {"type": "PrioritizedEpisodeReplayBuffer",
                                         "capacity": 20000}, **settings}
    return (_env(config, env_id)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length=4)
            .training(**settings)
            .rl_module(model_config=_model((64, 64)))
            .reporting(min_time_s_per_iteration=0,
                       min_sample_timesteps_per_iteration=steps_per_iteration)
            .debugging(seed=seed))


def dqn(env_id, seed, **training):
    from ray.rllib.algorithms.dqn import DQNConfig

    settings = {"lr": 5e-4, "train_batch_size_per_learner": 32,
                "target_network_update_freq": 500,
                "epsilon": [(0, 1.0), (5000, 0.05)], **training}
    return replay(DQNConfig(), env_id, seed, settings, steps_per_iteration=600)


def sac(seed, **training):
    from ray.rllib.algorithms.sac import SACConfig

    # RLlib's default actor_lr (3e-5) barely moves the policy in 12k steps; the learning
    # rates of RLlib's own SAC Pendulum example learn there.
    settings = {"train_batch_size_per_learner": 64, "actor_lr": 2e-4, "critic_lr": 8e-4,
                "alpha_lr": 9e-4, **training}
    return replay(SACConfig(), "Pendulum-v1", seed, settings, steps_per_iteration=500)


def old_ppo(seed, **training):
    from ray.rllib.algorithms.ppo import PPOConfig

    settings = {"train_batch_size": 1000, "minibatch_size": 250, "num_epochs": 4,
                "lr": 1e-3, **training}
    return (PPOConfig()
            .api_stack(enable_rl_module_and_learner=False,
                       enable_env_runner_and_connector_v2=False)
            .environment(Faulty, env_config={"env": "CartPole-v1"}).framework("torch")
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length="auto")
            .training(model={"fcnet_hiddens": [32, 32]}, **settings)
            .debugging(seed=seed))


def agent_module(agent_id, episode=None, **kwargs):
    return f"p{agent_id}"


def ma_cartpole(seed, **training):
    """RLlib's MultiAgentCartPole: agents 0 and 1, modules p0 and p1."""
    return (ppo("CartPole-v1", seed, **training)
            .environment(faulty_multi_agent_cartpole(), env_config={"num_agents": 2})
            .multi_agent(policies={"p0", "p1"}, policy_mapping_fn=agent_module))


def tic_tac_toe_module(agent_id, episode=None, **kwargs):
    return {"player1": "first", "player2": "second"}[agent_id]


def tic_tac_toe(seed, **training):
    """RLlib's turn-based TicTacToe: -0.5 for an illegal move, +-1 for a win."""
    from ray.rllib.examples.envs.classes.multi_agent.tic_tac_toe import TicTacToe

    return (ppo("CartPole-v1", seed, **training).environment(TicTacToe)
            .multi_agent(policies={"first", "second"}, policy_mapping_fn=tic_tac_toe_module))


def arena(seed, **training):
    """The tutorial's MultiAgentArena with rldebug's PPO config (agents agent1/agent2,
    modules pol1/pol2)."""
    from rldebug import arena_ppo_config

    return arena_ppo_config(seed=seed).training(**training)


@dataclass(frozen=True)
class Base:
    """One healthy setup: its name, family, how to build it, how long it trains."""

    name: str
    family: str  # "ppo", "appo", "impala", "dqn", "sac"
    make: Callable  # (seed, **training overrides) -> AlgorithmConfig
    iterations: int
    env: str
    multi_agent: bool = False
    stack: str = "new"
    # which env faults apply: "reward" (per-step reward wrappers), "obs", "delayed"
    # (reward at the end of a task: gamma matters), "terminates" (episodes can end early)
    traits: frozenset = field(default_factory=frozenset)
    # every reward the env pays is <= 0 by design (Pendulum, Acrobot): "no positive
    # reward is reachable" is no finding there
    rewards_nonpositive: bool = False


BASES = {base.name: base for base in (
    Base("ppo_cartpole", "ppo", lambda seed, **kw: ppo("CartPole-v1", seed, **kw), 30,
         "CartPole-v1", traits=frozenset({"reward", "obs", "terminates"})),
    # 80 x 1000 steps: at 30 two of three healthy seeds were still near -1100 (PPO needs
    # ~5e4 steps here; seed 2 began to climb only at iteration ~52)
    Base("ppo_pendulum", "ppo", lambda seed, **kw: ppo_pendulum(seed).training(**kw), 80,
         "Pendulum-v1", traits=frozenset({"reward"}), rewards_nonpositive=True),
    Base("ppo_goal", "ppo", lambda seed, **kw: ppo("GoalCorridor", seed, **kw), 25,
         "GoalCorridor", traits=frozenset({"reward", "delayed", "terminates"})),
    Base("ppo_acrobot", "ppo", lambda seed, **kw: ppo("Acrobot-v1", seed, **kw), 30,
         "Acrobot-v1", traits=frozenset({"reward", "delayed", "terminates"}),
         rewards_nonpositive=True),
    Base("appo_cartpole", "appo", appo, 30, "CartPole-v1",
         traits=frozenset({"reward", "terminates"})),
    Base("impala_cartpole", "impala", impala, 30, "CartPole-v1",
         traits=frozenset({"reward", "terminates"})),
    Base("dqn_cartpole", "dqn", lambda seed, **kw: dqn("CartPole-v1", seed, **kw), 25,
         "CartPole-v1", traits=frozenset({"reward", "terminates"})),
    Base("dqn_acrobot", "dqn", lambda seed, **kw: dqn("Acrobot-v1", seed, **kw), 25,
         "Acrobot-v1", traits=frozenset({"delayed", "terminates"}),
         rewards_nonpositive=True),
    # 30 x 500 steps: at 24 one of three healthy seeds had not left its random start
    # (-1383 -> -781); by 28 all three had (-400, -291, -245). The stored runs were made
    # at 40 iterations and cut to their first 30 (a run's first iterations do not depend
    # on when it stops), to shorten the generation (1.8 h -> 1.6 h; 1.85 h since
    # the LunarLander bases).
    Base("sac_pendulum", "sac", sac, 30, "Pendulum-v1", traits=frozenset({"reward"}),
         rewards_nonpositive=True),
    Base("ppo_ma_cartpole", "ppo", ma_cartpole, 30, "MultiAgentCartPole",
         multi_agent=True, traits=frozenset({"agent_reward"})),
    Base("ppo_arena", "ppo", arena, 25, "MultiAgentArena", multi_agent=True),
    Base("ppo_tictactoe", "ppo", tic_tac_toe, 25, "TicTacToe", multi_agent=True),
    Base("old_ppo_cartpole", "ppo", old_ppo, 30, "CartPole-v1", stack="old",
         traits=frozenset({"reward", "terminates"})),
    # Added 2026-12-04 as held-out bases (score.TEST_BASES), after the rules they are
    # scored with were written: DQN and APPO on the sparse, delayed corridor. (APPO on
    # Acrobot with the vtrace settings above was tried too and dropped: its controls never
    # left -500 in 30 iterations, nor at lr 5e-4 or with entropy_coeff 0.01; on the
    # corridor two seeds tried first reached 1.0 by iteration 7 and 9.)
    # Added 2026-12-04 (evening), made after the rules like the two below: PPO on
    # LunarLander-v3 (Box2D), an env none of the rules was written with: a shaped reward
    # of both signs, a crash (-100) or a landing (+100) ending the episode. 25 x 2000
    # steps, 64x64, 6 epochs at lr 5e-4: seed 0 tried first went from -166 to about 0.
    # Scored once as held out, then read to revise critic_clipped: tuning data since.
    Base("ppo_lunar", "ppo", ppo_lunar("LunarLander-v3"), 25, "LunarLander-v3",
         traits=frozenset({"reward", "obs", "terminates"})),
    # Added after the critic_clipped changes that reading ppo_lunar led to, to measure
    # them on runs they were not made with: the same settings on LunarLanderContinuous-v3
    # (a Gaussian policy); seed 0 tried first went from -223 to about -30.
    Base("ppo_lunar_continuous", "ppo", ppo_lunar("LunarLanderContinuous-v3"), 25,
         "LunarLanderContinuous-v3", traits=frozenset({"reward", "obs", "terminates"})),
    Base("dqn_goal", "dqn", lambda seed, **kw: dqn("GoalCorridor", seed, **kw), 25,
         "GoalCorridor", traits=frozenset({"reward", "delayed", "terminates"})),
    Base("appo_goal", "appo", appo_goal, 25, "GoalCorridor",
         traits=frozenset({"reward", "delayed", "terminates"})),
)}
