"""RLlib's algorithm build under runpy, with and without rldebug's record of the frames
that belong to no module (rldebug/inprocess/frames.py), side by side in one process.

RLlib 2.60's ``ConnectorV2.__init__`` calls ``inspect.stack()``; under ``rldebug debug
script.py`` (runpy) every ``<frozen runpy>`` frame on the stack made ``inspect`` rescan
``sys.modules``. This script runs itself through ``runpy`` (as ``rldebug debug`` runs a
script), then in interleaved rounds times ``inspect.stack()`` and the build of RLlib's
default PPO CartPole Algorithm (in-process, no EnvRunner actors) without the record
and with it, and prints the ratios.

    python benchmarks/runpy_frames.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import inspect
import runpy
import statistics
import sys
import time


def _stack_ms(repeats: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        inspect.stack()
    return 1000 * (time.perf_counter() - started) / repeats


def _build_s() -> float:
    from ray.rllib.algorithms.ppo import PPOConfig

    config = PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
    started = time.perf_counter()
    algo = config.build_algo()
    elapsed = time.perf_counter() - started
    algo.stop()
    return elapsed


def measure(rounds: int) -> None:
    import ray

    from rldebug.inprocess import frames

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    _build_s()  # warm-up: imports, registries
    results = {"without": {"stack": [], "build": []}, "with": {"stack": [], "build": []}}
    for _ in range(rounds):
        for variant in ("without", "with"):
            recorded = [f for f, m in inspect.modulesbyfile.items() if m == frames._NO_MODULE]
            for file in recorded:
                del inspect.modulesbyfile[file]
            if variant == "with":
                frames.remember_frames_without_module()
            results[variant]["stack"].append(_stack_ms())
            results[variant]["build"].append(_build_s())
    ray.shutdown()
    runpy_frames = sum(f.filename == "<frozen runpy>" for f in inspect.stack())
    print(f"{len(sys.modules)} modules imported, {runpy_frames} <frozen runpy> frames on the "
          f"stack, {rounds} interleaved rounds (median):")
    for what, unit in (("stack", "ms per inspect.stack()"), ("build", "s per PPO build")):
        plain = statistics.median(results["without"][what])
        recorded = statistics.median(results["with"][what])
        print(f"  {unit:24} without the record {plain:8.3f}, with it {recorded:8.3f}: "
              f"ratio {recorded / plain:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    if __name__ == "__main__" and not getattr(sys, "_rldebug_under_runpy", False):
        sys._rldebug_under_runpy = True  # run again through runpy, as rldebug debug does
        runpy.run_path(__file__, run_name="__runpy_frames__")
        return
    measure(args.rounds)


if __name__ in ("__main__", "__runpy_frames__"):
    main()
