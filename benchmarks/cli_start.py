"""How fast the command line answers, against importing RLlib (the floor of any command
that needs it). Fresh processes, interleaved rounds, medians; prints each ratio and the
goals of the front-door issue: ``rldebug --help`` <= 0.2x and ``rldebug doctor`` on one
trial folder <= 0.3x of ``python -c "import ray.rllib"``; ``rldebug diff`` of two trial
folders is held to the doctor's goal.

    python benchmarks/cli_start.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAL = ROOT / "tests" / "doctor_faults" / "runs" / "ppo_cartpole__healthy__s0"
RLDEBUG = [sys.executable, "-m", "rldebug"]
COMMANDS = {
    "import ray.rllib": [sys.executable, "-c", "import ray.rllib"],
    "rldebug --help": [*RLDEBUG, "--help"],
    "rldebug doctor TRIAL": [*RLDEBUG, "doctor", str(TRIAL)],
    "rldebug diff TRIAL TRIAL2": [*RLDEBUG, "diff", str(TRIAL), str(TRIAL.with_name(
        TRIAL.name.replace("s0", "s1")))],
}
GOALS = {"rldebug --help": 0.2, "rldebug doctor TRIAL": 0.3, "rldebug diff TRIAL TRIAL2": 0.3}


def _seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    _seconds(COMMANDS["import ray.rllib"])  # warm the file cache once, for every side
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            times[name].append(_seconds(command))
    medians = {name: sorted(values)[len(values) // 2] for name, values in times.items()}
    floor = medians["import ray.rllib"]
    print(f"{'command':<26} {'median s':>9} {'ratio':>7}  goal")
    for name, seconds in medians.items():
        goal = GOALS.get(name)
        verdict = "" if goal is None else \
            f"<= {goal} {'met' if seconds / floor <= goal else 'NOT met'}"
        print(f"{name:<26} {seconds:>9.2f} {seconds / floor:>7.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
