"""A remote EnvRunner whose env crashes: training goes on, the trace records each crash and
restart, and the doctor reports the repeated crashes. Real Ray actors, RLlib's own env."""

import pytest
from setups import SMALL_NET

import rldebug
from rldebug.doctor import diagnose


@pytest.fixture(scope="module")
def crashing_run(tmp_path_factory):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.examples.envs.classes.cartpole_crashing import CartPoleCrashing

    config = (PPOConfig().environment(CartPoleCrashing, env_config={
                  "crash_after_n_steps": 10, "p_crash": 0.0, "crash_on_worker_indices": [1]})
              .env_runners(num_env_runners=2, num_envs_per_env_runner=1,
                           rollout_fragment_length=50)
              .fault_tolerance(restart_failed_env_runners=True,
                               delay_between_env_runner_restarts_s=0.5)
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=SMALL_NET))
              .debugging(seed=0))
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
