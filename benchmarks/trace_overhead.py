"""Overhead of watching training: trace levels and the passive env checker vs. neither.

Five algorithms (untraced, summary, batches, full, and the passive env checker
that ``local_mode`` adds by default) are built from the same seeded
``arena_ppo_config()`` and trained in interleaved rounds in this one process, so
machine noise hits all of them alike. Reports the median time per iteration and
the median per-round ratio to untraced (local mode with ``check_env=False``) with
a bootstrap 95 % interval of that median (its noise), in wall time and in this
process's CPU time (less sensitive to other tenants of a shared machine), and
trace bytes per 1 M env steps.

    python benchmarks/trace_overhead.py [--rounds 30] [--variants summary]
    python benchmarks/trace_overhead.py --remote 2 [--rounds 20]

``--variants`` keeps only the named ones beside "untraced" (fewer variants, more rounds in
the same time: a tighter interval for the one that matters).

``--remote N`` keeps N remote EnvRunners (no local mode): their records travel to the
driver through Ray, the only process that writes (goal at level batches: <= 1.05).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

GOALS = {"summary": 1.01, "batches": 1.05, "env check": 1.03}
VARIANTS = ("summary", "batches", "full", "env check")


def median_interval(values: list[float], level: float = 0.95,
                    draws: int = 2000) -> tuple[float, float]:
    """A bootstrap interval of the median: the noise a median ratio is stated with."""
    import random

    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values)))
                     for _ in range(draws))
    cut = int((1 - level) / 2 * draws)
    return medians[cut], medians[-cut - 1]


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.jsonl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--remote", type=int, default=0,
                        help="remote EnvRunners per algorithm (0: everything in-process)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS,
                        help="measure only these beside untraced (default: all)")
    args = parser.parse_args()

    import rldebug
    from rldebug.shapes.results import env_steps_total

    levels = ("summary", "batches", "full") if not args.remote else ("batches",)
    if args.variants:
        levels = tuple(v for v in levels if v in args.variants)
    rldebug.start_ray(num_cpus=max(2, (len(levels) + 1) * args.remote + 2))
    root = Path(tempfile.mkdtemp(prefix="trace_overhead_"))

    def local(config, check_env=False):
        if args.remote:  # keep remote EnvRunners: records go through Ray
            return config.env_runners(num_env_runners=args.remote)
        return rldebug.local_mode(config, check_env=check_env)

    variants = {"untraced": local(rldebug.arena_ppo_config(seed=0))}
    for level in levels:
        variants[level] = local(
            rldebug.trace(rldebug.arena_ppo_config(seed=0), level=level, out=root / level))
    if not args.remote and (not args.variants or "env check" in args.variants):
        variants["env check"] = local(rldebug.arena_ppo_config(seed=0), check_env=True)
    algos = {name: config.build_algo() for name, config in variants.items()}
    times = {name: [] for name in algos}
    cpu = {name: [] for name in algos}
    steps = dict.fromkeys(algos, 0)
    for _ in range(2):  # warm-up: first iterations pay one-off costs
        for algo in algos.values():
            algo.train()
    for round_ in range(args.rounds):
        order = list(algos) if round_ % 2 == 0 else list(reversed(algos))
        for name in order:
            started, cpu_started = time.perf_counter(), time.process_time()
            result = algos[name].train()
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - cpu_started)
            steps[name] = env_steps_total(result)
    where = (f"{args.remote} remote EnvRunners each" if args.remote else "in-process")
    print(f"{where}: median seconds per iteration over {args.rounds} interleaved rounds "
          f"(2000 env steps each); ratio = median over rounds of (variant / untraced in the "
          f"same round), which cancels the machine's drift between rounds:")
    for name, samples in times.items():
        median = statistics.median(samples)
        ratios = [t / u for t, u in zip(samples, times["untraced"])]
        ratio = statistics.median(ratios)
        low, high = median_interval(ratios)
        cpu_ratio = statistics.median(t / u for t, u in zip(cpu[name], cpu["untraced"]))
        line = (f"  {name:9s} {median:.4f} s  ratio {ratio:.3f} [95 % {low:.3f}-{high:.3f}]"
                f"  (CPU time {cpu_ratio:.3f})")
        if name in GOALS:
            line += f"  (goal <= {GOALS[name]})"
        if name in ("summary", "batches", "full"):
            written = directory_bytes(root / name)
            line += f"  {written / steps[name] * 1e6 / 1e6:.1f} MB per 1M env steps"
        print(line)
    for algo in algos.values():
        algo.stop()


if __name__ == "__main__":
    main()
