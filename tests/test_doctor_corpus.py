"""The doctor scored on a labelled corpus of real, tiny RLlib runs (tests/doctor_corpus).

The runs were made by tests/doctor_corpus/make_corpus.py (real RLlib 2.60 on
CartPole, Pendulum and the arena; PPO on both stacks, APPO, DQN, SAC; through
rldebug.run and through Tune). Each problem run must be named by its expected
rule at warning or error, as one of the trial's first root causes; no healthy
run may get an error. ``benchmarks/doctor_corpus.py`` prints precision and recall.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run_store import stray_files
from rldebug.doctor import diagnose
from rldebug.doctor.report import MAX_CAUSES

CORPUS = Path(__file__).parent / "doctor_corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text())
PROBLEMS = sorted(n for n, label in LABELS.items() if "expect" in label)
HEALTHY = sorted(n for n, label in LABELS.items() if label.get("healthy"))


def test_the_corpus_is_broad():
    assert len(LABELS) >= 15 and len(HEALTHY) >= 5
    families = {diagnose(CORPUS / "runs" / name).trials[0].family for name in LABELS}
    assert {"ppo", "appo", "dqn", "sac"} <= families
    stacks = {diagnose(CORPUS / "runs" / name).trials[0].stack for name in HEALTHY}
    assert stacks == {"new", "old"}
    tune_trials = [n for n in LABELS if (CORPUS / "runs" / n / "params.json").is_file()]
    assert tune_trials and (CORPUS / "runs" / "tune_env_crash" / "error.txt").is_file()


def test_the_corpus_holds_no_pickles_or_machine_paths():
    assert stray_files(CORPUS / "runs") == []


# Runs whose fault the results alone cannot tell from a legitimate env: agent1 of the
# arena is never paid (the fault), but agent2 is never above 0 either, so nothing in the
# results says the env pays positive rewards at all (it could pay only costs). The doctor
# names the agent as a leading root cause at info and says why; the traced run of the
# same fault, whose trace shows agent2 paid, is a warning.
#
# PPO on Pendulum at RLlib's defaults: every value error is clipped at vf_clip_param=10
# (unclipped loss ~2e5), yet its return rose from about -1390 to -1040 in 25
# iterations, so the clipped critic is named as the leading cause at info: a cost the
# run still learns under, not the reason it cannot learn.
NAMED_AT_INFO = {"arena_agent1_never_positive", "arena_agent1_never_positive_terms",
                 "ppo_pendulum_rllib_defaults"}


@pytest.mark.parametrize("name", PROBLEMS)
def test_problem_run_is_named_as_a_root_cause(name):
    trial = diagnose(CORPUS / "runs" / name).trials[0]
    expected = set(LABELS[name]["expect"])
    subject = LABELS[name].get("module")
    severities = ("info",) if name in NAMED_AT_INFO else ("warning", "error")
    named = [f for f in trial.findings if f.rule_id in expected
             and f.severity in severities and subject in (None, f.module)]
    assert named, (name, [(f.rule_id, f.module, f.severity) for f in trial.findings])
    leading = [(f.rule_id, f.module) for f in trial.causes[:MAX_CAUSES]]
    assert any(rule in expected and subject in (None, module) for rule, module in leading), \
        (name, leading)


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_run_gets_no_error(name):
    diagnosis = diagnose(CORPUS / "runs" / name)
    errors = [(f.rule_id, f.message) for f in diagnosis.findings if f.severity == "error"]
    assert not errors and diagnosis.exit_code == 0


def test_nan_reward_is_traced_to_the_env_step():
    trial = diagnose(CORPUS / "runs" / "ppo_nan_reward_traced").trials[0]
    reward = next(f for f in trial.findings if f.rule_id == "non_finite_reward")
    assert reward.evidence["timestep"] is not None and reward.evidence["runner_index"] == 0
    assert "EnvRunner 0" in reward.message
    losses = [f for f in trial.findings if f.rule_id in ("non_finite", "non_finite_in_trace")]
    assert losses and all(f.explained_by == "non_finite_reward" for f in losses)


def test_errored_trial_names_the_exception_from_error_txt():
    trial = diagnose(CORPUS / "runs" / "tune_env_crash").trials[0]
    errored = next(f for f in trial.findings if f.rule_id == "trial_errored")
    assert "IndexError" in errored.evidence["exception"]
    assert "pole index" in errored.message and errored.evidence["last_lines"]


def test_lr_too_high_arena_is_named_within_three_iterations():
    trial = diagnose(CORPUS / "runs" / "arena_lr_0.5").trials[0]
    lr = [f for f in trial.findings if f.rule_id == "lr_too_high"]
    assert lr and min(f.began_at_iteration for f in lr) <= 3
    assert trial.causes[0].rule_id == "lr_too_high"


def test_one_lr_too_high_explains_both_arena_modules():
    """pol1's KL is infinite at iteration 1, pol2's finite: both share lr=0.5, so one
    run-wide finding explains both modules' KL, entropy and NaN findings."""
    trial = diagnose(CORPUS / "runs" / "arena_lr_0.5").trials[0]
    [lr] = [f for f in trial.findings if f.rule_id == "lr_too_high"]
    assert lr.module is None and sorted(lr.evidence["modules"]) == ["pol1", "pol2"]
    symptoms = [f for f in trial.findings if f.rule_id in (
        "kl_blowup", "entropy_collapse", "non_finite")]
    assert {f.module for f in symptoms} == {"pol1", "pol2"}
    assert all(f.explained_by == "lr_too_high" for f in symptoms)
    assert [f.rule_id for f in trial.causes if f.severity == "error"] == ["lr_too_high"]


def test_traced_never_positive_is_checked_step_by_step():
    """With a trace at level "batches", the per-step rewards confirm agent1's finding
    (no step paid more than 0) and qualify agent2's (it is paid +1 per collision)."""
    trial = diagnose(CORPUS / "runs" / "arena_agent1_never_positive_traced").trials[0]
    found = {f.module: f for f in trial.findings if f.rule_id == "reward_never_positive"}
    assert found["agent1"].evidence["step_reward_max"] <= 0
    assert found["agent1"].severity == "warning" and "trace confirms" in found["agent1"].message
    if "agent2" in found:
        assert found["agent2"].evidence["step_reward_max"] > 0
        assert found["agent2"].severity == "info" and "never outweigh" in found["agent2"].message


def test_traced_constant_reward_names_the_agent_and_the_steps():
    trial = diagnose(CORPUS / "runs" / "ppo_zero_reward_traced").trials[0]
    constant = [f for f in trial.findings if f.rule_id == "reward_constant"]
    assert [(f.module, f.severity, f.evidence["reward"]) for f in constant] == \
        [("default_agent", "error", 0.0)]
    assert constant[0].evidence["steps"] >= 1000


def test_pendulum_at_rllibs_defaults_is_told_about_its_critic_not_about_positive_rewards():
    trial = diagnose(CORPUS / "runs" / "ppo_pendulum_rllib_defaults").trials[0]
    clipped = trial.causes[0]
    assert clipped.rule_id == "critic_clipped"
    assert clipped.evidence["vf_loss_unclipped"] > 1000 * clipped.evidence["vf_clip_param"]
    assert not [f for f in trial.findings if f.rule_id == "reward_never_positive"]
