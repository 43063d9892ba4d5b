"""Configs with one known RLlib 2.60 trap each, for tests/test_preflight.py and `rldebug check`."""

import gymnasium as gym
import numpy as np
from ray.rllib.algorithms.ppo import PPOConfig


def frozen_lake():
    """Discrete observations on the new stack, no connector."""
    return PPOConfig().environment("FrozenLake-v1").env_runners(num_env_runners=0)


def too_many_runners():
    return PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=3)


def model_on_new_stack():
    return (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
            .training(model={"fcnet_hiddens": [7]}))


def big_minibatch():
    return (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
            .training(train_batch_size=100, minibatch_size=200))


def clean():
    return (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
            .training(train_batch_size=200, minibatch_size=100))


def dqn_on_box_actions():
    """DQN on Pendulum's Box action: building fails with a misleading deprecation error."""
    from ray.rllib.algorithms.dqn import DQNConfig

    return DQNConfig().environment("Pendulum-v1").env_runners(num_env_runners=0)


def gamma_and_lr_out_of_range():
    return clean().training(gamma=1.5, lr=-1.0)


def unknown_env_id():
    """An env id neither gymnasium nor ray.tune.register_env knows (a typo)."""
    return PPOConfig().environment("CartPol-v1").env_runners(num_env_runners=0)


def offset_discrete(offset_obs: bool = False, old_stack: bool = False):
    """A config and its env, whose action (or, with ``offset_obs``, observation) space is
    Discrete(3, start=1); the env class's list ``seen`` records every action it gets."""
    from typing import ClassVar

    import gymnasium as gym
    import numpy as np
    from ray.rllib.connectors.env_to_module import FlattenObservations

    class Env(gym.Env):
        seen: ClassVar[list] = []

        def __init__(self, env_config=None):
            self.observation_space = (gym.spaces.Discrete(3, start=1) if offset_obs else
                                      gym.spaces.Box(-1, 1, (2,), np.float32))
            self.action_space = (gym.spaces.Discrete(2) if offset_obs else
                                 gym.spaces.Discrete(3, start=1))
            self.t = 0

        def _obs(self):
            return (1 + self.t % 3) if offset_obs else np.zeros(2, np.float32)

        def reset(self, *, seed=None, options=None):
            self.t = 0
            return self._obs(), {}

        def step(self, action):
            Env.seen.append(int(action))
            self.t += 1
            return self._obs(), 0.0, self.t >= 10, False, {}

    config = (PPOConfig().environment(Env)
              .env_runners(num_env_runners=0,
                           env_to_module_connector=(lambda env, *a, **k: FlattenObservations())
                           if offset_obs else None)
              .training(train_batch_size=100, minibatch_size=50, num_epochs=1))
    if old_stack:
        config = config.api_stack(enable_rl_module_and_learner=False,
                                  enable_env_runner_and_connector_v2=False)
    return config, Env


def keys_rllib_never_reads():
    """2021 names set the dict way on a 2.60 config, and a typo: all kept, none read."""
    config = clean()
    config["num_workers"] = 1
    config.update_from_dict({"horizon": 200, "lamda": 0.9})
    return config


def schedule_and_clip_out_of_range():
    """An lr schedule that stays at 0, a negative clip_param and lambda_ above 1."""
    return clean().training(lr=[[0, 0.0], [1000, 0.0]], clip_param=-0.2, lambda_=1.5)


class _ObsOnlyReset:
    """A 2021 env ported by its import alone: reset() returns the observation only."""

    def __new__(cls, env_config=None):
        import gymnasium as gym
        import numpy as np

        class ObsOnlyReset(gym.Env):
            observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
            action_space = gym.spaces.Discrete(2)

            def reset(self, *, seed=None, options=None):
                return np.zeros(2, np.float32)

            def step(self, action):
                return np.zeros(2, np.float32), 1.0, True, False, {}

        return ObsOnlyReset()


def env_with_obs_only_reset():
    return PPOConfig().environment(_ObsOnlyReset).env_runners(num_env_runners=0)


def env_with_obs_only_reset_and_own_key():
    return env_with_obs_only_reset().update_from_dict({"my_own_setting": 3})


def rllib_multi_agent_cartpole():
    """RLlib's own MultiAgentCartPole: its agents end at different steps."""
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    return (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
            .env_runners(num_env_runners=0)
            .multi_agent(policies={"p0", "p1"},
                         policy_mapping_fn=lambda aid, *args, **kwargs: f"p{aid}"))


def rllib_double_row_corridor():
    """RLlib's own DoubleRowCorridorEnv (truncateds without '__all__' on some steps) as
    its example trains it (examples/connectors/multi_agent_observation_preprocessor.py):
    its int32 observations reach the modules through the example's connectors (without
    them, RLlib's default model refuses the integers)."""
    from ray.rllib.connectors.env_to_module import FlattenObservations
    from ray.rllib.examples.connectors.classes.add_other_agents_row_index_to_xy_pos import (
        AddOtherAgentsRowIndexToXYPos,
    )
    from ray.rllib.examples.envs.classes.multi_agent.double_row_corridor_env import (
        DoubleRowCorridorEnv,
    )

    return (PPOConfig().environment(DoubleRowCorridorEnv)
            .env_runners(num_env_runners=0, env_to_module_connector=lambda env, spaces, device: [
                AddOtherAgentsRowIndexToXYPos(),
                FlattenObservations(multi_agent=True, agent_ids=["agent_0"])])
            .multi_agent(policies={"p0", "p1"}, policy_mapping_fn=lambda aid, *args, **kwargs:
                         "p0" if aid == "agent_0" else "p1"))


class _ObsLongerThanItsSpace(gym.Env):
    """Declares a Box of 4 values and returns 5 (an observation feature added, the space
    not updated)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(5, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(5, np.float32), 1.0, self.t >= 20, False, {}


def obs_longer_than_its_space():
    return PPOConfig().environment(_ObsLongerThanItsSpace).env_runners(num_env_runners=0)


class _Continuing(gym.Env):
    """A continuing task: no terminal state, no time limit."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.end_after = (config or {}).get("end_after")
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        ended = self.end_after is not None and self.t >= self.end_after
        return np.zeros(1, np.float32), 0.0, ended, False, {}


def complete_episodes_of_a_continuing_task(end_after=None):
    return (PPOConfig().environment(_Continuing, env_config={"end_after": end_after})
            .env_runners(num_env_runners=0, batch_mode="complete_episodes")
            .training(train_batch_size_per_learner=200, minibatch_size=50))
