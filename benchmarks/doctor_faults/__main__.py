"""The doctor's fault-injection benchmark.

    python -m benchmarks.doctor_faults generate [--jobs 2] [--only TEXT] [--force] [--seed N]
    python -m benchmarks.doctor_faults score [--write-confidence | --seed N] [--first N]
    python -m benchmarks.doctor_faults list [--seed N]

``--seed N``: a second draw of the faulty runs, every fault once at seed N, stored in
``tests/doctor_faults/seed<N>`` and scored against the benchmark's healthy controls.
``--first N``: every stored run scored as if it had stopped after N iterations.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.doctor_faults",
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="train the cases not stored yet")
    gen.add_argument("--jobs", type=int, default=2)
    gen.add_argument("--only", help="only cases whose name contains this text")
    gen.add_argument("--force", action="store_true", help="retrain stored cases too")
    train = commands.add_parser("train", help="(internal) train named cases here")
    train.add_argument("names", nargs="+")
    score = commands.add_parser("score", help="score the doctor on the stored runs")
    score.add_argument("--write-confidence", action="store_true",
                       help="store each rule's measured precision for the doctor's reports")
    score.add_argument("--first", type=_iterations, default=None, metavar="N",
                       help="score every run cut to its first N iterations (a user's "
                            "shorter run of the same config)")
    listing = commands.add_parser("list", help="list every case with its label")
    for command in (gen, train, score, listing):
        command.add_argument("--seed", type=_seed, default=None,
                             help="a second draw: every fault once at this seed")
    args = parser.parse_args(argv)
    if args.command == "score" and args.write_confidence and args.seed is not None:
        parser.error("--write-confidence stores the benchmark's own score; a second draw "
                     "(--seed) is scored beside it, never instead of it. Drop one of them.")
    if args.command == "score" and args.write_confidence and args.first is not None:
        parser.error("--write-confidence stores the precision measured on whole runs; "
                     "--first scores them cut short. Drop one of them.")
    if args.command == "generate":
        from benchmarks.doctor_faults.generate import generate

        generate(args.only, args.jobs, args.force, args.seed)
    elif args.command == "train":
        from benchmarks.doctor_faults.generate import train_named

        train_named(args.names, args.seed)
    elif args.command == "list":
        from benchmarks.doctor_faults.operators import cases

        for case in cases(args.seed):
            print(case.name, case.label.get("expect", "healthy"))
    else:
        from benchmarks.doctor_faults.score import main as score_main

        return score_main(write_confidence=args.write_confidence, seed=args.seed,
                          first=args.first)
    return 0


def _iterations(text: str) -> int:
    """--first's count: an int of at least 1."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--first takes a number of iterations, got "
                                         f"{text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"--first {count}: a run needs at least one "
                                         "iteration; try 15")
    return count


def _seed(text: str) -> int:
    """A second draw's seed: a non-negative int that is none of the controls' seeds."""
    from benchmarks.doctor_faults.operators import HEALTHY_SEEDS

    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed takes an integer, got {text!r}") from None
    if seed < 0 or seed in HEALTHY_SEEDS:
        raise argparse.ArgumentTypeError(
            f"--seed {seed}: a second draw needs a seed of its own (>= 0, not one of the "
            f"healthy controls' seeds {HEALTHY_SEEDS}, which the benchmark's runs use); "
            f"try {max(HEALTHY_SEEDS) + 1}")
    return seed


if __name__ == "__main__":
    sys.exit(main())
