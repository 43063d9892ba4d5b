"""The doctor on runs a new user made on envs of their own (tests/doctor_user_runs, made
by its make_runs.py; labelled by how each run was made before the doctor read it).

An independent check beside the fault-injection benchmark: the faults the doctor names
here stay named, and no healthy run gets an error. (Its misses are listed by
``benchmarks/doctor_user_runs.py`` and in docs/explanation/doctor-benchmark.md.)
"""

from __future__ import annotations

import json

import pytest

from benchmarks.doctor_user_runs import USER_RUNS, scored_runs
from rldebug.doctor import diagnose

# the faulty runs the doctor named when the runs were first read (2026-12-05)
NAMED = {"grid_ppo_entropy1", "grid_ppo_gamma0", "grid_ppo_term_as_trunc", "pricing_ppo_nan",
         "reach_ppo_lr100x", "reach_ppo_reward_zero", "reach_sac_scale1e4", "tune_lr__0.03"}


@pytest.fixture(scope="module")
def scores():
    return {s.name: s for s in scored_runs()}


def test_every_label_is_a_benchmark_operator_or_healthy():
    from benchmarks.doctor_faults.operators import OPERATORS

    labels = json.loads((USER_RUNS / "labels.json").read_text())
    assert {label["operator"] for label in labels.values()} - {None, "special"} <= \
        set(OPERATORS)
    assert sorted(labels) == sorted(p.name for p in (USER_RUNS / "runs").iterdir())


def test_no_healthy_run_gets_an_error(scores):
    healthy = [s for s in scores.values() if s.healthy]
    assert len(healthy) == 7
    assert [s.name for s in healthy if s.false_error] == []


def test_the_faults_named_stay_named(scores):
    assert {name for name, s in scores.items() if s.hit} >= NAMED


def test_a_crashed_run_is_named_with_the_envs_own_error():
    for name in ("grid_ppo_crash500", "grid_ppo_crash5500"):
        (trial,) = diagnose(USER_RUNS / "runs" / name).trials
        [errored] = [f for f in trial.causes if f.rule_id == "trial_errored"]
        assert "GridGoal: simulated env failure at step" in errored.message
        assert trial.stack == "new"  # from params.json, also with no result (crash500)


def test_the_runs_hold_no_pickles_or_machine_paths():
    from benchmarks.run_store import stray_files

    assert stray_files(USER_RUNS / "runs") == []


def test_the_readme_quotes_the_user_runs_as_they_score(scores):
    """README: "On 18 runs a new user made ... it named 8 of 11 faults"; the counts were
    not checked against the runs."""
    from pathlib import Path

    faulty = [s for s in scores.values() if not s.healthy]
    readme = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    assert (f"On {len(scores)} runs a new user made on envs of their own, it named "
            f"{sum(bool(s.hit) for s in faulty)} of {len(faulty)} faults") in readme
