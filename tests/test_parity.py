"""``rldebug parity``: a PPO CartPole checkpoint trained behind a MeanStdFilter connector,
deployed by loading only its RLModule, disagrees with the training pipeline on about half
the states, and the filter is named; the pipeline itself passes."""

import json

import numpy as np
import pytest
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.env_to_module import MeanStdFilter
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

import rldebug
from rldebug.cli import main as cli_main
from rldebug.deployment import parity


def _mean_std_filter(env=None, spaces=None, device=None):
    return MeanStdFilter()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    config = (PPOConfig().environment("CartPole-v1")
              .env_runners(env_to_module_connector=_mean_std_filter)
              .training(train_batch_size=500, minibatch_size=250, num_epochs=2, lr=3e-3)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32]))
              .debugging(seed=0))
    run = rldebug.run(config, max_iterations=6, progress=False, checkpoint_at_end=True,
                      logdir=tmp_path_factory.mktemp("filtered"))
    run.algo.stop()
    return run.checkpoint


def test_a_module_deployed_without_its_filter_fails_and_the_filter_is_named(
        checkpoint, monkeypatch, capsys):
    monkeypatch.setenv("RLDEBUG_PARITY_CHECKPOINT", str(checkpoint))
    code = cli_main(["parity", str(checkpoint), "--policy",
                     "parity_policies:module_argmax", "--episodes", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and not report["passed"]
    assert 0.2 < report["agreement"] < 0.9  # about half the states
    assert report["variants"]["without MeanStdFilter"] >= 0.99
    assert "does not apply MeanStdFilter" in report["explanation"]


def test_the_training_pipeline_itself_passes(checkpoint):
    algo = rldebug.load(checkpoint)
    try:
        def pipeline(obs):
            return int(np.asarray(rldebug.explain(algo, obs).greedy_action))

        report = parity(algo, pipeline, episodes=2)
        assert report.passed and report.agreement == 1.0 and report.states >= 20
        assert report.variants == {}  # nothing to explain
    finally:
        algo.stop()


def test_a_continuous_action_not_unsquashed_is_named(tmp_path, monkeypatch):
    import parity_policies

    config = (PPOConfig().environment("Pendulum-v1")
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    run = rldebug.run(config, max_iterations=1, progress=False, checkpoint_at_end=True,
                      logdir=tmp_path)
    run.algo.stop()
    monkeypatch.setenv("RLDEBUG_PARITY_CHECKPOINT", str(run.checkpoint))
    monkeypatch.setattr(parity_policies, "_module", None)
    report = parity(run.checkpoint, parity_policies.gaussian_mean, episodes=1)
    assert not report.passed
    assert report.variants["without unsquashing/clipping to the action bounds"] >= 0.99
    assert "unsquashes it to the env's bounds" in report.explanation


@pytest.mark.parametrize("kwargs, error", [
    ({"policy": 42}, "must be a function"),
    ({"policy": abs, "episodes": 0}, "episodes=...\\) must be an int >= 1"),
    ({"policy": abs, "min_agreement": 1.5}, "min_agreement"),
])
def test_bad_input_is_refused(checkpoint, kwargs, error):
    policy = kwargs.pop("policy")
    with pytest.raises((TypeError, ValueError), match=error):
        parity(checkpoint, policy, **kwargs)
