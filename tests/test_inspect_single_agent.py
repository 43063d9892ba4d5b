"""inspect() and explain() on a single-agent new-stack algorithm (PPO on CartPole)."""

import numpy as np
import pytest
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core import DEFAULT_AGENT_ID, DEFAULT_MODULE_ID

import rldebug
from rldebug.inspection import explain, inspect

# Cart position, velocity, pole angle, angular velocity: varied enough that the
# greedy actions are not all the same for a barely trained policy.
OBS = np.array([[0.0, 0.0, 0.0, 0.0],
                [0.1, -1.5, 0.2, 2.0],
                [-0.1, 1.5, -0.2, -2.0]], dtype=np.float32)


@pytest.fixture(scope="module")
def algo():
    config = (PPOConfig().environment("CartPole-v1")
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
              .rl_module(model_config={"fcnet_hiddens": [16]})
              .debugging(seed=0))
    algo = rldebug.local_mode(config).build_algo()
    algo.train()
    yield algo
    algo.stop()


def test_summary_lists_default_policy_with_spaces_and_layers(algo):
    summary = inspect(algo)
    assert summary.api_stack == "new" and summary.env == "CartPole-v1"
    assert summary.agents == {DEFAULT_AGENT_ID: DEFAULT_MODULE_ID}
    assert list(summary.modules) == [DEFAULT_MODULE_ID]
    module = summary.modules[DEFAULT_MODULE_ID]
    assert module.agents == [DEFAULT_AGENT_ID]
    assert module.raw_observation_space.shape == module.observation_space.shape == (4,)
    assert module.action_space.n == 2
    assert module.action_distribution == "TorchCategorical"
    assert module.has_value_function and module.trainable
    linear = sorted((layer.in_features, layer.out_features)
                    for layer in module.layers if layer.kind == "Linear")
    # actor 4->16->2 and a separate critic 4->16->1.
    assert linear == sorted([(4, 16), (16, 2), (4, 16), (16, 1)])
    assert "default_policy" in str(summary)


def test_explain_single_observation(algo):
    e = explain(algo, OBS[1], seed=0)
    assert not e.batched
    assert (e.agent_id, e.module_id, e.api_stack) == (DEFAULT_AGENT_ID, DEFAULT_MODULE_ID, "new")
    assert np.array_equal(e.module_input, OBS[1])
    assert e.logits.shape == e.probs.shape == (2,)
    assert e.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert e.entropy == pytest.approx(-(e.probs * np.log(e.probs)).sum(), abs=1e-5)
    assert int(e.greedy_action) == int(np.argmax(e.probs))
    assert int(e.sampled_action) in (0, 1)
    assert "greedy action" in str(e)


def test_explain_batch_shapes_and_ids(algo):
    batch = explain(algo, OBS, module_id=DEFAULT_MODULE_ID)
    assert batch.batched and len(batch) == 3
    assert batch.module_input.shape == (3, 4)
    assert batch.logits.shape == batch.probs.shape == (3, 2)
    assert batch.entropy.shape == batch.value.shape == batch.greedy_action.shape == (3,)
    assert np.allclose(batch.probs.sum(axis=1), 1.0, atol=1e-5)
    by_agent = explain(algo, OBS[2], agent_id=DEFAULT_AGENT_ID)
    assert np.allclose(by_agent.probs, batch.probs[2], atol=1e-6)


def test_greedy_action_is_what_rllib_picks(algo):
    module = algo.env_runner.module
    with torch.no_grad():
        logits = module.forward_inference({"obs": torch.from_numpy(OBS)})["action_dist_inputs"]
        rllib = (module.get_inference_action_dist_cls().from_logits(logits)
                 .to_deterministic().sample())
    assert explain(algo, OBS).greedy_action.tolist() == rllib.tolist()


def test_greedy_action_matches_rllib_episodes(algo):
    episodes = algo.env_runner.sample(num_episodes=2, explore=False)
    observations, actions = [], []
    for episode in episodes:
        n = len(episode)
        observations.extend(episode.get_observations(slice(0, n)))
        actions.extend(int(a) for a in episode.get_actions(slice(0, n)))
    assert len(actions) >= 10
    assert explain(algo, np.stack(observations)).greedy_action.tolist() == actions


def test_value_comes_from_the_learner_module(algo):
    e = explain(algo, OBS[1])
    assert isinstance(float(e.value), float) and np.isfinite(e.value)
    learner_module = algo.learner_group._learner.module[DEFAULT_MODULE_ID]
    with torch.no_grad():
        expected = learner_module.compute_values({"obs": torch.from_numpy(OBS[1:2])})
    assert float(e.value) == pytest.approx(float(expected[0]), abs=1e-6)


def test_explain_does_not_mutate_connector_state(algo):
    pipeline = algo.env_runner._env_to_module
    before = repr(pipeline.get_state())
    explain(algo, OBS)
    assert repr(pipeline.get_state()) == before


def test_bad_observation_shape_names_the_space(algo):
    with pytest.raises(ValueError, match=r"not in the observation space Box\(.*shape \(5,\), "
                                         r"expected \(4,\)"):
        explain(algo, np.zeros(5, dtype=np.float32))


def test_unknown_module_lists_modules(algo):
    with pytest.raises(ValueError, match=r"Unknown module id 'pol1'.*\['default_policy'\]"):
        explain(algo, OBS[0], module_id="pol1")


def test_unknown_agent_lists_agents(algo):
    with pytest.raises(ValueError, match=r"Unknown agent id 'agent1'.*\['default_agent'\]"):
        explain(algo, OBS[0], agent_id="agent1")
