"""Save a trained algorithm, evaluate a fresh one, restore the checkpoint, evaluate again.

The fresh algorithm acts randomly; after ``restore_from_path`` it plays like
the trained one. Evaluation here is greedy (``explore=False``) and runs in
this process (``rldebug.local_mode`` keeps evaluation EnvRunners in-process too).

    python recipes/checkpoints.py [--smoke] [--logdir DIR]
"""

import argparse

import numpy as np

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS


def evaluated(config):
    """The config with greedy evaluation over a fixed number of episodes."""
    return config.evaluation(evaluation_interval=1_000_000, evaluation_duration=10,
                             evaluation_duration_unit="episodes",
                             evaluation_config={"explore": False})


def mean_return(algo):
    return algo.evaluate()["env_runners"]["episode_return_mean"]


def weights(algo) -> dict:
    """Every policy's module weights as numpy arrays, as the algorithm's EnvRunner holds them."""
    return {pid: {name: np.asarray(value) for name, value in algo.get_module(pid).get_state().items()}
            for pid in ("pol1", "pol2")}


def largest_difference(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[pid][name] - b[pid][name]))) for pid in a for name in a[pid])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 iterations")
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)

    config = evaluated(rldebug.arena_ppo_config(seed=0, **(SMOKE_SETTINGS if args.smoke else {})))
    stop = ({"training_iteration": 2} if args.smoke
            else {"env_runners/episode_return_mean": 15, "training_iteration": 300})
    trained = rldebug.run(config, stop=stop, logdir=args.logdir, checkpoint_at_end=True,
                          progress=not args.smoke)
    print(f"checkpoint: {trained.checkpoint}")
    print(f"  contains: {sorted(p.name for p in trained.checkpoint.iterdir())}")
    trained_return = mean_return(trained.algo)
    trained_weights = weights(trained.algo)
    trained.algo.stop()

    # Another seed: the fresh algorithm's random weights differ from the trained ones' start.
    fresh = rldebug.local_mode(config.copy(copy_frozen=False).debugging(seed=1)).build_algo()
    before = mean_return(fresh)
    differed = largest_difference(trained_weights, weights(fresh))
    fresh.restore_from_path(str(trained.checkpoint))
    after = mean_return(fresh)
    difference = largest_difference(trained_weights, weights(fresh))
    fresh.stop()
    print(f"greedy mean total return: trained {trained_return:.2f}, fresh {before:.2f}, "
          f"fresh after restore {after:.2f}")
    # The check: restoring makes the fresh algorithm's acting modules the trained ones
    # (they differed before; the returns differ anyway: evaluation episodes follow the seed).
    if differed == 0 or difference != 0:
        raise SystemExit(f"largest weight difference to the trained modules: {differed:g} "
                         f"before restoring, {difference:g} after (expected > 0, then 0)")
    print(f"done: largest weight difference after restoring: {difference:g} "
          f"(before: {differed:.3g})")
    return trained_return, before, after


if __name__ == "__main__":
    main()
