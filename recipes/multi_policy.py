"""Two policies with their own learning rates and a mapping function.

agent1 (explorer) -> pol1, agent2 (blocker) -> pol2. Each policy can have its
own settings: on the new stack through ``algorithm_config_overrides_per_module``,
on the old stack through ``PolicySpec(config=...)``. The result shows each
module's learning rate next to its return.

    python recipes/multi_policy.py [--smoke] [--stack new|old]
"""

import argparse

from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.policy.policy import PolicySpec

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS
from rldebug.shapes.results import get_path

LEARNING_RATES = {"pol1": 1e-3, "pol2": 3e-4}


def mapping_fn(agent_id, episode=None, worker=None, **kwargs):
    """The explorer trains pol1, the blocker pol2."""
    return "pol1" if agent_id == "agent1" else "pol2"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 iterations")
    parser.add_argument("--stack", choices=["new", "old"], default="new")
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)

    config = rldebug.arena_ppo_config(api_stack=args.stack, seed=0,
                                      **(SMOKE_SETTINGS if args.smoke else {}))
    if args.stack == "new":
        config.multi_agent(policies={"pol1", "pol2"}, policy_mapping_fn=mapping_fn)
        config.rl_module(algorithm_config_overrides_per_module={
            pid: PPOConfig.overrides(lr=lr) for pid, lr in LEARNING_RATES.items()})
    else:
        config.multi_agent(policies={pid: PolicySpec(config={"lr": lr})
                                     for pid, lr in LEARNING_RATES.items()},
                           policy_mapping_fn=mapping_fn)
    stop = ({"training_iteration": 2} if args.smoke
            else {"env_runners/episode_return_mean": 15, "training_iteration": 300})
    run = rldebug.run(config, stop=stop, logdir=args.logdir, progress=not args.smoke)

    result = run.last_result
    lrs = {}
    for pid in LEARNING_RATES:
        if args.stack == "new":
            lr = get_path(result, f"learners/{pid}/default_optimizer_learning_rate")
            ret = get_path(result, f"env_runners/module_episode_returns_mean/{pid}")
        else:
            lr = get_path(result, f"info/learner/{pid}/learner_stats/cur_lr")
            ret = get_path(result, f"env_runners/policy_reward_mean/{pid}")
        print(f"{pid}: learning rate {lr:g}, mean episode return {ret:.2f}")
        lrs[pid] = lr
    print(f"TensorBoard: tensorboard --logdir {run.logdir}")
    run.algo.stop()
    # The check: each policy's optimizer ran with its own learning rate.
    if any(abs(lrs[pid] - lr) > 1e-12 for pid, lr in LEARNING_RATES.items()):
        raise SystemExit(f"configured learning rates {LEARNING_RATES}, the learners used {lrs}")
    print("done: learning rates used " + ", ".join(f"{p} {lr:g}" for p, lr in lrs.items()))
    return run


if __name__ == "__main__":
    main()
