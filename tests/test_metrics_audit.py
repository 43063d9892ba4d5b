"""RLlib's reported returns audited against the traced episodes (the doctor's
``metrics_disagree``): two agents sharing one module (the shape of ray-project/ray
#59860) and the arena agree value for value; a result.json changed afterwards is named
with the numbers on both sides."""

import json
import shutil

import pytest
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole
from tiny import tiny_arena_config

import rldebug
from rldebug.doctor import diagnose
from rldebug.doctor.audit import audit
from rldebug.doctor.reading import read_trial


def _shared_module_config():
    return (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
            .multi_agent(policies={"shared"}, policy_mapping_fn=lambda aid, *a, **k: "shared")
            .training(train_batch_size=400, minibatch_size=200, num_epochs=1)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))


def _traced_run(config, directory, iterations=3):
    config = rldebug.trace(config, level="summary", out=directory / "trace")
    rldebug.run(config, logdir=directory, stop={"training_iteration": iterations},
                progress=False).algo.stop()
    return directory


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    return _traced_run(_shared_module_config(), tmp_path_factory.mktemp("shared"))


def _compared(run_dir) -> tuple[list, int]:
    diagnosis = diagnose(run_dir)
    (trial,) = diagnosis.trials
    return audit(trial.history, rldebug.load_trace(run_dir / "trace").samples)


def _several_calls_config():
    """PPO sampling 50-step fragments for a 200-step batch: four sample() calls an
    iteration, each reported as its own mean (DQN and SAC sample so by design)."""
    return (PPOConfig().environment("CartPole-v1")
            .env_runners(num_env_runners=0, rollout_fragment_length=50)
            .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))


@pytest.mark.parametrize("setup", ["shared module", "arena", "several sample() calls"])
def test_reported_returns_equal_the_traced_episodes(setup, shared_run, tmp_path):
    run_dir = shared_run if setup == "shared module" else _traced_run(
        tiny_arena_config() if setup == "arena" else _several_calls_config(), tmp_path)
    disagreements, compared = _compared(run_dir)
    if setup == "several sample() calls":  # RLlib's mean of the calls' means, not of episodes
        calls = rldebug.load_trace(run_dir / "trace").samples.groupby("iteration").size()
        assert (calls > 1).all() and compared == 3
    else:
        assert compared >= 6  # two agents over three iterations, each value compared
    assert disagreements == []
    assert "metrics_disagree" not in {f.rule_id for f in diagnose(run_dir).findings}


def test_a_reported_return_changed_afterwards_is_named_with_both_numbers(shared_run, tmp_path):
    run_dir = shutil.copytree(shared_run, tmp_path / "run")
    lines = (run_dir / "result.json").read_text().splitlines()
    last = json.loads(lines[-1])
    true_value = last["env_runners"]["agent_episode_returns_mean"]["1"]
    last["env_runners"]["agent_episode_returns_mean"]["1"] = true_value + 5.0
    (run_dir / "result.json").write_text("\n".join([*lines[:-1], json.dumps(last)]) + "\n")
    (finding,) = [f for f in diagnose(run_dir).findings if f.rule_id == "metrics_disagree"]
    assert finding.evidence["agent"] == "1" and finding.evidence["iteration"] == 3
    assert finding.evidence["reported"] == pytest.approx(true_value + 5.0)
    assert finding.evidence["recomputed"] == pytest.approx(true_value, rel=1e-6)
    assert finding.evidence["disagreeing"] == 1


def test_the_audit_uses_the_runs_own_smoothing_window(shared_run):
    assert read_trial(shared_run).config["metrics_num_episodes_for_smoothing"] == 100
