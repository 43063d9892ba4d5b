"""Tiny arena configs for tests: a training iteration takes well under a second."""

from rldebug import arena_ppo_config
from rldebug.arena.config import SMOKE_SETTINGS as TINY

# Short episodes so a 200-step batch finishes several of them.
TINY_ENV = {"max_timesteps": 20}


def tiny_arena_config(api_stack: str = "new", env_config=None, **overrides):
    """``arena_ppo_config`` at test size (seeded; overrides win)."""
    settings = {**TINY, "seed": 0, **overrides}
    return arena_ppo_config(api_stack=api_stack,
                            env_config=TINY_ENV if env_config is None else env_config,
                            **settings)
