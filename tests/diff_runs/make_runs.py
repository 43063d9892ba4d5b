"""Regenerate the real runs ``tests/test_diff.py`` compares (run from the repo root):

    .venv/bin/python tests/diff_runs/make_runs.py

Three small Tune-style experiments of PPO on CartPole-v1 (the doctor corpus's
``ppo`` config: batch 1000, 4 epochs, a 32x32 net), two seeds each, 20 iterations:

- ``lr_1e-3/``: lr 1e-3, seeds 0 and 1 (it learns);
- ``lr_1e-3_other_seeds/``: the same config with seeds 2 and 3 (differs in seed only);
- ``lr_1e-5/``: lr 1e-5, seeds 0 and 1 (it barely moves).

The first trial of each is traced at level ``batches``. Runs are stripped as the
doctor corpus strips them (numbers only, no machine paths).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "doctor_corpus"))
sys.path.insert(0, str(HERE.parent))

from make_corpus import copy_trial, ppo

ITERATIONS = 20
EXPERIMENTS = {
    "lr_1e-3": (1e-3, (0, 1)),
    "lr_1e-3_other_seeds": (1e-3, (2, 3)),
    "lr_1e-5": (1e-5, (0, 1)),
}


def main() -> None:
    import numpy as np
    import ray

    import rldebug

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory(prefix="rldebug-diff-runs-") as work:
        for name, (lr, seeds) in EXPERIMENTS.items():
            for i, seed in enumerate(seeds):
                print(f"{name} seed {seed} ...", flush=True)
                np.random.seed(seed)
                config = ppo(lr=lr).debugging(seed=seed)
                logdir = Path(work) / name / f"PPO_seed_{seed}"
                rldebug.run(config, stop={"training_iteration": ITERATIONS}, logdir=logdir,
                            progress=False, trace="batches" if i == 0 else None)
                copy_trial(logdir, HERE / name / f"PPO_seed_{seed}")


if __name__ == "__main__":
    main()
