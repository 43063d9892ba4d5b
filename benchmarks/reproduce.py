"""What reproducing costs: replay time by the event's iteration, disk, and tracing overhead.

1. One seeded PPO run of 200 iterations on a small env whose sensor spikes now and
   then (an info event, recorded by ``trace(..., reproducible=True, events=("spike",))``).
   The spikes nearest iteration 5 and iteration 200 are each reproduced 3 times, in
   alternation; the ratio of the median times must stay <= 1.5: the replay loads the
   saved state of that iteration, it re-trains nothing.
2. Disk: the replay state after 100 and after 200 iterations; its growth between them,
   per 1000 iterations (the rings are bounded; what grows is the episodes and weights
   kept for events).
3. Overhead: the arena's ``arena_ppo_config()`` traced at level ``batches``, with and
   without ``reproducible=True``, against untraced, in interleaved rounds (median of the
   per-round ratios).

    python benchmarks/reproduce.py [--iterations 200] [--rounds 10] [--only replay|overhead]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

GOAL_RATIO = 1.5


class SpikySensor(gym.Env):
    """Steer a value to 0; about one step in 2000 the sensor spikes (info["spike"])."""

    INFO_EVENTS = ("spike",)

    def __init__(self, config=None):
        self.observation_space = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.value, self.t = float(self.np_random.uniform(-2, 2)), 0
        return np.array([self.value, 0.0], np.float32), {}

    def step(self, action):
        self.value = float(np.clip(self.value + (int(action) - 1) * 0.2
                                   + self.np_random.normal(0, 0.05), -10, 10))
        self.t += 1
        spike = bool(self.np_random.random() < 0.0005)
        reading = 9.0 if spike else self.value
        return (np.array([reading, self.value], np.float32), -abs(self.value), False,
                self.t >= 50, {"spike": spike})


def sensor_config():
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return (PPOConfig().environment(SpikySensor)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=2)
            .training(train_batch_size=400, minibatch_size=100, num_epochs=2)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32, 32]))
            .debugging(seed=0))


def replay_bytes(trace_dir: Path) -> int:
    return sum(f.stat().st_size for f in (trace_dir / "replay").rglob("*") if f.is_file())


def cost_by_iteration(iterations: int) -> None:
    import rldebug
    from rldebug.reproduction import reproducible_events

    trace_dir = Path(tempfile.mkdtemp(prefix="reproduce_bench_"))
    traced = rldebug.trace(sensor_config(), out=trace_dir, reproducible=True,
                           events=("spike",), max_events=100_000)
    algo = traced.build_algo()
    sizes = {}
    started = time.perf_counter()
    for iteration in range(1, iterations + 1):
        algo.train()
        if iteration in (iterations // 2, iterations):
            sizes[iteration] = replay_bytes(trace_dir)
    train_s = time.perf_counter() - started
    algo.stop()
    events = [e for e in reproducible_events(trace_dir) if e.reproducible]
    early = min(events, key=lambda e: abs(e.iteration - 5))
    late = min(events, key=lambda e: abs(e.iteration - iterations))
    times = {"early": [], "late": []}
    for _ in range(3):
        for name, event in (("early", early), ("late", late)):
            t0 = time.perf_counter()
            result = rldebug.reproduce(trace_dir, event=event.number, mode="log")
            times[name].append(time.perf_counter() - t0)
            assert result.reproduced, result.summary()
            result.close()
    early_s, late_s = statistics.median(times["early"]), statistics.median(times["late"])
    print(f"{iterations} iterations trained in {train_s:.0f} s; {len(events)} spikes recorded")
    print(f"reproduce the spike of iteration {early.iteration} (env step {early.env_step}): "
          f"{early_s:.2f} s; of iteration {late.iteration} (env step {late.env_step}): "
          f"{late_s:.2f} s (medians of 3)")
    ratio = late_s / early_s
    print(f"  ratio late/early {ratio:.2f} (goal <= {GOAL_RATIO}): "
          f"{'met' if ratio <= GOAL_RATIO else 'NOT met'}")
    half, full = sizes[iterations // 2], sizes[iterations]
    growth = (full - half) / (iterations - iterations // 2) * 1000
    print(f"replay state on disk: {half / 1e6:.2f} MB after {iterations // 2} iterations, "
          f"{full / 1e6:.2f} MB after {iterations}; growth {growth / 1e6:.2f} MB per 1000 "
          f"iterations ({len(events) / iterations * 1000:.0f} kept events per 1000 iterations)")


def overhead(rounds: int) -> None:
    import rldebug

    root = Path(tempfile.mkdtemp(prefix="reproduce_overhead_"))

    def local(config):
        return rldebug.local_mode(config, check_env=False)

    variants = {
        "untraced": local(rldebug.arena_ppo_config(seed=0)),
        "batches": local(rldebug.trace(rldebug.arena_ppo_config(seed=0), out=root / "b")),
        "batches+reproducible": local(rldebug.trace(rldebug.arena_ppo_config(seed=0),
                                                    out=root / "r", reproducible=True)),
    }
    algos = {name: config.build_algo() for name, config in variants.items()}
    times = {name: [] for name in algos}
    for _ in range(2):  # warm-up
        for algo in algos.values():
            algo.train()
    for round_ in range(rounds):
        order = list(algos) if round_ % 2 == 0 else list(reversed(algos))
        for name in order:
            t0 = time.perf_counter()
            algos[name].train()
            times[name].append(time.perf_counter() - t0)
    print(f"arena_ppo_config(), {rounds} interleaved rounds (median s per iteration, median "
          f"per-round ratio to untraced):")
    for name, samples in times.items():
        ratio = statistics.median(t / u for t, u in zip(samples, times["untraced"]))
        print(f"  {name:22s} {statistics.median(samples):.3f} s  ratio {ratio:.3f}")
    replay = replay_bytes(root / "r")
    print(f"  the reproducible trace's replay state after {rounds + 2} iterations: "
          f"{replay / 1e6:.2f} MB (rings of the last 3 iterations and sample() calls)")
    for algo in algos.values():
        algo.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", choices=["replay", "overhead"])
    args = parser.parse_args()

    import rldebug

    rldebug.start_ray()
    if args.only != "overhead":
        cost_by_iteration(args.iterations)
    if args.only != "replay":
        overhead(args.rounds)


if __name__ == "__main__":
    main()
