"""Time from process start to the first env.step: rldebug local mode, and the same
unchanged script under ``rldebug debug``, vs RLlib defaults.

Each variant runs in a fresh Python process (so imports and Ray start-up count),
interleaved, several times; the first ``env.step`` anywhere (driver or EnvRunner
actor) writes a timestamp to a file the parent watches. ``debug`` runs the
``defaults`` script unchanged as ``python -m rldebug debug script.py defaults``.

    python benchmarks/launch.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import median

CHILD = r"""
import os, sys, time
sys.path.insert(0, {bench!r})
from rldebug.arena import MultiAgentArena

class TimedArena(MultiAgentArena):
    def step(self, action_dict):
        path = os.environ["RLDEBUG_BENCH_STAMP"]
        if not os.path.exists(path):
            with open(path + ".tmp", "w") as f:
                f.write(repr(time.time()))
            os.replace(path + ".tmp", path)
        return super().step(action_dict)

variant = sys.argv[1]
if variant == "rldebug":  # the library path: rldebug.run (in-process, no Ray instance)
    import rldebug
    config = rldebug.arena_ppo_config().environment(TimedArena)
    rldebug.run(config, max_iterations=1, progress=False)
else:
    from _common import default_ppo_arena_config
    config = default_ppo_arena_config().environment(TimedArena)
    algo = config.build_algo()
    algo.train()
"""


def time_to_first_step(variant: str, timeout: float = 300.0) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        stamp = os.path.join(tmp, "first_step")
        env = {**os.environ, "RLDEBUG_BENCH_STAMP": stamp, "RAY_USAGE_STATS_ENABLED": "0"}
        script = Path(tmp) / "train.py"
        script.write_text(CHILD.format(bench=str(HERE)))
        command = ([sys.executable, "-m", "rldebug", "debug", str(script), "defaults"]
                   if variant == "debug" else [sys.executable, str(script), variant])
        started = time.time()
        child = subprocess.Popen(
            command,
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            while not os.path.exists(stamp):
                if child.poll() is not None:
                    raise RuntimeError(f"{variant} exited ({child.returncode}) before env.step")
                if time.time() - started > timeout:
                    raise TimeoutError(f"{variant}: no env.step within {timeout} s")
                time.sleep(0.05)
            return float(Path(stamp).read_text()) - started
        finally:
            # The child's Ray processes share its session: end them all, and only them.
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times = {"rldebug": [], "debug": [], "defaults": []}
    for i in range(args.repeats):
        for variant in times:
            times[variant].append(time_to_first_step(variant))
            print(f"run {i + 1}: {variant:8s} {times[variant][-1]:6.2f} s", flush=True)
    local, default = median(times["rldebug"]), median(times["defaults"])
    print(f"\nmedian time to first env.step: rldebug local mode {local:.2f} s, "
          f"RLlib defaults {default:.2f} s")
    print(f"ratio rldebug / defaults = {local / default:.2f}  (goal <= 0.5)")
    debug = median(times["debug"])
    print(f"rldebug debug script.py: {debug:.2f} s, ratio debug / defaults = "
          f"{debug / default:.2f}  (goal <= 0.5)")


if __name__ == "__main__":
    main()
