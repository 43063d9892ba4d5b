"""Print PPO's default configuration and what the arena config changes in it.

``PPOConfig()`` holds RLlib's defaults (the 2021 ``DEFAULT_CONFIG`` dict is
gone); ``to_dict()`` flattens it. The diff shows every setting
``arena_ppo_config()`` changed to learn fast on a 2-core CPU.

    python recipes/default_config.py [--smoke] [--all]
"""

import argparse
import pprint

from ray.rllib.algorithms.ppo import PPOConfig

import rldebug

KEY_SETTINGS = ("lr", "train_batch_size", "minibatch_size", "num_epochs", "entropy_coeff",
                "clip_param", "kl_coeff", "kl_target", "vf_clip_param", "lambda", "gamma",
                "num_env_runners", "num_envs_per_env_runner", "num_learners")


def diff(default: dict, changed: dict) -> dict:
    """Keys whose values differ (or exist on one side only), as (default, changed)."""
    missing = "<absent>"
    return {key: (default.get(key, missing), changed.get(key, missing))
            for key in sorted(set(default) | set(changed))
            if repr(default.get(key, missing)) != repr(changed.get(key, missing))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="same output (nothing to train)")
    parser.add_argument("--all", action="store_true", help="print the whole default config")
    parser.add_argument("--logdir", default=None, help="unused; accepted like every recipe")
    args = parser.parse_args(argv)

    default = PPOConfig().to_dict()
    if args.all:
        pprint.pprint(default)
    print("PPO defaults that matter most:")
    for key in KEY_SETTINGS:
        print(f"  {key:25s} {default.get(key)!r}")
    changes = diff(default, rldebug.arena_ppo_config().to_dict())
    print(f"\narena_ppo_config() changes {len(changes)} settings:")
    for key, (before, after) in changes.items():
        print(f"  {key:35s} {str(before)[:40]:40s} -> {str(after)[:60]}")
    # The check: the arena config sets what a multi-agent PPO run cannot do without.
    needed = {"env", "policies", "policy_mapping_fn"}
    if not needed <= set(changes):
        raise SystemExit(f"arena_ppo_config() leaves {sorted(needed - set(changes))} at "
                         "RLlib's defaults")
    print(f"done: {len(changes)} settings changed")
    return changes


if __name__ == "__main__":
    main()
