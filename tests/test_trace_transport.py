"""How trace records travel: remote EnvRunners send them to the driver through Ray, the
driver alone writes, a pyarrow.fs URI works as ``out=``, and lost records are named."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

import rldebug
from rldebug import relay
from rldebug.tracing import sink as sink_module
from rldebug.tracing.layout import trial_trace_dirs


def _cartpole(runners: int):
    return (PPOConfig().environment("CartPole-v1")
            .env_runners(num_env_runners=runners, num_envs_per_env_runner=1,
                         rollout_fragment_length=50)
            .training(train_batch_size=100, minibatch_size=50, num_epochs=1)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[8]))
            .debugging(seed=0))


def _relays() -> list[str]:
    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith("rldebug_relay_")]


def test_a_remote_runner_sends_its_records_home(tmp_path):
    before = set(_relays())
    algo = rldebug.trace(_cartpole(1), out=tmp_path).build_algo()
    try:
        results = [algo.train() for _ in range(2)]
        assert len(set(_relays()) - before) == 1  # one relay for this Algorithm
    finally:
        algo.stop()
    # ... which ends with it, not with this process (a notebook running many traced
    # Algorithms kept an idle actor per run)
    deadline = time.monotonic() + 30
    while set(_relays()) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(_relays()) - before == set()
    trace = rldebug.load_trace(tmp_path)
    assert set(trace.samples.runner_index) == {1}
    assert os.getpid() not in set(trace.samples.pid)  # made in the runner's process
    assert (int(trace.samples.env_steps.sum())
            == results[-1]["env_runners"]["num_env_steps_sampled_lifetime"])


def test_an_in_process_algorithm_starts_no_relay(tmp_path):
    before = set(_relays())
    algo = rldebug.trace(_cartpole(0), out=tmp_path).build_algo()
    try:
        algo.train()
        assert set(_relays()) == before
    finally:
        algo.stop()
    assert not rldebug.load_trace(tmp_path).samples.empty


def test_out_takes_a_file_uri(tmp_path):
    uri = f"file://{tmp_path / 'uri_trace'}"
    algo = rldebug.trace(_cartpole(0), out=uri).build_algo()
    try:
        algo.train()
    finally:
        algo.stop()
    assert not rldebug.load_trace(uri).updates.empty
    assert (tmp_path / "uri_trace").is_dir()


def test_an_unusable_uri_is_refused_before_training():
    with pytest.raises(ValueError, match="pyarrow cannot open the URI"):
        rldebug.trace(_cartpole(0), out="nosuchscheme://bucket/trace")


def test_records_a_process_could_not_send_are_counted_in_the_trace(tmp_path, monkeypatch):
    """A process that cannot reach its home keeps at most MAX_BUFFERED records; the ones
    it dropped are named in the trace once it gets through."""
    monkeypatch.setattr(sink_module, "MAX_BUFFERED", 5)
    sink = sink_module.TraceSink("lost-records-test", tmp_path)
    for i in range(8):
        sink.append("events-runner1-1.jsonl", f'{{"time": {i}, "source": "sampling"}}\n')
    assert not sink.flush()  # no relay and not home: kept
    relay.make_home("lost-records-test", remote_actors=False)
    assert sink.flush()
    events = rldebug.load_trace(tmp_path).events
    lost = events[events["column"] == "records_lost"]
    assert list(lost["count"]) == [3]
    assert len(events[events["source"] == "sampling"]) == 5


@pytest.mark.slow  # ~19 s: two Tune trial actors with a remote EnvRunner each
def test_tune_trials_of_one_traced_config_each_send_to_their_own_home(tmp_path):
    """Two Tune trials (two processes running an Algorithm each, one remote EnvRunner
    each) share the traced config; each trial's runner sends to its own trial."""
    from ray import tune

    out = tmp_path / "trace"
    traced = rldebug.trace(_cartpole(1), out=out)
    traced.training(lr=tune.grid_search([1e-3, 1e-4]))
    tuner = tune.Tuner(
        "PPO", param_space=traced,
        run_config=tune.RunConfig(stop={"training_iteration": 2}, storage_path=str(tmp_path),
                                  name="two_trials", verbose=0))
    grid = tuner.fit()
    assert not grid.errors
    # each trial's trace in a folder of its own, named for the trial: profile summed them
    assert sorted(p.name for p in trial_trace_dirs(out)) == \
        sorted(Path(r.path).name for r in grid)
    with pytest.raises(FileNotFoundError, match="holds the traces of 2 Tune trials"):
        rldebug.load_trace(out)
    for result in grid:
        trace = rldebug.load_trace(out / Path(result.path).name)
        homes = set(trace.iterations.pid)
        assert len(homes) == 1 and sorted(trace.iterations.iteration) == [1, 2]
        assert trace.samples.pid.nunique() == 1 and not homes & set(trace.samples.pid)
        lifetime = result.metrics["env_runners"]["num_env_steps_sampled_lifetime"]
        assert int(trace.samples.env_steps.sum()) == lifetime


def test_in_process_trials_of_one_traced_config_keep_their_traces_apart(tmp_path):
    """rldebug debug's in-process Tune trials (one process, one after another) wrote one
    trace; now each trial's is in <out>/<trial folder>."""
    from ray import tune

    from rldebug.inprocess.tune_trials import run_trials

    out = tmp_path / "trace"
    traced = rldebug.trace(_cartpole(0), out=out, level="summary")
    traced.training(lr=tune.grid_search([1e-3, 1e-4]))
    trials = run_trials("PPO", traced, stop={"training_iteration": 2},
                        storage_path=str(tmp_path), name="grid")
    assert sorted(p.name for p in trial_trace_dirs(out)) == \
        sorted(Path(t.path).name for t in trials)
    for trial in trials:
        trace = rldebug.load_trace(out / Path(trial.path).name)
        assert sorted(trace.iterations.iteration) == [1, 2]
        lifetime = trial.last_result["env_runners"]["num_env_steps_sampled_lifetime"]
        assert int(trace.samples.env_steps.sum()) == lifetime
    with pytest.raises(FileNotFoundError, match="holds the traces of 2 Tune trials"):
        rldebug.load_trace(out)
