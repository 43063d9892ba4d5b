"""Ray Tune: stop criteria, a grid over learning rate and network size, periodic checkpoints.

Tune runs each trial in its own actor (breakpoints there are not hit; use
``rldebug.run`` to debug one configuration). Pass the algorithm *class*
(``PPO``), not the string ``"PPO"``: a string makes Tune import every RLlib
algorithm, and DreamerV3's import needs pillow. Each trial needs 1 CPU plus 1
per EnvRunner, or it waits forever: this recipe keeps 0 remote EnvRunners.

    python recipes/tune_grid.py [--smoke] [--logdir DIR]
    rldebug doctor DIR            # then ask the doctor about every trial
"""

import argparse
import os
import tempfile

from ray import tune
from ray.rllib.algorithms.ppo import PPO

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS


def hiddens(params: dict):
    """The trial's network size (AlgorithmConfig.to_dict keeps it under '_model_config')."""
    return params["_model_config"]["fcnet_hiddens"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 iteration per trial")
    parser.add_argument("--logdir", default=None, help="Tune storage path")
    args = parser.parse_args(argv)

    rldebug.start_ray(num_cpus=os.cpu_count())
    config = rldebug.arena_ppo_config(seed=0, **(SMOKE_SETTINGS if args.smoke else {}))
    lrs = [1e-3] if args.smoke else [1e-3, 1e-4]  # the smoke run: 2 trials, not 4
    config.training(lr=tune.grid_search(lrs))
    config.rl_module(model_config={"fcnet_hiddens": tune.grid_search([[16], [64, 64]])
                                   if args.smoke else tune.grid_search([[64, 64], [256, 256]]),
                                   "vf_share_layers": False})
    stop = ({"training_iteration": 1} if args.smoke
            else {"env_runners/episode_return_mean": 15, "training_iteration": 100,
                  "time_total_s": 300})
    storage = os.path.abspath(args.logdir or tempfile.mkdtemp(prefix="tune_grid_"))
    tuner = tune.Tuner(PPO, param_space=config, run_config=tune.RunConfig(
        name="tune_grid", storage_path=storage, stop=stop, verbose=1,
        checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=5, checkpoint_at_end=True)))
    results = tuner.fit()

    for result in results:
        params = result.config
        ret = result.metrics.get("env_runners", {}).get("episode_return_mean")
        print(f"lr={params['lr']:g} fcnet_hiddens={hiddens(params)}: "
              f"return {ret if ret is None else round(ret, 2)}, "
              f"checkpoint {result.checkpoint.path if result.checkpoint else None}")
    best = results.get_best_result("env_runners/episode_return_mean", "max")
    print(f"best: lr={best.config['lr']:g}, fcnet_hiddens={hiddens(best.config)}")
    print(f"next: rldebug doctor {os.path.join(storage, 'tune_grid')}")
    # The check: every trial (2 x 2, smoke 1 x 2) has a checkpoint at the end and no
    # error; the best (beyond the smoke run, at the target) has the highest last return.
    returns = {result.path: result.metrics["env_runners"]["episode_return_mean"]
               for result in results if result.error is None and result.checkpoint}
    if len(returns) != 2 * len(lrs):
        raise SystemExit(f"expected {2 * len(lrs)} trials with a checkpoint and no error, "
                         f"got {len(returns)}")
    if returns[best.path] != max(returns.values()):
        raise SystemExit(f"get_best_result chose {best.path}, the highest return is elsewhere")
    if not args.smoke and returns[best.path] < 15:
        raise SystemExit(f"no trial reached the target 15 (best {returns[best.path]:.2f})")
    print(f"done: {len(returns)} trials with checkpoints, best return "
          f"{returns[best.path]:.2f}")
    return results


if __name__ == "__main__":
    main()
