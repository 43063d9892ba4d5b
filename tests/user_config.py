"""A user's own config for ``rldebug doctor RUN --verify --config tests/user_config.py:make_config``
(tests/test_verify_fix.py): its env is a class, which Tune's params.json can hold only as
text, so the doctor cannot rebuild the config from the run."""

import gymnasium as gym
from gymnasium.envs.classic_control import CartPoleEnv


class UserCartPole(gym.Wrapper):
    """CartPole as a user's own env class (200 steps at most)."""

    def __init__(self, config=None):
        super().__init__(gym.wrappers.TimeLimit(CartPoleEnv(), max_episode_steps=200))


def make_config():
    """PPO at lr=0.5 on the user's env: the policy's KL blows up from the first update."""
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig().environment(UserCartPole).env_runners(num_env_runners=0)
            .training(lr=0.5, train_batch_size=400, minibatch_size=100, num_epochs=4))


def make_two_module_config():
    """Two agents of RLlib's MultiAgentCartPole, each its own module; 'p1' alone trains at
    lr=1 (its override in algorithm_config_overrides_per_module), 'p0' at the global
    lr=3e-4. The mapping is a lambda, which params.json keeps only as its name."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    return (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
            .env_runners(num_env_runners=0)
            .multi_agent(policies={"p0", "p1"},
                         policy_mapping_fn=lambda agent_id, episode, **kw: f"p{agent_id}",
                         algorithm_config_overrides_per_module={
                             "p1": PPOConfig.overrides(lr=1.0)})
            .training(lr=3e-4, train_batch_size_per_learner=400, minibatch_size=100,
                      num_epochs=4)
            .debugging(seed=0))
