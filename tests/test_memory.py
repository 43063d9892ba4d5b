"""The memory rules on real RLlib runs: a planted allocation kept per episode is named with
its file and line, and the process's growing RSS; the same config without it gets neither."""

import tracemalloc
from pathlib import Path

import pytest
from memory_envs import CartPoleThatKeepsEpisodes, PlainCartPole
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

import rldebug
from rldebug.doctor import diagnose

LEAK_LINE = next(i for i, line in enumerate(
    (Path(__file__).parent / "memory_envs.py").read_text().splitlines(), start=1)
    if "KEPT-PER-EPISODE" in line)


def _traced_run(env_class, directory):
    config = (PPOConfig().environment(env_class)
              .training(train_batch_size=400, minibatch_size=200, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    config = rldebug.trace(config, level="summary", out=directory / "trace", memory=True)
    rldebug.run(config, logdir=directory, stop={"training_iteration": 6},
                progress=False).algo.stop()
    assert not tracemalloc.is_tracing()  # stopped with the Algorithm: it slows everything
    return {f.rule_id: f for f in diagnose(directory).findings}


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    return _traced_run(CartPoleThatKeepsEpisodes, tmp_path_factory.mktemp("leaky"))


def test_the_site_that_keeps_memory_is_named_with_its_file_and_line(leaky):
    site = leaky["allocation_growing"]
    assert site.evidence["file"].endswith("memory_envs.py")
    assert site.evidence["line"] == LEAK_LINE
    assert f"memory_envs.py:{LEAK_LINE}" in site.message


def test_the_process_whose_rss_grows_is_named(leaky):
    growing = leaky["memory_growing"]
    assert growing.evidence["last_mb"] - growing.evidence["first_mb"] >= 50
    assert growing.severity == "warning"


def test_the_same_config_without_the_leak_gets_neither_finding(tmp_path):
    findings = _traced_run(PlainCartPole, tmp_path)
    assert "memory_growing" not in findings and "allocation_growing" not in findings, {
        k: f.message for k, f in findings.items()}


def _pendulum_sites(directory, env_config):
    """Site findings of an in-process PPO Pendulum run sampling 50 steps per call: an
    episode (200 steps) ends in one call of four."""
    from memory_envs import PendulumThatKeepsEpisodes

    config = (PPOConfig().environment(PendulumThatKeepsEpisodes, env_config=env_config)
              .env_runners(rollout_fragment_length=50)
              .training(train_batch_size=50, minibatch_size=50, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[8])))
    config = rldebug.trace(config, level="summary", out=directory / "trace", memory=True)
    rldebug.run(config, logdir=directory, stop={"training_iteration": 28},
                progress=False).algo.stop()
    return [f for f in diagnose(directory).findings if f.rule_id == "allocation_growing"]


def test_a_site_that_grows_once_per_long_episode_is_named(tmp_path):
    """It grows in only a quarter of the sample() calls; its size rises with each."""
    found = _pendulum_sites(tmp_path, {})
    line = next(i for i, text in enumerate(
        (Path(__file__).parent / "memory_envs.py").read_text().splitlines(), start=1)
        if "KEPT-PER-LONG-EPISODE" in text)
    assert [(f.evidence["file"].endswith("memory_envs.py"), f.evidence["line"])
            for f in found] == [(True, line)]
    site = found[0].evidence
    assert site["calls_grown"] <= site["calls"] / 2 and site["growth_kb"] >= 4 * 2048


def test_a_site_that_stops_growing_after_the_first_episodes_is_not_named(tmp_path):
    """Five episodes' worth kept (grown in four calls after the first, its size rising),
    then nothing more for the rest of the run: a warm-up, not a leak. Its profile says that
    memory=True slowed the run (an audit's times were 4x to 60x)."""
    from rldebug.tracing.profile import profile

    assert _pendulum_sites(tmp_path, {"kept_episodes": 5}) == []
    (caveat,) = profile(rldebug.load_trace(tmp_path / "trace")).caveats
    assert caveat.startswith("traced with memory=True: tracemalloc records every allocation")


def test_a_run_that_crashed_seconds_in_is_not_told_its_memory_grows():
    """A real traced SAC run of the fault benchmark (a NaN reward every 300 steps) that
    raised on NaN replay priorities 4 s in: its one process grew 480 -> 547 MiB while it
    started (the replay buffer filling) over 134 records, all in its first iteration.
    Start-up is not a leak: the rule judges growth over at least three iterations."""
    run = Path(__file__).parent / "doctor_faults" / "runs" / "sac_pendulum__nan_reward_traced__s0"
    diagnosis = diagnose(run)
    assert [f.rule_id for f in diagnosis.trials[0].causes][:1] == ["non_finite_reward"]
    assert not [f for f in diagnosis.findings if f.rule_id == "memory_growing"]


TRACES = Path(__file__).parent / "memory_traces"  # real runs, stripped (make_traces.py)


def test_one_jump_between_flat_stretches_is_no_leak_and_six_iterations_show_one():
    """An independent audit's runs (tests/memory_traces): SAC's RSS is flat, jumps ~125 MiB
    once at its first update and stays flat, and was called 'kept growing, 436 MiB a
    minute'; an env keeping 48 KiB per step grew ~50 MiB an iteration in both remote
    runners for 6 iterations (one record each) and was called healthy (8 records needed)."""
    from rldebug.doctor.memory import rss_findings
    from rldebug.tracing import load_trace

    assert rss_findings(load_trace(TRACES / "sac_pendulum_control" / "trace"), None) == []
    leaks = rss_findings(load_trace(TRACES / "ppo_frames_kept" / "trace"), None)
    assert sorted(r for f in leaks for r in f.evidence["roles"]) == ["EnvRunner 1",
                                                                     "EnvRunner 2"]
    for leak in leaks:
        assert leak.evidence["records"] == 5 and leak.evidence["last_mb"] > 760
        assert leak.evidence["largest_step_mb"] < 0.3 * (leak.evidence["last_mb"]
                                                         - leak.evidence["first_mb"])


def test_a_dict_observations_buffer_filling_is_said_as_such():
    """The replay estimate reads the observations as the trace records them: a Dict
    observation behind FlattenObservations is recorded as the connector writes it back
    into the episode, flattened (16388 float32s), which is what the buffer keeps
    (tests/memory_traces/dqn_dict_buffer_filling, a real run)."""
    from rldebug.doctor.memory import rss_findings
    from rldebug.tracing import load_trace

    filling = load_trace(TRACES / "dqn_dict_buffer_filling" / "trace")
    (said,) = rss_findings(filling, None, replay_capacity=50000)
    assert (said.rule_id, said.severity) == ("replay_buffer_filling", "info")
    assert said.evidence["kb_per_step"] == round((16388 * 4 + 1024) / 1024, 2)
    grown = said.evidence["last_mb"] - said.evidence["first_mb"]
    assert 0.5 * grown < said.evidence["buffer_mb"] <= grown


def test_a_replay_buffer_filling_is_said_as_such_and_a_leak_beside_it_is_not():
    """A second audit's DQN (16 KiB observations) had its driver's growth called a leak
    that 'ends when Ray's memory monitor kills it': it was the replay buffer filling,
    which stops at its capacity (tests/memory_traces, real runs)."""
    from rldebug.doctor.memory import rss_findings
    from rldebug.tracing import load_trace

    filling = load_trace(TRACES / "dqn_buffer_filling" / "trace")
    assert [f.rule_id for f in rss_findings(filling, None)] == ["memory_growing"]  # no config
    (said,) = rss_findings(filling, None, replay_capacity=50000)
    assert (said.rule_id, said.severity) == ("replay_buffer_filling", "info")
    evidence = said.evidence
    # 64 KiB of float32 observations (their bytes, recorded) and ~1 KiB of the rest a step
    assert evidence["kb_per_step"] == 65.0 and evidence["capacity"] == 50000
    grown = evidence["last_mb"] - evidence["first_mb"]
    assert 0.5 * grown < evidence["buffer_mb"] <= grown  # the buffer is most of it
    assert "explained by the buffer filling, which stops at capacity, at ~3.1 GiB" in \
        said.message
    # an env in the driver keeping 192 KiB a step grows far past what the buffer takes in
    (leak,) = rss_findings(load_trace(TRACES / "dqn_frames_kept" / "trace"), None,
                           replay_capacity=50000)
    assert leak.rule_id == "memory_growing" and "driver" in leak.evidence["roles"]
    # its local EnvRunner's allocation sites are what memory=True records; a driver or
    # Learner without one gets tracemalloc of its own (memory=True records EnvRunners only)
    assert "records the allocation sites that grow in EnvRunners" in leak.fix
    from rldebug.doctor.memory import _leak_fix

    assert "EnvRunners only" in _leak_fix(["Learner"]) and "tracemalloc" in \
        _leak_fix(["Learner", "driver"])
