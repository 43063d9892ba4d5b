"""Tiny arena configs for tests: a training iteration takes well under a second."""

from rldebug import arena_ppo_config

TINY = {
    "num_envs_per_env_runner": 2,
    "fcnet_hiddens": [16, 16],
    "train_batch_size": 200,
    "minibatch_size": 100,
    "num_epochs": 1,
}
# Short episodes so a 200-step batch finishes several of them.
TINY_ENV = {"max_timesteps": 20}


def tiny_arena_config(api_stack: str = "new", env_config=None, **overrides):
    """``arena_ppo_config`` at test size (seeded; overrides win)."""
    settings = {**TINY, "seed": 0, **overrides}
    return arena_ppo_config(api_stack=api_stack,
                            env_config=TINY_ENV if env_config is None else env_config,
                            **settings)
