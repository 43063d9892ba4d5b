"""The RLlib setups every rldebug tool is tested on: envs, algorithm families, both stacks.

Each setup is a tiny, seeded config (an iteration in about a second on 2 cores)
built from RLlib's own envs and examples, never from rldebug's arena except the
arena row itself. ``SETUPS`` names them; ``config_of(name)`` builds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tiny import tiny_arena_config

SMALL_NET = [16, 16]


def _model(hiddens=SMALL_NET, **extra):
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return DefaultModelConfig(fcnet_hiddens=list(hiddens), **extra)


def _ppo(env, env_config=None, **training):
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig().environment(env, env_config=env_config or {})
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
            .training(train_batch_size=200, minibatch_size=100, num_epochs=2, lr=1e-3,
                      **training)
            .rl_module(model_config=_model())
            .debugging(seed=0))


def ppo_cartpole():
    return _ppo("CartPole-v1")


def ppo_pendulum():
    return _ppo("Pendulum-v1")


def _vtrace(config_class):
    """APPO/IMPALA on CartPole: V-trace, the update in RLlib's learner thread."""
    return (config_class().environment("CartPole-v1")
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length=50)
            .training(train_batch_size_per_learner=100, lr=1e-3)
            .rl_module(model_config=_model())
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=200)
            .debugging(seed=0))


def appo_cartpole():
    from ray.rllib.algorithms.appo import APPOConfig

    return _vtrace(APPOConfig)


def impala_cartpole():
    from ray.rllib.algorithms.impala import IMPALAConfig

    return _vtrace(IMPALAConfig)


def _off_policy(config, env, **training):
    """DQN/SAC: a small replay buffer that starts learning after 100 steps."""
    return (config.environment(env)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length=20)
            .training(train_batch_size_per_learner=32,
                      num_steps_sampled_before_learning_starts=100,
                      replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                            "capacity": 2000}, **training)
            .rl_module(model_config=_model())
            .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=200)
            .debugging(seed=0))


def dqn_cartpole():
    from ray.rllib.algorithms.dqn import DQNConfig

    return _off_policy(DQNConfig(), "CartPole-v1", lr=1e-3, target_network_update_freq=100)


def sac_pendulum():
    from ray.rllib.algorithms.sac import SACConfig

    return _off_policy(SACConfig(), "Pendulum-v1")


def tqc_pendulum():
    """TQC (SAC's actor, critics of quantiles) as SAC is set up here."""
    from ray.rllib.algorithms.tqc import TQCConfig

    return _off_policy(TQCConfig(), "Pendulum-v1")


def shared_policy_ppo(env, env_config=None, stack="new"):
    """PPO in-process on a multi-agent env whose agents all map to one policy, "shared"
    (both API stacks; a 150-step batch)."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (PPOConfig().environment(env, env_config=env_config or {})
              .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
              .training(train_batch_size=150, minibatch_size=75, num_epochs=1)
              .multi_agent(policies={"shared"},
                           policy_mapping_fn=lambda agent_id, *args, **kwargs: "shared")
              .debugging(seed=0))
    if stack == "old":
        return (config.api_stack(enable_rl_module_and_learner=False,
                                 enable_env_runner_and_connector_v2=False)
                .framework("torch").training(model={"fcnet_hiddens": SMALL_NET}))
    return config.rl_module(model_config=_model())


def old_ppo_cartpole():
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig()
            .api_stack(enable_rl_module_and_learner=False,
                       enable_env_runner_and_connector_v2=False)
            .environment("CartPole-v1").framework("torch")
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1,
                         rollout_fragment_length=100)
            .training(train_batch_size=200, minibatch_size=100, num_epochs=2, lr=1e-3,
                      model={"fcnet_hiddens": SMALL_NET})
            .debugging(seed=0))


def crashing_cartpole(env=None):
    """PPO with two remote EnvRunners on RLlib's ``CartPoleCrashing`` (or ``env``, a
    subclass): runner 1's env raises every 10 steps and RLlib restarts that runner."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.examples.envs.classes.cartpole_crashing import CartPoleCrashing

    return (PPOConfig().environment(env or CartPoleCrashing, env_config={
                "crash_after_n_steps": 10, "p_crash": 0.0, "crash_on_worker_indices": [1]})
            .env_runners(num_env_runners=2, num_envs_per_env_runner=1,
                         rollout_fragment_length=50)
            .fault_tolerance(restart_failed_env_runners=True,
                             delay_between_env_runner_restarts_s=0.5)
            .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
            .rl_module(model_config=_model())
            .debugging(seed=0))


def pendulum_policy(agent_id, episode=None, **kwargs):
    return f"p{agent_id}"


def ma_pendulum():
    """Two agents (ids 0 and 1, ints), Box observations, continuous actions, two policies."""
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentPendulum

    return (_ppo(MultiAgentPendulum, env_config={"num_agents": 2})
            .multi_agent(policies={"p0", "p1"}, policy_mapping_fn=pendulum_policy))


def tic_tac_toe_policy(agent_id, episode=None, **kwargs):
    return {"player1": "first", "player2": "second"}[agent_id]


def tic_tac_toe():
    """RLlib's turn-based example: one player acts per step."""
    from ray.rllib.examples.envs.classes.multi_agent.tic_tac_toe import TicTacToe

    return (_ppo(TicTacToe)
            .multi_agent(policies={"first", "second"}, policy_mapping_fn=tic_tac_toe_policy))


def arena():
    return tiny_arena_config("new")


@dataclass(frozen=True)
class Setup:
    name: str
    make: Callable
    family: str  # policy_gradient, q_learning, actor_critic
    multi_agent: bool
    continuous: bool
    stack: str = "new"


SETUPS = {s.name: s for s in (
    Setup("ppo_cartpole", ppo_cartpole, "policy_gradient", False, False),
    Setup("ppo_pendulum", ppo_pendulum, "policy_gradient", False, True),
    Setup("appo_cartpole", appo_cartpole, "policy_gradient", False, False),
    Setup("impala_cartpole", impala_cartpole, "policy_gradient", False, False),
    Setup("dqn_cartpole", dqn_cartpole, "q_learning", False, False),
    Setup("sac_pendulum", sac_pendulum, "actor_critic", False, True),
    Setup("old_ppo_cartpole", old_ppo_cartpole, "policy_gradient", False, False, stack="old"),
    Setup("ma_pendulum", ma_pendulum, "policy_gradient", True, True),
    Setup("tic_tac_toe", tic_tac_toe, "policy_gradient", True, False),
    Setup("arena", arena, "policy_gradient", True, False),
)}


def config_of(name: str):
    return SETUPS[name].make()
