"""``explain`` beyond the support matrix's spaces: the old stack's Gaussian, a Dict
observation's bad part, and the modules it cannot explain yet (recurrent ones, Tuple
actions), which it refuses by name instead of failing inside numpy or RLlib.

Every algorithm here is built, not trained: what is compared is RLlib's own answer for
the same weights.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.algorithms.ppo import PPOConfig

import rldebug


def _build(config):
    return rldebug.local_mode(config.env_runners(num_env_runners=0)
                              .debugging(seed=0), warn=False).build_algo()


def _old_stack(config):
    return config.api_stack(enable_rl_module_and_learner=False,
                            enable_env_runner_and_connector_v2=False)


def test_old_stack_gaussian_shows_mean_and_std_not_log_stds_as_actions():
    """Old-stack PPO on Pendulum: mean and std were None, and the table listed the
    log-stds as actions 1 and 2 beside the mean."""
    algo = _build(_old_stack(PPOConfig().environment("Pendulum-v1")))
    try:
        obs = np.array([0.6, -0.8, 0.3], np.float32)
        e = rldebug.explain(algo, obs)
        mean, log_std = np.split(np.asarray(e.logits, float), 2)
        np.testing.assert_allclose(e.mean, mean, rtol=1e-5)
        np.testing.assert_allclose(e.std, np.exp(log_std), rtol=1e-5)
        np.testing.assert_allclose(e.greedy_action, mean, rtol=1e-5)
        # RLlib's inference: the greedy action, unsquashed to Pendulum's [-2, 2]
        expected = algo.compute_single_action(obs, explore=False)
        np.testing.assert_allclose(e.greedy_env_action, expected, rtol=1e-5, atol=1e-6)
        shown = str(e)
        assert "mean" in shown and "std" in shown and "action 1" not in shown
        # inspect read the distribution's __name__, which the old stack's partial of its
        # Gaussian has not: AttributeError on every old-stack Box-action policy
        summary = rldebug.inspect(algo)
        module = summary.modules["default_policy"]
        assert module.action_distribution == "TorchDiagGaussian"
        assert module.num_params == sum(p.numel() for p in algo.get_policy().model.parameters())
        assert "TorchDiagGaussian" in str(summary)
    finally:
        algo.stop()


def _old_sac(env):
    from ray.rllib.algorithms.sac import SACConfig

    # RLlib 2.60's default replay buffer is the new stack's; its old stack needs its own
    return _old_stack(SACConfig().environment(env)).training(
        replay_buffer_config={"type": "MultiAgentPrioritizedReplayBuffer"})


def test_parameters_outside_leaf_layers_are_counted():
    """A free log-std (a parameter of the pi head, which has layers of its own) was left
    out of the layers and the count; a module's own nn.Parameter too."""
    algo = _build(PPOConfig().environment("Pendulum-v1").rl_module(
        model_config={"free_log_std": True, "fcnet_hiddens": [8]}))
    try:
        module = algo.learner_group._learner.module["default_policy"]
        summary = rldebug.inspect(algo).modules["default_policy"]
        assert summary.num_params == sum(p.numel() for p in module.parameters())
        (own,) = [layer for layer in summary.layers if "log_std" in layer.param_shapes]
        assert own.name == "pi" and own.param_shapes["log_std"] == (1,)
        assert summary.num_trainable_params == summary.num_params
    finally:
        algo.stop()


def test_old_stack_sac_is_explained_as_its_policy_acts():
    """Old-stack SAC on Pendulum: explain raised a bare NotImplementedError (SAC's model
    has no value_function) and would have shown the raw observation as the logits
    (SAC's model() passes the observation through; its policy head is
    get_action_model_outputs)."""
    import torch
    from ray.rllib.policy.sample_batch import SampleBatch

    algo = _build(_old_sac("Pendulum-v1"))
    try:
        obs = np.array([0.6, -0.8, 0.3], np.float32)
        e = rldebug.explain(algo, obs, seed=0)
        policy = algo.get_policy()
        model = policy.model
        with torch.no_grad():
            model_out, _ = model(SampleBatch({"obs": torch.as_tensor(obs[None])}), [], None)
            inputs, _ = model.get_action_model_outputs(model_out)
            mean = inputs[0, :1].numpy()
            expected_q, _ = model.get_q_values(model_out, torch.tanh(inputs[:, :1]))
        assert e.family == "actor_critic"
        np.testing.assert_allclose(e.logits, inputs[0].numpy(), rtol=1e-5)
        np.testing.assert_allclose(e.mean, mean, rtol=1e-5)
        # the greedy action is the squashed mean, and Q is asked at it
        np.testing.assert_allclose(e.greedy_action, np.tanh(mean), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e.value, float(expected_q), rtol=1e-5)
        assert e.q_value is not None and e.alpha == pytest.approx(1.0)  # initial_alpha
        assert e.entropy_is_estimate and np.isfinite(e.entropy)
        # RLlib's inference: the greedy action, unsquashed to Pendulum's [-2, 2]
        expected = algo.compute_single_action(obs, explore=False)
        np.testing.assert_allclose(e.greedy_env_action, expected, rtol=1e-5, atol=1e-6)
        assert np.all(np.abs(e.env_action) <= 2.0)
        assert "value" in str(e)
        assert rldebug.inspect(algo).modules["default_policy"].value_function == "Q(s, a)"
    finally:
        algo.stop()


