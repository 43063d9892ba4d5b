"""RLlib 2.60's own example scripts, unchanged, plain and under ``rldebug debug``.

Each script in :data:`CORPUS` runs twice for ``--stop-iters=2 --num-env-runners=0``:
plain (``python SCRIPT``: Tune, trial actors, its own Ray instance) and under
``python -m rldebug debug SCRIPT`` (every trial in that process). The table gives
each run's outcome (``ok``, or the failure's last exception line) and seconds, and
whether both agree (both succeed, or both fail with the same exception type) and
the rldebug run trained in-process. :data:`NOT_HERE` lists examples that need
packages not installable here, with the reason.

    python benchmarks/rllib_examples.py [--only NAME ...] [--timeout 300]

Scripts plain RLlib cannot run on 2 CPUs (:data:`PLAIN_CANNOT_RUN_HERE`) run under
``rldebug debug`` only; :data:`PRINTS` names what a script prints when it does its job.
``tests/test_rllib_examples.py`` (slow) asserts that every script agrees.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ARGS = ("--stop-iters=2", "--num-env-runners=0")

# Paths under ray/rllib/examples: envs, connectors, learners, RLModules, multi-agent
# setups and custom algorithms, the sorts of script a user presses Debug on.
CORPUS = (
    "algorithms/vpg_custom_algorithm.py",
    "connectors/flatten_observations_dict_space.py",
    "connectors/mean_std_filtering.py",
    "connectors/multi_agent_observation_preprocessor.py",
    "connectors/prev_actions_prev_rewards.py",
    "connectors/single_agent_observation_preprocessor.py",
    "envs/agents_act_in_sequence.py",
    "envs/agents_act_simultaneously.py",
    "envs/async_gym_env_vectorization.py",
    "envs/custom_env_render_method.py",
    "envs/custom_gym_env.py",
    "envs/env_w_protobuf_observations.py",
    "learners/ppo_with_custom_loss_fn.py",
    "learners/ppo_with_torch_lr_schedulers.py",
    "learners/separate_vf_lr_and_optimizer.py",
    "multi_agent/custom_heuristic_policy.py",
    "multi_agent/different_spaces_for_agents.py",
    "multi_agent/multi_agent_cartpole.py",
    "multi_agent/multi_agent_pendulum.py",
    "multi_agent/shared_encoder_cartpole.py",
    "multi_agent/two_step_game_with_grouped_agents.py",
    "rl_modules/action_masking_rl_module.py",
    "rl_modules/custom_lstm_rl_module.py",
    "algorithms/appo_custom_algorithm_w_shared_data_actor.py",
    # Added 2026-12-05: the other scripts of RLlib 2.60's examples that run here.
    "ray_tune/appo_hyperparameter_tune.py",
    "ray_tune/custom_experiment.py",
    "ray_tune/custom_logger.py",
    "ray_tune/custom_progress_reporter.py",
    "rl_modules/migrate_modelv2_to_new_api_stack_by_config.py",
    "rl_modules/migrate_modelv2_to_new_api_stack_by_policy_checkpoint.py",
    "rl_modules/pretraining_single_agent_training_multi_agent.py",
    "_old_api_stack/centralized_critic.py",
    "_old_api_stack/parametric_actions_cartpole.py",
    "_old_api_stack/parametric_actions_cartpole_embeddings_learnt_by_model.py",
    "_old_api_stack/replay_buffer_api.py",
)

# Arguments a script requires beyond ARGS.
EXTRA_ARGS = {"multi_agent/two_step_game_with_grouped_agents.py": ("--num-agents=2",),
              # its defaults: 12 trials, 4 at once, each with a GPU Learner
              "ray_tune/appo_hyperparameter_tune.py": (
                  "--num-gpus-per-learner=0", "--num-learners=0", "--num-samples=2",
                  "--max-concurrent-trials=1")}

# Scripts with a parser of their own (or none), given these arguments in place of ARGS.
OWN_ARGS = {
    "ray_tune/custom_experiment.py": (),
    "ray_tune/custom_logger.py": (),
    "ray_tune/custom_progress_reporter.py": (),
    "rl_modules/migrate_modelv2_to_new_api_stack_by_config.py": (),
    "rl_modules/migrate_modelv2_to_new_api_stack_by_policy_checkpoint.py": (),
    "_old_api_stack/centralized_critic.py": ("--stop-iters=2",),
    "_old_api_stack/parametric_actions_cartpole.py": ("--stop-iters=2",),
    "_old_api_stack/parametric_actions_cartpole_embeddings_learnt_by_model.py": (
        "--stop-iters=2",),
    "_old_api_stack/replay_buffer_api.py": ("--stop-iters=2",),
}

NOT_HERE = {
    "connectors/frame_stacking.py": "Atari (ale_py and its ROMs)",
    "rl_modules/custom_cnn_rl_module.py": "Atari (ale_py and its ROMs)",
    "multi_agent/rock_paper_scissors_heuristic_vs_learned.py": "pettingzoo",
    "multi_agent/rock_paper_scissors_learned_vs_learned.py": "pettingzoo",
    "multi_agent/pettingzoo_independent_learning.py": "pettingzoo",
    "multi_agent/pettingzoo_parameter_sharing.py": "pettingzoo",
    "multi_agent/self_play_with_open_spiel.py": "open_spiel",
    "multi_agent/self_play_league_based_with_open_spiel.py": "open_spiel",
    "envs/env_connecting_to_rllib_w_tcp_client.py": "an external client process",
    "_old_api_stack/attention_net_supervised.py": "tensorflow (and imports `rllib.models`,"
                                                  " a module that does not exist)",
    # 2026-12-05, each run plain and under rldebug debug first, with the same outcome
    # where both ended:
    "envs/env_rendering_and_recording.py": "Atari (ale_py)",
    "multi_agent/self_play_footsies.py": "ray.rllib.examples.algorithms.ppo, which RLlib "
                                         "2.60 does not ship (ModuleNotFoundError, both)",
    "offline_rl/cartpole_recording.py": "msgpack_numpy, for RLlib's offline data writer "
                                        "(plain RLlib also ran past 600 s)",
    "offline_rl/pretrain_bc_single_agent_evaluate_as_multi_agent.py": "RLlib's test data "
                                                                      "(not in the wheel)",
    "offline_rl/train_w_bc_finetune_w_ppo.py": "RLlib's test data (not in the wheel)",
    "ray_serve/ray_serve_with_rllib.py": "Ray Serve's `serve` command line",
    "algorithms/maml_lr_supervised_learning.py": "over 600 s, plain and under rldebug debug",
}

# Scripts plain Tune/RLlib cannot run on this machine's 2 CPUs (their actors wait for
# CPUs past 600 s) and that take no argument to shrink them: run under rldebug debug
# only, where they must train in-process.
PLAIN_CANNOT_RUN_HERE = {
    "algorithms/appo_custom_algorithm_w_shared_data_actor.py": "APPO's actors and its "
                                                                "shared data actor",
    "ray_tune/custom_logger.py": "a trial with 2 remote EnvRunners",
    "_old_api_stack/replay_buffer_api.py": "a trial with 4 remote EnvRunners",
    "ray_tune/appo_hyperparameter_tune.py": "its 2 aggregator actors per Learner (fixed in "
                                            "the script)",
    "ray_tune/custom_progress_reporter.py": "a trial with 2 remote EnvRunners",
}

# What a script prints when it does its job (its Tune callback ran...): required of
# every run that succeeds.
PRINTS = {"ray_tune/custom_logger.py": "ABC Avg-return"}


def examples_dir() -> Path:
    import ray.rllib

    return Path(ray.rllib.__file__).parent / "examples"


@dataclass
class Outcome:
    ok: bool
    detail: str  # "ok", or the last exception line
    seconds: float
    in_process: bool = False
    stdout: str = ""

    @property
    def error_type(self) -> str:
        match = re.match(r"([\w.]+(?:Error|Exception|Exit))\b", self.detail)
        return match.group(1) if match else self.detail[:60]


def _last_exception(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines()]
    found = [line for line in lines if re.match(r"[\w.]+(Error|Exception|Exit)\b.*", line)]
    return found[-1][:200] if found else (lines[-1][:200] if lines else "no output")


def run_one(script: str, debug: bool, timeout: float, env: dict | None = None) -> Outcome:
    path = examples_dir() / script
    command = [sys.executable, *(["-m", "rldebug", "debug"] if debug else []), str(path),
               *OWN_ARGS.get(script, ARGS), *EXTRA_ARGS.get(script, ())]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=env or dict(os.environ), check=False)
    except subprocess.TimeoutExpired:
        return Outcome(False, f"TimeoutExpired after {timeout:.0f} s",
                       time.perf_counter() - started)
    seconds = time.perf_counter() - started
    ok = done.returncode == 0
    return Outcome(ok, "ok" if ok else _last_exception(done.stderr), seconds,
                   # a Tune trial's notice, or an Algorithm the script builds itself
                   in_process=("(in this process)" in done.stderr
                               or " built in this process" in done.stderr),
                   stdout=done.stdout)


def agree(plain: Outcome | None, debugged: Outcome, script: str = "") -> bool:
    """Both succeed (the rldebug one in-process, each printing what :data:`PRINTS`
    expects of the script), or both fail the same way; with no plain run
    (:data:`PLAIN_CANNOT_RUN_HERE`), the rldebug one succeeds in-process."""
    def did_its_job(outcome: Outcome) -> bool:
        return outcome.ok and PRINTS.get(script, "") in outcome.stdout

    if plain is None:
        return did_its_job(debugged) and debugged.in_process
    if plain.ok or debugged.ok:
        return did_its_job(plain) and did_its_job(debugged) and debugged.in_process
    return plain.error_type == debugged.error_type


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="scripts (paths under rllib/examples)")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--debug-only", action="store_true",
                        help="run under rldebug debug only (after a change to debug mode, "
                             "half the time): each must then do its job in-process; the "
                             "scripts that fail plain too are listed as differing")
    args = parser.parse_args(argv)
    scripts = args.only or list(CORPUS)
    rows = []
    for script in scripts:
        plain = None if script in PLAIN_CANNOT_RUN_HERE or args.debug_only else \
            run_one(script, debug=False, timeout=args.timeout)
        debugged = run_one(script, debug=True, timeout=args.timeout)
        rows.append((script, plain, debugged))
        said = ("not run" if plain is None else f"{plain.detail} ({plain.seconds:.0f} s)")
        print(f"{'agree' if agree(plain, debugged, script) else 'DIFFER':6} {script}: plain "
              f"{said}, rldebug {debugged.detail} "
              f"({debugged.seconds:.0f} s{', in-process' if debugged.in_process else ''})",
              flush=True)
    same = sum(agree(p, d, script) for script, p, d in rows)
    both = [(p, d) for _, p, d in rows if p is not None]  # the ratio: scripts run both ways
    plain_s = sum(p.seconds for p, _ in both)
    debug_s = sum(d.seconds for _, d in both)
    if both:
        print(f"\n{same}/{len(rows)} agree; wall time plain {plain_s:.0f} s, rldebug debug "
              f"{debug_s:.0f} s (ratio {debug_s / max(plain_s, 1e-9):.2f})")
    else:
        print(f"\n{same}/{len(rows)} did their job in-process under rldebug debug, "
              f"{sum(d.seconds for _, _, d in rows):.0f} s")
    for script, why in NOT_HERE.items():
        print(f"not here: {script} needs {why}")
    for script, why in PLAIN_CANNOT_RUN_HERE.items():
        print(f"rldebug debug only: {script} (plain needs more than 2 CPUs: {why})")
    return 0 if same == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
