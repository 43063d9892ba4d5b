"""Exercise 2: a Tune grid over learning rate x train_batch_size until a mean total return of 15.

As in the tutorial: a [128, 128] network, 10 vectorised envs per EnvRunner, two
policies, and the target of 15. Every trial runs in this machine's Ray with 0
remote EnvRunners (1 CPU per trial); Tune runs as many at once as CPUs allow.

    python recipes/exercise2.py [--smoke] [--logdir DIR]
"""

import argparse
import os
import tempfile

from ray import tune
from ray.rllib.algorithms.ppo import PPO

import rldebug
from rldebug.arena import ArenaEvents
from rldebug.arena.config import SMOKE_SETTINGS
from rldebug.callbacks import AgentReturns, add_callbacks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 iteration per trial")
    parser.add_argument("--logdir", default=None, help="Tune storage path")
    args = parser.parse_args(argv)

    rldebug.start_ray(num_cpus=os.cpu_count())
    if args.smoke:
        config = rldebug.arena_ppo_config(seed=0, **SMOKE_SETTINGS)
        grid = {"lr": [1e-3, 1e-4], "train_batch_size": [200]}  # 2 trials, not 4
        stop = {"training_iteration": 1}
    else:
        config = rldebug.arena_ppo_config(seed=0, fcnet_hiddens=[128, 128],
                                          num_envs_per_env_runner=10)
        grid = {"lr": [1e-3, 5e-4], "train_batch_size": [2000, 4000]}
        stop = {"env_runners/episode_return_mean": 15, "time_total_s": 300}
    config = add_callbacks(config, AgentReturns, ArenaEvents)
    config.training(lr=tune.grid_search(grid["lr"]),
                    train_batch_size=tune.grid_search(grid["train_batch_size"]))
    storage = os.path.abspath(args.logdir or tempfile.mkdtemp(prefix="exercise2_"))
    results = tune.Tuner(PPO, param_space=config, run_config=tune.RunConfig(
        name="exercise2", storage_path=storage, stop=stop, verbose=1)).fit()

    for result in results:
        runners = result.metrics.get("env_runners", {})
        print(f"lr={result.config['lr']:g} train_batch_size={result.config['train_batch_size']}: "
              f"return {runners.get('episode_return_mean', float('nan')):.2f} after "
              f"{result.metrics.get('training_iteration')} iterations, "
              f"{result.metrics.get('time_total_s', 0):.0f} s")
    print(f"TensorBoard: tensorboard --logdir {os.path.join(storage, 'exercise2')}")
    # The check: every trial of the grid trained without an error (and, beyond the smoke
    # run, the best one reached the target).
    failed = [str(result.error) for result in results if result.error is not None]
    returns = [result.metrics.get("env_runners", {}).get("episode_return_mean",
                                                            float("-inf")) for result in results]
    if len(results) != len(grid["lr"]) * len(grid["train_batch_size"]) or failed:
        raise SystemExit(f"{len(results)} trial(s), failed: {failed}")
    if not args.smoke and max(returns) < 15:
        raise SystemExit(f"no trial reached the target 15 (best {max(returns):.2f})")
    print(f"done: {len(results)} trials, best return {max(returns):.2f}")
    return results


if __name__ == "__main__":
    main()