def test_old_stack_discrete_sac_shows_q_of_every_action():
    algo = _build(_old_sac("CartPole-v1"))
    try:
        obs = np.array([0.1, 0.2, 0.03, -0.1], np.float32)
        e = rldebug.explain(algo, obs, seed=0)
        assert e.family == "actor_critic" and e.probs is not None
        assert np.asarray(e.q_values).shape == (2,)
        assert e.value == pytest.approx(float(np.max(e.q_values)))
        assert "value (max Q)" in str(e)  # it said "Q of the greedy action", another number
        assert int(e.greedy_action) == algo.compute_single_action(obs, explore=False)
        summary = rldebug.inspect(algo).modules["default_policy"]
        assert summary.value_function == "max over a of Q(s, a)"
    finally:
        algo.stop()


def test_a_pipeline_that_reads_earlier_steps_is_said_not_silently_zeroed():
    """explain builds a fresh one-step episode per observation. With RLlib's
    PrevActionsPrevRewards the previous action and reward were zeros whatever came
    before, with no word; a piece of the user's that may read earlier steps is named
    too, and RLlib's per-observation pieces are not."""
    from ray.rllib.connectors.connector_v2 import ConnectorV2
    from ray.rllib.connectors.env_to_module import FlattenObservations, PrevActionsPrevRewards

    class MyPiece(ConnectorV2):
        def __call__(self, *, rl_module, batch, episodes, **kwargs):
            return batch

    obs = np.array([0.1, 0.2, 0.03, -0.1], np.float32)
    setups = {
        "history": [PrevActionsPrevRewards(n_prev_actions=1, n_prev_rewards=1),
                    FlattenObservations(multi_agent=False)],
        "mine": [MyPiece()],
        "per_step": [FlattenObservations(multi_agent=False)],
    }
    notes = {}
    for name, pieces in setups.items():
        algo = _build(PPOConfig().environment("CartPole-v1").env_runners(
            env_to_module_connector=lambda env, *a, pieces=pieces, **k: list(pieces)))
        try:
            e = rldebug.explain(algo, obs, seed=0)
            notes[name] = e.notes
            if name == "history":  # what the note is about: previous action, reward 0
                np.testing.assert_array_equal(e.module_input[4:], [0.0, 0.0, 0.0])
                assert "note" in str(e)
        finally:
            algo.stop()
    assert len(notes["history"]) == 1 and notes["history"][0].startswith(
        "PrevActionsPrevRewards builds the module's input from earlier steps")
    assert "an episode's first step" in notes["history"][0]
    assert len(notes["mine"]) == 1 and notes["mine"][0].startswith(
        "Your connector piece MyPiece ran on a fresh episode")
    assert notes["per_step"] == ()


class DictObservations(gym.Env):
    observation_space = gym.spaces.Dict({"color": gym.spaces.Discrete(3),
                                         "noise": gym.spaces.Box(-1, 1, (2,), np.float32)})
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        super().__init__()

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def _flatten(env=None, spaces=None, device=None):
    from ray.rllib.connectors.env_to_module import FlattenObservations

    return FlattenObservations()


def test_a_dict_observations_bad_part_is_named():
    algo = _build(PPOConfig().environment(DictObservations)
                  .env_runners(env_to_module_connector=_flatten))
    try:
        good = {"color": 1, "noise": np.zeros(2, np.float32)}
        assert rldebug.explain(algo, good).probs.shape == (2,)
        for bad, reason in (({**good, "color": 3}, r"\['color'\]: 3 is not an int in \[0, 2\]"),
                            ({"color": 1}, r"its keys are \['color'\], the space's "
                                           r"\['color', 'noise'\]"),
                            ({**good, "noise": np.zeros(3, np.float32)},
                             r"\['noise'\]: shape \(3,\), expected \(2,\)")):
            with pytest.raises(ValueError, match=reason):
                rldebug.explain(algo, bad)
        # its values as a list: read as a batch, which the error did not say
        with pytest.raises(ValueError, match=r"A list is read as a batch of observations; one "
                                             r"observation of a Dict space is a dict of its "
                                             r"keys \('color', 'noise'\)"):
            rldebug.explain(algo, [1, np.zeros(2, np.float32)])
    finally:
        algo.stop()


