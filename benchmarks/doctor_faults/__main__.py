"""The doctor's fault-injection benchmark.

    python -m benchmarks.doctor_faults generate [--jobs 2] [--only TEXT] [--force]
    python -m benchmarks.doctor_faults score [--runs DIR] [--write-confidence]
    python -m benchmarks.doctor_faults list
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
    commands.add_parser("list", help="list every case with its label")
    args = parser.parse_args(argv)
    if args.command == "generate":
        from benchmarks.doctor_faults.generate import generate

        generate(args.only, args.jobs, args.force)
    elif args.command == "train":
        from benchmarks.doctor_faults.generate import train_named

        train_named(args.names)
    elif args.command == "list":
        from benchmarks.doctor_faults.operators import cases

        for case in cases():
            print(case.name, case.label.get("expect", "healthy"))
    else:
        from benchmarks.doctor_faults.score import main as score_main

        return score_main(write_confidence=args.write_confidence)
    return 0


if __name__ == "__main__":
    sys.exit(main())
