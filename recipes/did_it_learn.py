"""Did it learn? Restore a checkpoint, evaluate it (sampling, greedy), replay it, ask the doctor.

    python recipes/did_it_learn.py [--smoke] [--checkpoint DIR --logdir RUN_DIR]

Without ``--checkpoint`` it first trains (the arena until a return of 15, or
2 tiny iterations with ``--smoke``). Loading a checkpoint unpickles Python
objects: only load checkpoints you trust.
"""

import argparse
from pathlib import Path

from rich.console import Console

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS
from rldebug.doctor import render


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 iterations")
    parser.add_argument("--checkpoint", default=None, help="an RLlib 2.60 checkpoint")
    parser.add_argument("--logdir", default=None, help="the run directory (for the doctor)")
    args = parser.parse_args(argv)

    if args.checkpoint:
        checkpoint, run_dir = Path(args.checkpoint), Path(args.logdir or Path(args.checkpoint).parent)
    else:
        config = rldebug.arena_ppo_config(seed=0, **(SMOKE_SETTINGS if args.smoke else {}))
        stop = ({"training_iteration": 2} if args.smoke
                else {"env_runners/episode_return_mean": 15, "training_iteration": 300})
        run = rldebug.run(config, stop=stop, logdir=args.logdir, checkpoint_at_end=True,
                          progress=not args.smoke)
        run.algo.stop()
        checkpoint, run_dir = run.checkpoint, run.logdir

    algo = rldebug.load(checkpoint)  # rebuilt in this process
    # The policy as it trained samples its actions; the greedy one (argmax) can be much
    # worse: on the arena a deterministic policy of the two positions alone gets stuck.
    mean = {}
    steps = 20 if args.smoke else None  # the smoke run plays only the episodes' start
    for explore in (True, False):
        returns = [sum(rldebug.replay(algo, seed=seed, explore=explore,
                                      max_steps=steps).returns.values())
                   for seed in range(3 if args.smoke else 10)]
        mean[explore] = sum(returns) / len(returns)
    print(f"mean total return over {len(returns)} episodes: sampling {mean[True]:.2f}, "
          f"greedy {mean[False]:.2f} (target 15)")
    gif = Path(run_dir) / "replay.gif"
    rldebug.replay(algo, seed=0, path=gif, explore=True, max_steps=steps)
    print(f"replay: {gif}")
    algo.stop()

    diagnosis = rldebug.diagnose(run_dir)
    render(diagnosis, console=Console())
    # The check: the doctor read the run, and (beyond the smoke run) the policy reaches
    # the target and the doctor finds no error.
    if diagnosis.exit_code == 2 or not gif.exists():
        raise SystemExit(f"the doctor could not read {run_dir} (exit code 2) or no replay "
                         f"was written to {gif}")
    if not args.smoke and (mean[True] < 15 or diagnosis.exit_code != 0):
        raise SystemExit(f"did not learn: return {mean[True]:.2f} (target 15), doctor "
                         f"exit code {diagnosis.exit_code}")
    print(f"done: return {mean[True]:.2f}, the doctor read "
          f"{diagnosis.trials[0].iterations} iteration(s), exit code {diagnosis.exit_code}")
    return diagnosis


if __name__ == "__main__":
    main()
