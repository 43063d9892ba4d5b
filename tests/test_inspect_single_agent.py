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


def test_a_json_observation_takes_the_spaces_dtypes(algo, tmp_path, capsys):
    """JSON has no float32: `rldebug inspect --obs '[0.1, -1.5, 0.2, 2.0]'` on a float32
    Box was refused as float64. The CLI now spells it in the space's dtype, and explains
    exactly what the float32 array gives."""
    from rldebug.cli import main
    from rldebug.inspection.explanation import json_observation

    given = json_observation(algo, OBS[1].tolist())
    assert given.dtype == np.float32 and np.array_equal(given, OBS[1])
    batch = json_observation(algo, OBS.tolist())
    assert batch.shape == (3, 4) and batch.dtype == np.float32
    assert np.array_equal(explain(algo, given).logits, explain(algo, OBS[1]).logits)
    checkpoint = algo.save_to_path(str(tmp_path / "ckpt"))
    assert main(["inspect", checkpoint, "--obs", "[0.1, -1.5, 0.2, 2.0]"]) == 0
    out, err = capsys.readouterr()
    assert "greedy action" in out and "default_agent → default_policy" in out
    # a checkpoint rldebug did not seal is said in one line (not with a line of its code)
    assert "rldebug inspect: warning: " in err and "carries no rldebug checksums" in err
    assert "algo = load(" not in err


def test_json_and_list_observations_in_dict_tuple_and_int_spaces():
    """Lists inside a Dict or Tuple observation become arrays of their part's dtype (they
    reached the flattening connector as lists: a raw torch shape error); an int space
    keeps a non-integral number as given, for the space check to name."""
    from gymnasium import spaces

    from rldebug.inspection._common import as_observation_batch, observation_from_json

    picker = spaces.Dict({"color": spaces.Discrete(3),
                          "noise": spaces.Box(-1.0, 1.0, (2,), np.float32)})
    (single,), batched = as_observation_batch({"color": 2, "noise": [0.1, -0.2]}, picker)
    assert not batched and single["noise"].dtype == np.float32
    from_json = observation_from_json({"color": 2.0, "noise": [0.1, -0.2]}, picker)
    assert from_json["color"] == 2 and isinstance(from_json["color"], int)
    assert from_json["noise"].dtype == np.float32
    assert [o["color"] for o in observation_from_json(
        [{"color": 0, "noise": [0, 0]}, {"color": 1, "noise": [0, 0]}], picker)] == [0, 1]
    pair = spaces.Tuple((spaces.Discrete(2), spaces.Box(0.0, 1.0, (1,), np.float32)))
    assert observation_from_json([1, [0.5]], pair)[1].dtype == np.float32
    assert len(observation_from_json([[1, [0.5]], [0, [0.25]]], pair)) == 2
    grid = spaces.MultiDiscrete([5, 5])
    assert observation_from_json([1, 4], grid).dtype == grid.dtype
    assert observation_from_json([1.5, 4], grid) == [1.5, 4]  # left for the check to name


def test_parts_of_a_checkpoint_are_refused_with_the_checkpoint_to_pass(algo, tmp_path,
                                                                       capsys):
    """Its learner_group or env_runner directory (RLlib's files, no module: a raw
    "LearnerGroup ... not a subclass of RLModule"), or one module's directory (an
    AttributeError from stopping a module): each names the algorithm checkpoint."""
    from rldebug.cli import main

    checkpoint = tmp_path / "ckpt"
    algo.save_to_path(str(checkpoint))
    module_said = ("is an RLModule checkpoint (a module's weights, without the env, "
                   "connectors or agent mapping the summary and --obs need): pass the "
                   f"algorithm checkpoint it belongs to, '{checkpoint}'")
    group_said = f"is the 'learner_group' part of the algorithm checkpoint {checkpoint}"
    for part, said in (("learner_group", group_said),
                       ("env_runner", "is the 'env_runner' part"),
                       ("learner_group/learner/rl_module/default_policy", module_said)):
        assert main(["inspect", str(checkpoint / part)]) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, err


USER_ENV = '''
import gymnasium as gym


class UserCartPole(gym.Wrapper):
    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
'''


def test_a_checkpoint_whose_env_module_is_not_importable_says_what_to_add(tmp_path):
    """The checkpoint pickles the user's env class by reference: loading it where its
    module is not on the path raised a bare ModuleNotFoundError (exit 1)."""
    import subprocess
    import sys

    (tmp_path / "user_env_module.py").write_text(USER_ENV)
    sys.path.insert(0, str(tmp_path))
    try:
        from user_env_module import UserCartPole

        config = (PPOConfig().environment(UserCartPole)
                  .training(train_batch_size=64, minibatch_size=32, num_epochs=1))
        built = rldebug.local_mode(config).build_algo()
        checkpoint = built.save_to_path(str(tmp_path / "ckpt"))
        built.stop()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("user_env_module", None)
    done = subprocess.run([sys.executable, "-m", "rldebug", "inspect", checkpoint],
                          capture_output=True, text=True, timeout=300, cwd="/", check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "stores code of the module 'user_env_module'" in done.stderr
    assert "add the directory holding 'user_env_module' to PYTHONPATH" in done.stderr
