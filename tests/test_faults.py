"""A remote EnvRunner whose env crashes: training goes on, the trace records each crash and
restart, and the doctor reports the repeated crashes. Real Ray actors, RLlib's own env."""

import pytest
from setups import crashing_cartpole

import rldebug
from rldebug.doctor import diagnose


@pytest.fixture(scope="module")
def crashing_run(tmp_path_factory):
    config = crashing_cartpole()
    logdir = tmp_path_factory.mktemp("crashing")

    def enough(iteration, result):
        """4 iterations, and on a loaded machine more (up to 10) until the runner crashed
        twice: a restarted runner may miss an iteration while it comes back."""
        events = rldebug.load_trace(logdir / "trace").events
        crashes = 0 if events.empty else int((events["source"] == "env").sum())
        return iteration >= 10 or (iteration >= 4 and crashes >= 2)

    run = rldebug.run(config, stop=enough, logdir=logdir, local=False, trace="batches",
                      progress=False)
    run.algo.stop()
    return run


def test_training_goes_on_past_the_crashes(crashing_run):
    assert 4 <= crashing_run.iterations <= 10


def test_the_trace_records_each_crash_and_restart(crashing_run):
    events = rldebug.load_trace(crashing_run.logdir / "trace").events
    crashes = events[events["source"] == "env"]
    restarts = events[events["source"] == "driver"]
    assert len(crashes) >= 2 and set(crashes["runner_index"]) == {1}
    assert set(crashes["error"]) == {"EnvError"}
    assert crashes["message"].str.contains("Simulated env crash").all()
    assert crashes["iteration"].notna().all()
    assert len(restarts) >= 1
    assert all(indices == [1] for indices in restarts["runner_indices"])


def test_the_doctor_reports_the_repeated_crashes(crashing_run):
    (trial,) = diagnose(crashing_run.logdir).trials
    (finding,) = [f for f in trial.findings if f.rule_id == "env_runner_crashes"]
    assert finding.severity == "warning"
    assert finding.evidence["runners"] == [1] and finding.evidence["crashes"] >= 2
    assert "Simulated env crash" in finding.message
