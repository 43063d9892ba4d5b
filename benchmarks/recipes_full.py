"""Run every recipe at full size, one after another: wall time, final mean total return,
exit code (non-zero: the recipe missed its goal) and the recipe's own ``done:`` line.

Each recipe runs in its own process with ``--logdir``; the final return is read
back from the ``result.json`` files it wrote (the best trial for Tune recipes).

    python benchmarks/recipes_full.py [--only first_ppo exercise2 ...] [--python PY]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def final_returns(logdir: Path) -> list[float]:
    """The last ``episode_return_mean`` of every result.json under ``logdir``."""
    found = []
    for path in logdir.rglob("result.json"):
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        if not lines:
            continue
        runners = json.loads(lines[-1]).get("env_runners", {})
        value = runners.get("episode_return_mean", runners.get("episode_reward_mean"))
        if value is not None:
            found.append(float(value))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", default=None, help="recipe names (no .py)")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()

    names = args.only or sorted(p.stem for p in RECIPES.glob("*.py"))
    print(f"{'recipe':28s} {'seconds':>8s}  {'final mean total return':>24s}  exit", flush=True)
    for name in names:
        logdir = Path(tempfile.mkdtemp(prefix=f"full_{name}_"))
        started = time.time()
        done = subprocess.run([args.python, str(RECIPES / f"{name}.py"), "--logdir",
                               str(logdir)], capture_output=True, text=True)
        seconds = time.time() - started
        returns = final_returns(logdir)
        shown = f"{max(returns):.2f}" + (f" (best of {len(returns)})" if len(returns) > 1 else "") \
            if returns else "-"
        print(f"{name:28s} {seconds:8.1f}  {shown:>24s}  {done.returncode}", flush=True)
        for line in done.stdout.splitlines():
            if line.startswith("done:"):
                print(f"    {line}", flush=True)
        if done.returncode:
            print(done.stderr[-2000:], flush=True)


if __name__ == "__main__":
    main()
