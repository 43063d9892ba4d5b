"""Save a trained algorithm, evaluate a fresh one, restore the checkpoint, evaluate again.

The fresh algorithm acts randomly; after ``restore_from_path`` it plays like
the trained one. Evaluation here is greedy (``explore=False``) and runs in
this process (``rldebug.local_mode`` keeps evaluation EnvRunners in-process too).

    python recipes/checkpoints.py [--smoke] [--logdir DIR]
"""

import argparse

import rldebug
from rldebug.configs import SMOKE_SETTINGS


def evaluated(config):
    """The config with greedy evaluation over a fixed number of episodes."""
    return config.evaluation(evaluation_interval=1_000_000, evaluation_duration=10,
                             evaluation_duration_unit="episodes",
                             evaluation_config={"explore": False})


def mean_return(algo):
    return algo.evaluate()["env_runners"]["episode_return_mean"]


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
    trained.algo.stop()

    # Another seed: the fresh algorithm's random weights differ from the trained ones' start.
    fresh = rldebug.local_mode(config.copy(copy_frozen=False).debugging(seed=1)).build_algo()
    before = mean_return(fresh)
    fresh.restore_from_path(str(trained.checkpoint))
    after = mean_return(fresh)
    fresh.stop()
    print(f"greedy mean total return: trained {trained_return:.2f}, fresh {before:.2f}, "
          f"fresh after restore {after:.2f}")
    print("done")
    return trained_return, before, after


if __name__ == "__main__":
    main()