class TupleObservations(DictObservations):
    observation_space = gym.spaces.Tuple((gym.spaces.Box(-1, 1, (2,), np.float32),
                                          gym.spaces.Discrete(3)))


def test_tuple_observations_one_or_a_batch_are_explained_and_printed():
    """A Tuple observation crashed printing (numpy cannot make one array of its parts),
    and a batch of them raised numpy's ValueError from the space check."""
    algo = _build(PPOConfig().environment(TupleObservations)
                  .env_runners(env_to_module_connector=_flatten))
    try:
        first, second = (np.array([0.5, -0.5], np.float32), 2), (np.zeros(2, np.float32), 0)
        one = rldebug.explain(algo, first)
        assert "([ 0.5 -0.5], 2)" in str(one)
        np.testing.assert_allclose(one.module_input, [0.5, -0.5, 0, 0, 1])  # the one-hot
        batch = rldebug.explain(algo, [first, second])
        assert batch.batched and len(batch) == 2 and batch[1].observation == second
        np.testing.assert_allclose(batch[0].probs, one.probs, rtol=1e-5)
        assert "([ 0.5 -0.5], 2)" in str(batch)
        # the parts as a list, as JSON or a user's code gives them: printing it crashed
        as_list = rldebug.explain(algo, [np.array([0.5, -0.5], np.float32), 2])
        np.testing.assert_allclose(as_list.probs, one.probs, rtol=1e-6)
        assert "([ 0.5 -0.5], 2)" in str(as_list)
        figure = rldebug.plot_action_probs(batch[1])  # its title crashed making one array
        assert "([0. 0.], 0)" in figure.axes[0].get_title()
        with pytest.raises(ValueError, match=r"Index 2 is out of range.*0 to 1"):
            batch[2]  # numpy's bare IndexError
        with pytest.raises(ValueError, match=r"Observation 0 of the batch.*part 0: values "
                                             r"\[5.0, -0.5\] outside"):
            rldebug.explain(algo, [(np.array([5.0, -0.5], np.float32), 2)])
    finally:
        algo.stop()


class TupleActions(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (4,), np.float32)
    action_space = gym.spaces.Tuple((gym.spaces.Discrete(3),
                                     gym.spaces.Box(-1, 1, (1,), np.float32)))

    def __init__(self, config=None):
        super().__init__()

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def test_a_tuple_action_space_is_refused_by_name():
    """It raised numpy's "inhomogeneous shape" from inside rldebug."""
    algo = _build(PPOConfig().environment(TupleActions))
    try:
        with pytest.raises(ValueError, match=r"acts in a Tuple action space .* explain shows "
                                             r"Discrete, MultiDiscrete and Box actions"):
            rldebug.explain(algo, np.zeros(4, np.float32))
    finally:
        algo.stop()


@pytest.mark.parametrize("stack", ["new", "old"])
def test_a_recurrent_module_is_refused_by_name(stack):
    """use_lstm raised RLlib's KeyError 'state_in' (new stack) or an AssertionError on
    seq_lens (old stack)."""
    config = PPOConfig().environment("CartPole-v1")
    if stack == "new":
        from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

        config = config.rl_module(model_config=DefaultModelConfig(use_lstm=True,
                                                                  lstm_cell_size=8))
    else:
        config = _old_stack(config).training(model={"use_lstm": True, "lstm_cell_size": 8})
    algo = _build(config)
    try:
        with pytest.raises(ValueError, match=r"'default_policy' is recurrent .* depends on "
                                             r"the state it carried"):
            rldebug.explain(algo, np.zeros(4, np.float32))
    finally:
        algo.stop()


def test_an_action_space_from_1_is_said_beside_the_index_shown():
    """Discrete(3, start=1): explain showed greedy action 0, which is not in the env's
    space, with no word that RLlib sends the index as it is."""
    from preflight_configs import offset_discrete

    config, _ = offset_discrete()
    algo = _build(config)
    try:
        explained = rldebug.explain(algo, np.zeros(2, np.float32))
        assert int(explained.greedy_action) in (0, 1, 2)
        (note,) = [n for n in explained.notes if "Discrete(3, start=1)" in n]
        assert "RLlib 2.60 sends the env the index as it is" in note
        assert "Discrete(3, start=1)" in str(explained)  # printed in the note row
    finally:
        algo.stop()
