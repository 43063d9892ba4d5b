"""The program the debugger tests run under debugpy: one tiny training iteration.

    python -m debugpy --listen 127.0.0.1:PORT --wait-for-client tests/debuggee_train.py \\
        --stack new|old [--runners N] [--break-on] [--attach-remote PORT]

In-process (``local_mode``) unless ``--runners`` > 0. ``RLDEBUG_RAY_ADDRESS``
connects to a running Ray (the test session's) instead of starting one.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from tiny import tiny_arena_config

import rldebug
from rldebug.callbacks import add_callbacks

COLLISIONS_SEEN = []


class UserCallback(RLlibCallback):
    """Stands for a user's own callback; the test sets a breakpoint in it."""

    def on_episode_step(self, *, episode, **kwargs):
        episode_id = getattr(episode, "id_", None) or episode.episode_id  # USER-CALLBACK-BREAKPOINT
        return episode_id


class UserModule(DefaultPPOTorchRLModule):
    """Stands for a user's own RLModule; the test sets breakpoints in both forward passes."""

    def _forward(self, batch, **kwargs):
        out = super()._forward(batch, **kwargs)  # USER-MODULE-FORWARD-BREAKPOINT
        return out

    def _forward_train(self, batch, **kwargs):
        out = super()._forward_train(batch, **kwargs)  # USER-MODULE-FORWARD-TRAIN-BREAKPOINT
        return out


def with_user_module(config):
    """The new stack's config with both policies' modules of class ``UserModule``."""
    specs = {pid: RLModuleSpec(module_class=UserModule) for pid in config.policies}
    return config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))


class CountCollisions(RLlibCallback):
    """Counts collisions before break_on sees them (break_on is added after it)."""

    def on_episode_step(self, *, episode, **kwargs):
        from rldebug.shapes.episodes import last_step

        infos = {aid: step.info for aid, step in last_step(episode).items()}
        if any(info.get("collision") for info in infos.values()):
            COLLISIONS_SEEN.append(infos)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", choices=["new", "old"], default="new")
    parser.add_argument("--runners", type=int, default=0)
    parser.add_argument("--break-on", action="store_true")
    parser.add_argument("--attach-remote", type=int, default=None)
    args = parser.parse_args(argv)

    address = os.environ.get("RLDEBUG_RAY_ADDRESS")
    rldebug.start_ray(num_cpus=None if address else 2, address=address)

    # A 3x3 arena for break_on: the agents start two steps apart and soon collide.
    env_config = {"width": 3, "height": 3, "max_timesteps": 20} if args.break_on else None
    config = tiny_arena_config(args.stack, env_config=env_config, num_env_runners=args.runners)
    if args.break_on:
        config = add_callbacks(config, CountCollisions)
        config = rldebug.ide.break_on(config, events=("collision",), non_finite=False,
                                      max_stops=1)
    else:
        config = add_callbacks(config, UserCallback)
        if args.stack == "new":
            config = with_user_module(config)
    if args.attach_remote is not None:
        config = rldebug.ide.attach_remote(config, runner_index=1, port=args.attach_remote)
    if args.runners == 0:
        config = rldebug.local_mode(config)

    algo = config.build_algo()
    try:
        algo.train()
    finally:
        algo.stop()
    print(f"debuggee pid {os.getpid()} done")


if __name__ == "__main__":
    import rldebug.ide

    main()
