"""Regenerate the runs that check ``critic_clipped``'s reading of GAE's ``lambda_`` on
configs the fault-injection benchmark does not hold (2026-12-06).

Five PPO runs, each labelled by how it was made before the doctor read it: RLlib 2.60's
own Pendulum settings (``examples/multi_agent/multi_agent_pendulum.py``: ``lambda_`` 0.1,
gamma 0.95, lr 3e-4, 512-step batches, minibatches of 64, relu, ``vf_clip_param`` 10),
single-agent, healthy and with ``vf_clip_param`` 0.1, and with ``lambda_`` 0.95 and
``vf_clip_param`` 0.1; LunarLanderContinuous at ``lambda_`` 0.1, unclipped and with
``vf_clip_param`` 0.1. The first two were read to refine the rule (its explained-variance
test dropped where GAE leans on the critic); the other three were read once after it.
About 10 minutes on one core; run from the repo root::

    .venv/bin/python tests/doctor_gae_checks/make_runs.py            # every run
    .venv/bin/python tests/doctor_gae_checks/make_runs.py NAME ...   # named runs

Each run is trained with ``rldebug.run`` and stored stripped as the benchmark stores its
runs (``benchmarks.run_store.copy_trial``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1])]

# run -> (how it was made, the injected fault or None, read before the rule was final)
LABELS = {
    "pendulum_rllib_example__healthy": (
        "RLlib's Pendulum settings (lambda_ 0.1, vf_clip_param 10), 120 x 512 steps",
        None, True),
    "pendulum_rllib_example__vf_clip_0.1": (
        "RLlib's Pendulum settings with vf_clip_param 0.1", "vf_clip_low", True),
    "pendulum_lambda0.95__vf_clip_0.1": (
        "RLlib's Pendulum settings with lambda_ 0.95 and vf_clip_param 0.1", "vf_clip_low",
        False),
    "lunarcont_lambda0.1__vf_clip_0.1": (
        "LunarLanderContinuous, lambda_ 0.1, vf_clip_param 0.1, 50 x 2000 steps",
        "vf_clip_low", False),
    "lunarcont_lambda0.1__healthy_unclipped": (
        "LunarLanderContinuous, lambda_ 0.1, vf_clip_param inf, 50 x 2000 steps", None,
        False),
}


def _pendulum(**training):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    settings = {"train_batch_size_per_learner": 512, "minibatch_size": 64, "lambda_": 0.1,
                "gamma": 0.95, "lr": 0.0003, "vf_clip_param": 10.0, **training}
    return (PPOConfig().environment("Pendulum-v1").env_runners(num_env_runners=0)
            .training(**settings)
            .rl_module(model_config=DefaultModelConfig(fcnet_activation="relu"))
            .debugging(seed=7)), 120


def _lunar(**training):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    settings = {"train_batch_size_per_learner": 2000, "minibatch_size": 250,
                "num_epochs": 6, "lr": 5e-4, "lambda_": 0.1, "gamma": 0.99, **training}
    return (PPOConfig().environment("LunarLanderContinuous-v3")
            .env_runners(num_env_runners=0).training(**settings)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
            .debugging(seed=7)), 50


CONFIGS = {
    "pendulum_rllib_example__healthy": lambda: _pendulum(),
    "pendulum_rllib_example__vf_clip_0.1": lambda: _pendulum(vf_clip_param=0.1),
    "pendulum_lambda0.95__vf_clip_0.1": lambda: _pendulum(lambda_=0.95, vf_clip_param=0.1),
    "lunarcont_lambda0.1__vf_clip_0.1": lambda: _lunar(vf_clip_param=0.1),
    "lunarcont_lambda0.1__healthy_unclipped": lambda: _lunar(vf_clip_param=float("inf")),
}


def main(names: list[str]) -> None:
    import torch

    import rldebug
    from benchmarks.run_store import copy_trial

    torch.set_num_threads(1)
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        raise SystemExit(f"unknown run(s) {unknown}; the runs are {sorted(CONFIGS)}")
    with tempfile.TemporaryDirectory(prefix="rldebug-gae-") as work:
        for name in names or list(CONFIGS):
            config, iterations = CONFIGS[name]()
            result = rldebug.run(config, stop={"training_iteration": iterations},
                                 logdir=Path(work) / name, progress=False)
            result.algo.stop()
            copy_trial(Path(work) / name, HERE / "runs" / name)
            print(f"{name}: stored", flush=True)
    (HERE / "labels.json").write_text(json.dumps(
        {name: {"made": made, "operator": operator, "read_before_the_rule_was_final": read}
         for name, (made, operator, read) in LABELS.items()}, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
