"""Training "just doesn't learn"? Probe the config: which part of learning is broken.

``rldebug.probe`` keeps everything of your config but the env (model, connectors,
learner, mapping function, hyperparameters), trains it briefly on tiny envs whose
right values and actions are known, written in your env's own spaces, and prints
per probe what was learned against what a working config learns.

    python recipes/probe_config.py [--smoke] [--gamma 0.0]

``--gamma 0.0`` plants a bug (a delayed reward worth nothing) to show a failing report:
only the delayed-reward probe fails, and the report says it points at discounting.
The same from the command line, for any config: ``rldebug probe my_configs.py:make``.
"""

import argparse

import rldebug


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one probe")
    parser.add_argument("--gamma", type=float, default=None, help="override the config's gamma")
    parser.add_argument("--logdir", default=None, help="unused; accepted like other recipes")
    args = parser.parse_args(argv)

    # The probes scale the batches down themselves: the smoke run keeps the config and
    # runs one probe.
    config = rldebug.arena_ppo_config(seed=0)
    if args.gamma is not None:
        config.training(gamma=args.gamma)
    report = rldebug.probe(config, only=["constant"] if args.smoke else None)
    print(report)
    # What this recipe demonstrates: a working config passes; a gamma below 0.5 fails the
    # delayed-reward probe and only it (the smoke run's one probe does not need gamma).
    planted = args.gamma is not None and args.gamma < 0.5 and not args.smoke
    expected = ["delayed"] if planted else []
    if report.failed != expected or report.unfinished:
        raise SystemExit(f"expected failing probes {expected}, got {report.failed}"
                         + (f" (unfinished: {report.unfinished})" if report.unfinished else ""))
    print("done: every probe passes" if report.passed else
          f"done: probe(s) {report.failed} fail as planted; the lines above say what each "
          "points at")


if __name__ == "__main__":
    main()
