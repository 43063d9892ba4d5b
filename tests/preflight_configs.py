"""Configs with one known RLlib 2.60 trap each, for tests/test_preflight.py and `rldebug check`."""

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
