"""Score the doctor on runs a new user made on envs of their own, in eight batches made
independently of the rules and of the fault-injection benchmark:

- ``tests/doctor_user_runs`` (session 36): a walled grid with a goal, a continuous reach
  task, a pricing bandit, a two-agent cooperative game; PPO, DQN, SAC, a Tune grid;
- ``tests/doctor_user_runs2`` (session 39): inventory costs (APPO, IMPALA), a sparse
  key-then-door room (PPO, DQN), a thermostat with a Box action (PPO), a two-player
  turn-based game;
- ``tests/doctor_user_runs3`` (session 43): a traffic light paying costs (PPO, APPO), a
  2-D point reaching a target (SAC), a delivery grid with a Dict observation (PPO, DQN),
  a foraging game with one shared module and with two (multi-agent PPO);
- ``tests/doctor_user_runs4`` (session 46): Catch (PPO, DQN), a battery paid in dollars
  (PPO on both stacks, APPO), a drone (SAC), four farms on two modules (PPO);
- ``tests/doctor_user_runs5`` (session 47): a sorting line with MultiDiscrete actions and
  500-step episodes (old-stack PPO), a registered tightrope paying +10 per step (DQN,
  double and dueling), a solar tracker paid in watt-hours (SAC), couriers joining
  mid-episode, three drones on one module beside a van's (PPO);
- ``tests/doctor_user_runs6`` (session 48): a stock room paying costs, registered with a
  negative ``reward_threshold`` (PPO, IMPALA), a thermostat with a Box(2,) action (SAC),
  a lift paying per delivery (DQN), a hive of two foragers on one module and a guard
  (multi-agent APPO);
- ``tests/doctor_user_runs7`` (session 49): a mine paying hundreds to thousands per step
  (PPO, IMPALA), a portfolio paying about 0.002 per step (SAC), a card game paying +1/-1
  at its end (DQN), a tag game of two hunters on one module and a runner (multi-agent
  APPO);
- ``tests/doctor_user_runs8`` (session 51): an irrigation tank paying costs only (PPO), a
  warehouse robot paid per delivery (DQN), a room heater with a Box(1) action (SAC), a
  fishery of two boats on two modules (multi-agent PPO), a battery trading on a daily
  price curve (APPO).

A helper wrote each batch's envs and configs as a new user would, labelled every run by
how it was made, and never ran the doctor. Each fault is one of the benchmark's
operators, and is scored as the benchmark scores it
(``benchmarks.doctor_faults.score.score_run``):

- **recall**: faulty runs where a leading root cause (warning or error) names the fault;
- **precision**: top-level warnings and errors that name the run's fault;
- **false errors**: healthy runs the doctor calls broken (exit code 1).

Runs labelled ``special`` (an env that raises, a run stopped by Ctrl+C) are listed with
what the doctor said, not scored. ::

    PYTHONPATH=. python benchmarks/doctor_user_runs.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER_RUNS = ROOT / "tests" / "doctor_user_runs"
BATCHES = (USER_RUNS, ROOT / "tests" / "doctor_user_runs2", ROOT / "tests" / "doctor_user_runs3",
           ROOT / "tests" / "doctor_user_runs4", ROOT / "tests" / "doctor_user_runs5",
           ROOT / "tests" / "doctor_user_runs6", ROOT / "tests" / "doctor_user_runs7",
           ROOT / "tests" / "doctor_user_runs8")


def scored_runs(batch: Path = USER_RUNS) -> list:
    """Every scored run's ``RunScore`` in ``batch`` (labelled with the operator's rules)."""
    from benchmarks.doctor_faults.operators import OPERATORS
    from benchmarks.doctor_faults.score import score_run

    labels = json.loads((batch / "labels.json").read_text())
    scores = []
    for name, label in sorted(labels.items()):
        operator = label["operator"]
        if operator == "special":
            continue
        as_scored = {"healthy": True} if operator is None else {
            "expect": sorted(OPERATORS[operator].names), "module": label["module"],
            "operator": operator}
        scores.append(score_run(batch / "runs" / name, {**label, **as_scored}))
    return scores


def score_line(scores: list) -> str:
    """``recall R/F, precision P/T, false errors E on H healthy runs, N runs``."""
    faulty = [s for s in scores if not s.healthy]
    top = [t for s in scores for t in s.top_level]
    healthy = [s for s in scores if s.healthy]
    return (f"recall {sum(bool(s.hit) for s in faulty)}/{len(faulty)}, precision "
            f"{sum(t[3] for t in top)}/{len(top)}, false errors "
            f"{sum(s.false_error for s in healthy)} on {len(healthy)} healthy runs, "
            f"{len(scores)} runs")


def show_batch(batch: Path) -> list:
    """Print each run of ``batch`` with what the doctor said; its scores."""
    from rldebug.doctor import diagnose

    scores = scored_runs(batch)
    print(f"{batch.relative_to(ROOT)}")
    print(f"{'run':24} {'made':52} verdict  top-level warnings/errors")
    for s in scores:
        verdict = "healthy" if s.healthy else "hit" if s.hit else "miss"
        shown = ", ".join(f"{rule}:{severity[0]}{'' if true or s.healthy else '(x)'}"
                          for rule, severity, _module, true in s.top_level) or "-"
        print(f"{s.name:24} {s.label['made'][:52]:52} {verdict:8} {shown}")
    labels = json.loads((batch / "labels.json").read_text())
    for name, label in sorted(labels.items()):
        if label["operator"] == "special":
            (trial,) = diagnose(batch / "runs" / name).trials
            said = ", ".join(f"{f.rule_id}:{f.severity}" for f in trial.causes) or "-"
            print(f"{name:24} {label['made'][:52]:52} special  {said}; notes: "
                  f"{len(trial.notes)}")
    print(f"{batch.name}: {score_line(scores)}\n")
    return scores


def main() -> int:
    every = [s for batch in BATCHES for s in show_batch(batch)]
    print(f"every batch: {score_line(every)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
