"""Wall time until the arena's mean total return reaches 15: arena_ppo_config vs RLlib defaults.

Both train the same two-policy arena in this process with ``rldebug.run``; the
default-settings run is capped (PPO's defaults take ~50 s per iteration here)
and reported as "> cap" if it does not get there.

    python benchmarks/solve.py [--seeds 0 1 2] [--cap 900]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import default_ppo_arena_config, median

TARGET = 15.0


def time_to_target(config, cap_s: float, local: bool) -> tuple[float | None, int, float]:
    """(seconds to reach TARGET or None, iterations, best return seen)."""
    import rldebug
    from rldebug.shapes.results import mean_total_return

    best = float("-inf")

    def stop(iteration, result):
        nonlocal best
        value = mean_total_return(result)
        best = max(best, value if value is not None else best)
        return (value is not None and value >= TARGET) or result["time_total_s"] >= cap_s

    with tempfile.TemporaryDirectory() as logdir:
        result = rldebug.run(config, stop=stop, logdir=logdir, local=local, progress=False)
    result.algo.stop()
    reached = mean_total_return(result.last_result) or float("-inf")
    seconds = result.last_result["time_total_s"] if reached >= TARGET else None
    return seconds, result.iterations, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cap", type=float, default=900.0,
                        help="seconds of training allowed to RLlib's default settings")
    args = parser.parse_args()

    import rldebug

    rldebug.start_ray(num_cpus=3)
    fast = []
    for seed in args.seeds:
        seconds, iters, best = time_to_target(rldebug.arena_ppo_config(seed=seed), 600, True)
        print(f"arena_ppo_config seed {seed}: "
              f"{'%.1f s' % seconds if seconds else '> 600 s'} ({iters} iterations, best {best:.2f})",
              flush=True)
        fast.append(seconds if seconds is not None else float("inf"))
    # RLlib's defaults keep their 2 remote EnvRunners (local=False): that is the default.
    seconds, iters, best = time_to_target(default_ppo_arena_config(seed=args.seeds[0]),
                                          args.cap, False)
    shown = f"{seconds:.1f} s" if seconds else f"> {args.cap:.0f} s (cap)"
    print(f"RLlib default PPO seed {args.seeds[0]}: {shown} ({iters} iterations, best {best:.2f})")
    fast_median = median(fast)
    default = seconds if seconds else args.cap
    relation = "=" if seconds else "<"
    print(f"\nratio arena_ppo_config / defaults {relation} {fast_median / default:.3f}"
          f"  (median of {len(fast)} seeds; goal <= 0.2)")


if __name__ == "__main__":
    main()
