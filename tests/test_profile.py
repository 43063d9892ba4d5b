"""``rldebug profile``: per-process time and memory of a real traced run with a remote
EnvRunner, and the Chrome trace-event JSON of its spans."""

import json

import pytest
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

import rldebug
from rldebug.cli import main as cli_main
from rldebug.trace.profile import chrome_trace, profile

ITERATIONS = 3


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    directory = tmp_path_factory.mktemp("profiled")
    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=1)
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    config = rldebug.trace(config, level="summary", out=directory / "trace")
    rldebug.run(config, logdir=directory, stop={"training_iteration": ITERATIONS},
                local=False, progress=False).algo.stop()
    return rldebug.load_trace(directory / "trace"), directory / "trace"


def test_each_process_gets_its_own_time_and_memory(traced):
    trace, _ = traced
    summary = profile(trace)
    by_role = {role: p for p in summary.processes for role in p.roles}
    runner, learner = by_role["EnvRunner 1"], by_role["Learner"]
    assert runner.pid != learner.pid  # the remote runner is its own process
    assert "driver" in learner.roles  # the local Learner runs in the driver
    assert runner.sample_calls == ITERATIONS and learner.updates == ITERATIONS
    assert 0 < runner.sample_s <= runner.wall_s and 0 < learner.update_s <= learner.wall_s
    assert runner.rss_first_mb > 50 and learner.rss_max_mb >= learner.rss_first_mb
    # the runner's sample() spans are the sample_time_s RLlib's EnvRunner spent
    assert runner.sample_s == pytest.approx(float(trace.samples["sample_time_s"].sum()))


def test_the_chrome_trace_has_every_process_and_its_spans(traced, tmp_path, capsys,
                                                         monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the table's rows on one line each
    trace, directory = traced
    out = tmp_path / "run.json"
    assert cli_main(["profile", str(directory), "--chrome-trace", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "EnvRunner 1" in printed and "sample() s" in printed
    events = json.loads(out.read_text())["traceEvents"]
    assert events == chrome_trace(trace)["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M"}
    spans = [e for e in events if e["ph"] == "X"]
    assert {e["pid"] for e in spans} == set(names) and len(names) == 2
    assert sorted(e["name"] for e in spans) == ["sample()"] * ITERATIONS + ["update"] * ITERATIONS
    assert all(e["dur"] > 0 and isinstance(e["ts"], int) for e in spans)
    assert any("EnvRunner 1" in name for name in names.values())


def test_profile_refuses_a_directory_without_a_trace(tmp_path, capsys):
    assert cli_main(["profile", str(tmp_path)]) == 2
    assert "No trace files" in capsys.readouterr().out
