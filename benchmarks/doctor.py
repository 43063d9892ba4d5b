"""How fast ``rldebug doctor`` analyses an experiment, and how the time grows.

Writes synthetic experiments with result lines shaped like RLlib 2.60's new
API stack (two modules, ~190 metrics per line including the connector timers)
to a temp dir, then times ``rldebug.doctor.diagnose(dir)`` (reading + all rules).
"Tune" lines also carry the whole config (~260 keys), as Tune's result.json
does; "run" lines are ``rldebug run``'s (config only in params.json).

    python benchmarks/doctor.py [--repeats 3] [--quick] [--against REV]

``--against REV`` also times the doctor of git revision REV (exported to a temp
dir, run in a child process on the same experiment, interleaved with this
checkout's) and prints the ratio: what new rules cost, measured side by side.

Goal: 16 trials x 1000 iterations of Tune lines in < 1 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import median

MODULES = ("pol1", "pol2")


def fake_config() -> dict:
    """A config dict the size of PPOConfig.to_dict() (~260 keys, some nested)."""
    config = {f"setting_{i}": (i * 0.5 if i % 3 else f"value_{i}") for i in range(240)}
    config.update(lr=3e-4, kl_target=0.01, vf_clip_param=10.0, env_config={"max_timesteps": 100},
                  model={f"m_{i}": i for i in range(20)}, policies={m: [None] * 4 for m in MODULES})
    return config


def fake_result(i: int, rng: random.Random) -> dict:
    """One new-stack result: the doctor's keys plus the timers RLlib logs alongside."""
    learners = {"__all_modules__": {f"learner_connector/timers/connectors/c{k}": rng.random()
                                    for k in range(12)}
                | {"num_env_steps_trained": 4000, "num_trainable_parameters": math.nan}}
    for m in MODULES:
        learners[m] = {
            "entropy": 1.38 - 0.0005 * i + 0.01 * rng.random(), "mean_kl_loss": 0.01 * rng.random(),
            "curr_kl_coeff": 0.2, "curr_entropy_coeff": 0.0,
            "vf_explained_var": min(0.9, 0.001 * i) + 0.05 * rng.random(),
            "vf_loss": 5.0 * rng.random(), "vf_loss_unclipped": 8.0 * rng.random(),
            "policy_loss": -0.01 * rng.random(), "total_loss": 5.0 * rng.random(),
            "default_optimizer_learning_rate": 3e-4, "num_module_steps_trained": 2000,
            "diff_num_grad_updates_vs_sampler_policy": 1.0, "weights_seq_no": float(i),
            "module_train_batch_size_mean": 500.0, "num_trainable_parameters": math.nan}
    ret = {m: 0.01 * i + rng.gauss(0, 1) for m in MODULES}
    runners = {f"env_to_module_connector/timers/connectors/c{k}": rng.random() for k in range(40)}
    runners.update({
        "episode_return_mean": sum(ret.values()), "episode_return_min": -30.0,
        "episode_return_max": 20.0, "episode_len_mean": 100.0 - rng.random(),
        "episode_len_min": 50, "episode_len_max": 100, "num_episodes": 40,
        "agent_episode_returns_mean": {a.replace("pol", "agent"): r for a, r in ret.items()},
        "module_episode_returns_mean": ret, "num_env_steps_sampled": 4000})
    return {"timers": {f"t{k}": rng.random() for k in range(8)}, "env_runners": runners,
            "learners": learners, "perf": {"cpu_util_percent": 50.0, "ram_util_percent": 8.0},
            "training_iteration": i, "done": False, "trial_id": "x", "pid": 1}


def write_experiment(root: Path, trials: int, iterations: int, tune: bool) -> Path:
    config = fake_config()
    rng = random.Random(0)
    lines = []
    for i in range(1, iterations + 1):
        result = fake_result(i, rng)
        if tune:
            result.update(config=config, time_since_restore=1.0)
        lines.append(json.dumps(result))
    text = "\n".join(lines) + "\n"
    experiment = root / f"exp_{trials}x{iterations}_{'tune' if tune else 'run'}"
    for t in range(trials):
        trial = experiment / f"PPO_Arena_{t:05d}"
        trial.mkdir(parents=True)
        (trial / "result.json").write_text(text)
        (trial / "params.json").write_text(json.dumps(config))
    return experiment


def time_case(root: Path, trials: int, iterations: int, tune: bool, repeats: int) -> tuple:
    from rldebug.doctor import diagnose

    experiment = write_experiment(root, trials, iterations, tune)
    size = sum(f.stat().st_size for f in experiment.rglob("result.json")) / 1e6
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        diagnosis = diagnose(experiment)
        times.append(time.perf_counter() - start)
    assert sum(t.iterations for t in diagnosis.trials) == trials * iterations
    shutil.rmtree(experiment)
    return median(times), size


_TIME_ONE = """
import sys, time
from rldebug.doctor import diagnose
start = time.perf_counter()
diagnose(sys.argv[1])
print(time.perf_counter() - start)
"""


def _timed_in_child(source: Path, experiment: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run([sys.executable, "-c", _TIME_ONE, str(experiment)], env=env,
                          capture_output=True, text=True, check=True, cwd=source)
    return float(done.stdout.strip().splitlines()[-1])


def compare(revision: str, repeats: int) -> None:
    """This checkout's doctor vs ``revision``'s on one 16 x 1000 Tune experiment."""
    with tempfile.TemporaryDirectory(prefix="rldebug_doctor_vs_") as tmp:
        tmp = Path(tmp)
        old = tmp / "old"
        old.mkdir()
        archive = subprocess.run(["git", "archive", revision, "rldebug"], cwd=HERE.parent,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        experiment = write_experiment(tmp, 16, 1000, True)
        times: dict[str, list[float]] = {"this": [], revision: []}
        for _ in range(repeats):  # interleaved, each in a fresh process
            times["this"].append(_timed_in_child(HERE.parent, experiment))
            times[revision].append(_timed_in_child(old, experiment))
        new_s, old_s = median(times["this"]), median(times[revision])
        print(f"16 x 1000 tune lines: this checkout {new_s:.3f} s, {revision} {old_s:.3f} s, "
              f"ratio {new_s / old_s:.2f} (median of {repeats}, interleaved)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only the 16 x 1000 goal case")
    parser.add_argument("--against", metavar="REV", help="also time git revision REV, "
                                                          "side by side")
    args = parser.parse_args()
    if args.against:
        compare(args.against, args.repeats)
        return
    cases = [(16, 1000, True)]
    if not args.quick:
        cases += [(4, 1000, True), (64, 1000, False), (16, 1000, False), (4, 1000, False),
                  (16, 250, True), (16, 4000, False), (16, 250, False)]
    print(f"{'trials':>6} {'iters':>6} {'lines':>6} {'MB':>7} {'seconds':>8} {'us/iter':>8}")
    with tempfile.TemporaryDirectory(prefix="rldebug_doctor_bench_") as tmp:
        for trials, iterations, tune in cases:
            seconds, size = time_case(Path(tmp), trials, iterations, tune, args.repeats)
            per = seconds / (trials * iterations) * 1e6
            print(f"{trials:>6} {iterations:>6} {'tune' if tune else 'run':>6} {size:>7.0f} "
                  f"{seconds:>8.3f} {per:>8.1f}", flush=True)
    print("Goal: 16 x 1000 (tune lines) < 1 s.")


if __name__ == "__main__":
    main()
