"""The doctor on real tiny arena runs: lr=0.5 is flagged within 3 iterations, lr=3e-4 is not."""

import pytest
from tiny import tiny_arena_config

from rldebug import run
from rldebug.callbacks import add_callbacks
from rldebug.doctor import DoctorCallback, diagnose

LR_SIGNS = {"entropy_collapse", "kl_blowup", "lr_too_high"}


def train(tmp_path, lr, iterations, api_stack="new"):
    doctor = DoctorCallback.configured(logdir=tmp_path / "tb", console=False)
    config = add_callbacks(tiny_arena_config(api_stack, lr=lr), doctor)
    return run(config, stop={"training_iteration": iterations}, logdir=tmp_path / "run",
               progress=False)


def test_lr_05_is_flagged_within_three_iterations_live_and_offline(tmp_path):
    result = train(tmp_path, lr=0.5, iterations=3)
    try:
        assert result.last_result["doctor"]["errors"] >= 1  # the live callback's count
        diagnosis = diagnose(result.logdir)
        errors = [f for f in diagnosis.findings if f.severity == "error"]
        assert {f.rule_id for f in errors} & LR_SIGNS, [f.message for f in errors]
        assert min(f.began_at_iteration for f in errors) <= 3
        assert diagnosis.exit_code == 1
        assert list((tmp_path / "tb").glob("*.doctor")), "no TensorBoard text written"
    finally:
        result.algo.stop()


def test_lr_3e4_has_no_error_findings(tmp_path):
    result = train(tmp_path, lr=3e-4, iterations=10)
    try:
        assert result.last_result["doctor"]["errors"] == 0
        diagnosis = diagnose(result.logdir)
        assert [f for f in diagnosis.findings if f.severity == "error"] == []
        assert diagnosis.exit_code == 0
    finally:
        result.algo.stop()


@pytest.mark.slow
def test_lr_05_is_flagged_on_the_old_stack(tmp_path):
    result = train(tmp_path, lr=0.5, iterations=3, api_stack="old")
    try:
        errors = [f for f in diagnose(result.logdir).findings if f.severity == "error"]
        assert {f.rule_id for f in errors} & LR_SIGNS
    finally:
        result.algo.stop()
