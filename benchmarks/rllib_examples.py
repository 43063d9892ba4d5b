"""RLlib 2.60's own example scripts, unchanged, plain and under ``rldebug debug``.

Each script in :data:`CORPUS` runs twice for ``--stop-iters=2 --num-env-runners=0``:
plain (``python SCRIPT``: Tune, trial actors, its own Ray instance) and under
``python -m rldebug debug SCRIPT`` (every trial in that process). The table gives
each run's outcome (``ok``, or the failure's last exception line) and seconds, and
whether both agree (both succeed, or both fail with the same exception type) and
the rldebug run trained in-process. :data:`NOT_HERE` lists examples that need
packages not installable here, with the reason.

    python benchmarks/rllib_examples.py [--only NAME ...] [--timeout 300]

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
)

# Arguments a script requires beyond ARGS.
EXTRA_ARGS = {"multi_agent/two_step_game_with_grouped_agents.py": ("--num-agents=2",)}

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
}


def examples_dir() -> Path:
    import ray.rllib

    return Path(ray.rllib.__file__).parent / "examples"


@dataclass
class Outcome:
    ok: bool
    detail: str  # "ok", or the last exception line
    seconds: float
    in_process: bool = False

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
               *ARGS, *EXTRA_ARGS.get(script, ())]
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
                   in_process="(in this process)" in done.stderr)


def agree(plain: Outcome, debugged: Outcome) -> bool:
    """Both succeed (the rldebug one in-process), or both fail the same way."""
    if plain.ok or debugged.ok:
        return plain.ok and debugged.ok and debugged.in_process
    return plain.error_type == debugged.error_type


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="scripts (paths under rllib/examples)")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    scripts = args.only or list(CORPUS)
    rows = []
    for script in scripts:
        plain = run_one(script, debug=False, timeout=args.timeout)
        debugged = run_one(script, debug=True, timeout=args.timeout)
        rows.append((script, plain, debugged))
        print(f"{'agree' if agree(plain, debugged) else 'DIFFER':6} {script}: plain "
              f"{plain.detail} ({plain.seconds:.0f} s), rldebug {debugged.detail} "
              f"({debugged.seconds:.0f} s{', in-process' if debugged.in_process else ''})",
              flush=True)
    same = sum(agree(p, d) for _, p, d in rows)
    plain_s = sum(p.seconds for _, p, _ in rows)
    debug_s = sum(d.seconds for _, _, d in rows)
    print(f"\n{same}/{len(rows)} agree; wall time plain {plain_s:.0f} s, rldebug debug "
          f"{debug_s:.0f} s (ratio {debug_s / max(plain_s, 1e-9):.2f})")
    for script, why in NOT_HERE.items():
        print(f"not here: {script} needs {why}")
    return 0 if same == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
