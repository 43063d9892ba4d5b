"""Regenerate runs a new user made on envs of their own, labelled before the doctor read
them: an independent check of the doctor, beside its fault-injection benchmark.

A helper wrote the envs (``user_envs.py``: a walled grid with a goal, a continuous
reach-a-point task, a pricing bandit paying ~10^3 per step, a two-agent cooperative game)
and the runs below as a new user would, then wrote ``labels.json`` from how each run was
made, and only then ran ``rldebug doctor``. Run from the repo root, one run at a time
(about 40 minutes on 2 cores in all)::

    .venv/bin/python tests/doctor_user_runs/make_runs.py             # every run
    .venv/bin/python tests/doctor_user_runs/make_runs.py grid_ppo_gamma0

Each run is trained with ``rldebug.run`` (the Tune grid with ``tune.Tuner``; the
interrupted one in a subprocess sent SIGINT after 25 s) and stored stripped as the
benchmark stores its runs (``benchmarks.run_store.copy_trial``). ``labels.json`` names
the benchmark operator each fault is (``benchmarks/doctor_faults/operators.py``), so
``benchmarks/doctor_user_runs.py`` scores them as the benchmark does.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

# run -> (how it was made, the benchmark operator it is: None for a healthy run). Every
# fault concerns the run's one module, or every module, so no label names a module (as
# the benchmark labels such runs).
LABELS = {
    "grid_ppo_healthy": ("healthy", None),
    "grid_ppo_gamma0": ("gamma=0 on a goal-only reward", "gamma_0"),
    "grid_ppo_entropy1": ("entropy_coeff=1.0", "entropy_coeff_1"),
    "grid_ppo_term_as_trunc": ("the goal reported as truncated, not terminated (traced)",
                               "terminated_as_truncated"),
    "grid_dqn_healthy": ("healthy (DQN)", None),
    "reach_ppo_healthy": ("healthy", None),
    "reach_ppo_lr100x": ("lr=3e-2, 100x the healthy 3e-4", "lr_x100"),
    "reach_ppo_reward_zero": ("reward always 0", "reward_zero"),
    "reach_ppo_obs_const": ("observations always zeros (untraced)", "obs_zeroed"),
    "reach_sac_scale1e4": ("SAC, rewards x1e4 (stopped after 12 iterations)", "reward_x1000"),
    "pricing_ppo_healthy": ("healthy (rewards ~1000-3000 per step, vf_clip_param=1e9)",
                            None),
    "pricing_ppo_vfclip": ("vf_clip_param=1.0 with returns ~30k-60k", "vf_clip_low"),
    "pricing_ppo_nan": ("a NaN reward with probability 0.002 per step", "nan_reward"),
    "coop_ppo_healthy": ("healthy (2 agents, 2 modules, a shared reward)", None),
    "coop_ppo_swapmap": ("policy_mapping_fn swaps the agents' modules per episode",
                         "modules_swap_per_episode"),
    "tune_lr__3e-05": ("Tune grid, lr=3e-5", None),
    "tune_lr__0.0003": ("Tune grid, lr=3e-4", None),
    "tune_lr__0.03": ("Tune grid, lr=3e-2 (100x)", "lr_x100"),
    # not scored: runs that say how the doctor handles a run that stopped
    "grid_ppo_crash500": ("the env raises at step 500", "special"),
    "grid_ppo_crash5500": ("the env raises at step 5500", "special"),
    "grid_ppo_ctrlc": ("healthy config, 60 iterations, stopped by SIGINT after 25 s",
                       "special"),
}


def ppo(env, env_cfg=None, iters=25, **train):
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (PPOConfig().environment(env, env_config=env_cfg or {})
              .env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=1000, minibatch_size=128, num_epochs=6,
                        lr=train.pop("lr", 3e-4), **train)
              .debugging(seed=0))
    return config, iters


def map_ok(agent_id, episode, **kwargs):
    return {"a0": "p0", "a1": "p1"}[agent_id]


def map_swapping(agent_id, episode, **kwargs):
    flip = zlib.crc32(str(episode.id_).encode()) % 2  # per episode, by its id
    return ["p0", "p1"][(int(agent_id[1]) + flip) % 2]


def coop(mapping=map_ok):
    import user_envs

    config, iters = ppo(user_envs.CoopSignal)
    return config.multi_agent(policies={"p0", "p1"}, policy_mapping_fn=mapping), iters


def grid_dqn():
    import user_envs
    from ray.rllib.algorithms.dqn import DQNConfig

    return (DQNConfig().environment(user_envs.GridGoal)
            .env_runners(num_env_runners=0, rollout_fragment_length=8)
            .training(lr=1e-3, train_batch_size_per_learner=64,
                      num_steps_sampled_before_learning_starts=500,
                      target_network_update_freq=500, n_step=3,
                      replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                            "capacity": 20000})
            .reporting(min_sample_timesteps_per_iteration=500).debugging(seed=0)), 25


def reach_sac(**env_cfg):
    import user_envs
    from ray.rllib.algorithms.sac import SACConfig

    return (SACConfig().environment(user_envs.Reach2D, env_config=env_cfg)
            .env_runners(num_env_runners=0, rollout_fragment_length=4)
            .training(actor_lr=3e-4, critic_lr=3e-4, alpha_lr=3e-4,
                      train_batch_size_per_learner=128,
                      num_steps_sampled_before_learning_starts=500)
            .reporting(min_sample_timesteps_per_iteration=300).debugging(seed=0)), 12


def configs():
    import user_envs as e

    return {
        "grid_ppo_healthy": lambda: ppo(e.GridGoal),
        "grid_ppo_gamma0": lambda: ppo(e.GridGoal, gamma=0.0),
        "grid_ppo_entropy1": lambda: ppo(e.GridGoal, entropy_coeff=1.0),
        "grid_ppo_term_as_trunc": lambda: ppo(e.GridGoal, {"term_as_trunc": True}),
        "grid_dqn_healthy": grid_dqn,
        "reach_ppo_healthy": lambda: ppo(e.Reach2D),
        "reach_ppo_lr100x": lambda: ppo(e.Reach2D, lr=3e-2),
        "reach_ppo_reward_zero": lambda: ppo(e.Reach2D, {"reward_zero": True}),
        "reach_ppo_obs_const": lambda: ppo(e.Reach2D, {"obs_const": True}),
        "reach_sac_scale1e4": lambda: reach_sac(reward_scale=1e4),
        "pricing_ppo_healthy": lambda: ppo(e.Pricing, vf_clip_param=1e9),
        "pricing_ppo_vfclip": lambda: ppo(e.Pricing, vf_clip_param=1.0),
        "pricing_ppo_nan": lambda: ppo(e.Pricing, {"nan_prob": 0.002}, vf_clip_param=1e9),
        "coop_ppo_healthy": coop,
        "coop_ppo_swapmap": lambda: coop(map_swapping),
        "grid_ppo_crash500": lambda: ppo(e.GridGoal, {"crash_at": 500}),
        "grid_ppo_crash5500": lambda: ppo(e.GridGoal, {"crash_at": 5500}),
        "grid_ppo_ctrlc": lambda: ppo(e.GridGoal, iters=60),
    }


TRACED = {"grid_ppo_term_as_trunc": "summary"}


def train(name: str, logdir: Path) -> None:
    """One run with rldebug.run (a failed run keeps its error.txt, as rldebug.run writes)."""
    import rldebug

    config, iterations = configs()[name]()
    try:
        rldebug.run(config, stop={"training_iteration": iterations}, logdir=logdir,
                    progress=False, trace=TRACED.get(name)).algo.stop()
    except Exception as err:  # noqa: BLE001 - the crashing runs are cases too
        print(f"{name}: raised {type(err).__name__}: {err}"[:200])


def interrupted(name: str, logdir: Path, after_s: float = 25) -> None:
    """The run in a subprocess, sent SIGINT (Ctrl+C) after ``after_s`` seconds."""
    process = subprocess.Popen([sys.executable, __file__, "--one", name, str(logdir)])
    time.sleep(after_s)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=300)


def tune_grid(work: Path) -> list[Path]:
    """A Tune experiment: PPO on Reach2D over lr (3e-5, 3e-4, 3e-2), one trial at a time."""
    import ray
    import user_envs
    from ray import tune
    from ray.rllib.algorithms.ppo import PPOConfig

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    config = (PPOConfig().environment(user_envs.Reach2D).env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=1000, minibatch_size=128, num_epochs=6,
                        lr=tune.grid_search([3e-5, 3e-4, 3e-2])).debugging(seed=0))
    tune.Tuner("PPO", param_space=config,
               run_config=tune.RunConfig(name="tune_lr", storage_path=str(work),
                                         stop={"training_iteration": 22}),
               tune_config=tune.TuneConfig(max_concurrent_trials=1)).fit()
    return sorted((work / "tune_lr").glob("PPO_*"))


def main(names: list[str]) -> None:
    from benchmarks.run_store import copy_trial

    wanted = names or list(LABELS)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in wanted:
            if name.startswith("tune_lr__"):
                continue
            logdir = work / name
            (interrupted if name == "grid_ppo_ctrlc" else train)(name, logdir)
            copy_trial(logdir, HERE / "runs" / name)
            if (logdir / "interrupted.txt").is_file():
                shutil.copyfile(logdir / "interrupted.txt",
                                HERE / "runs" / name / "interrupted.txt")
        if any(name.startswith("tune_lr__") for name in wanted):
            for trial in tune_grid(work):
                lr = json.loads((trial / "params.json").read_text())["lr"]
                copy_trial(trial, HERE / "runs" / f"tune_lr__{lr:g}")
    labels = {name: {"made": made, "operator": operator, "module": None}
              for name, (made, operator) in LABELS.items()}
    (HERE / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        train(sys.argv[2], Path(sys.argv[3]))
    else:
        main(sys.argv[1:])
