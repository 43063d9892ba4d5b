"""inspect() and explain() on both API stacks, agreement with RLlib, and bad input."""

import random

import gymnasium as gym
import numpy as np
import pytest
import torch
from inspect_algos import trained_algo
from scipy.stats import chisquare

import rldebug
from rldebug.arena.env import ACTION_NAMES
from rldebug.inspection import AlgoSummary, Explanation, explain, inspect

ALL_CELLS = np.array([[i, 99] for i in range(99)])


@pytest.fixture
def algo(api_stack):
    return trained_algo(api_stack)


# -- inspect -------------------------------------------------------------------

def test_summary_lists_modules_agents_spaces_layers(algo, api_stack):
    summary = inspect(algo)
    assert isinstance(summary, AlgoSummary)
    assert summary.api_stack == api_stack
    assert summary.agents == {"agent1": "pol1", "agent2": "pol2"}
    assert sorted(summary.modules) == ["pol1", "pol2"]
    pol1 = summary.modules["pol1"]
    assert pol1.agents == ["agent1"]
    assert str(pol1.raw_observation_space) == "MultiDiscrete([100 100])"
    assert pol1.observation_space.shape == (200,)  # one-hot after the connectors
    assert pol1.action_space.n == 4
    assert pol1.action_distribution == "TorchCategorical"
    assert pol1.lr == pytest.approx(1e-2)
    assert pol1.trainable and pol1.has_value_function
    linear = [layer for layer in pol1.layers if layer.kind == "Linear"]
    # actor 200->16->16->4 and a separate critic 200->16->16->1.
    assert sorted((layer.in_features, layer.out_features) for layer in linear) == sorted(
        [(200, 16), (16, 16), (16, 4), (200, 16), (16, 16), (16, 1)])
    expected = 2 * (200 * 16 + 16 + 16 * 16 + 16) + (16 * 4 + 4) + (16 + 1)
    assert pol1.num_params == pol1.num_trainable_params == expected


def test_summary_renders_as_text_and_html(algo):
    summary = inspect(algo)
    text = str(summary)
    assert "pol1" in text and "agent2" in text and "MultiDiscrete" in text
    html = summary._repr_html_()
    assert "<table>" in html and "Linear" in html and "200 → 16" in html


def test_summary_shows_frozen_layers(algo, api_stack):
    if api_stack == "new":
        module = algo.learner_group._learner.module["pol2"]
    else:
        module = algo.get_policy("pol2").model
    params = list(module.parameters())
    params[0].requires_grad_(False)
    try:
        pol2 = inspect(algo).modules["pol2"]
        assert pol2.num_trainable_params == pol2.num_params - params[0].numel() - params[1].numel()
        assert "frozen" in str(inspect(algo))
    finally:
        params[0].requires_grad_(True)


# -- explain -------------------------------------------------------------------

def test_explain_single_observation(algo, api_stack):
    e = explain(algo, np.array([0, 99]), agent_id="agent1", seed=0)
    assert isinstance(e, Explanation) and not e.batched
    assert (e.agent_id, e.module_id, e.api_stack) == ("agent1", "pol1", api_stack)
    assert e.module_input.shape == (200,)
    assert np.flatnonzero(e.module_input).tolist() == [0, 199]  # one-hot of 0 and 99
    assert e.logits.shape == e.probs.shape == (4,)
    assert e.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(e.probs, torch.softmax(torch.tensor(e.logits), -1).numpy(), atol=1e-6)
    assert e.action_names == ACTION_NAMES
    assert int(e.greedy_action) == int(np.argmax(e.probs))
    assert e.entropy == pytest.approx(-(e.probs * np.log(e.probs)).sum(), abs=1e-5)
    assert np.ndim(e.value) == 0 and np.isfinite(e.value)
    assert e.notes == ()  # the arena's pipeline reads the newest observation alone
    assert "greedy action" in str(e) and "<table>" in e._repr_html_()


def test_explain_batch_matches_single_calls(algo):
    batch = explain(algo, ALL_CELLS, agent_id="agent2", seed=0)
    assert batch.batched and len(batch) == 99
    assert batch.probs.shape == (99, 4) and batch.value.shape == (99,)
    assert batch.greedy_action.shape == batch.entropy.shape == (99,)
    for i in (0, 42, 98):
        one = explain(algo, ALL_CELLS[i], agent_id="agent2")
        assert np.allclose(one.probs, batch.probs[i], atol=1e-6)
        assert one.value == pytest.approx(batch.value[i], abs=1e-5)
        assert np.allclose(batch[i].probs, one.probs, atol=1e-6)
    as_lists = explain(algo, ALL_CELLS[:3].tolist(), agent_id="agent2")
    assert as_lists.batched and np.allclose(as_lists.probs, batch.probs[:3], atol=1e-6)


def test_explain_by_module_id_uses_its_agent(algo):
    by_module = explain(algo, np.array([5, 7]), module_id="pol2")
    by_agent = explain(algo, np.array([5, 7]), agent_id="agent2")
    assert by_module.agent_id == "agent2"
    assert np.allclose(by_module.probs, by_agent.probs)


def test_sampled_action_is_seeded_and_leaves_torch_rng_alone(algo):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = explain(algo, ALL_CELLS, agent_id="agent1", seed=7).sampled_action
    assert torch.equal(torch.get_rng_state(), before)
    again = explain(algo, ALL_CELLS, agent_id="agent1", seed=7).sampled_action
    other = explain(algo, ALL_CELLS, agent_id="agent1", seed=8).sampled_action
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_explain_does_not_mutate_connector_state():
    algo = trained_algo("new")  # the new stack calls the EnvRunner's own pipeline
    pipeline = algo.env_runner._env_to_module
    before = repr(pipeline.get_state())
    explain(algo, ALL_CELLS, agent_id="agent1")
    assert repr(pipeline.get_state()) == before


# -- agreement with RLlib ------------------------------------------------------

def _new_stack_greedy_pairs(algo):
    """(agent, raw obs, action) of episodes RLlib's EnvRunner ran without exploration."""
    episodes = algo.env_runner.sample(num_episodes=2, explore=False)
    for episode in episodes:
        for aid, agent_episode in episode.agent_episodes.items():
            n = len(agent_episode)
            observations = agent_episode.get_observations(slice(0, n))
            for obs, action in zip(observations, agent_episode.get_actions(slice(0, n))):
                # FlattenObservations wrote the one-hot back into the episode: decode it.
                own, other = np.flatnonzero(obs)
                yield aid, np.array([own, other - 100]), int(action)


def test_greedy_action_is_what_rllib_picks(algo, api_stack):
    rng = np.random.default_rng(0)
    if api_stack == "new":
        pairs = list(_new_stack_greedy_pairs(algo))
    else:
        pairs = []
        for aid, pid in (("agent1", "pol1"), ("agent2", "pol2")):
            for obs in rng.integers(0, 100, size=(20, 2)):
                pairs.append((aid, obs, int(algo.compute_single_action(
                    obs, policy_id=pid, explore=False))))
    assert len(pairs) >= 40
    for aid in ("agent1", "agent2"):
        obs = np.stack([o for a, o, _ in pairs if a == aid])
        rllib_actions = [act for a, _, act in pairs if a == aid]
        assert explain(algo, obs, agent_id=aid).greedy_action.tolist() == rllib_actions


def _rllib_samples(algo, api_stack, e, n):
    """n actions RLlib itself samples (exploration) for the module input of ``e``."""
    repeated = np.repeat(e.module_input[None], n, axis=0)
    torch.manual_seed(0)
    if api_stack == "new":
        from ray.rllib.connectors.module_to_env import GetActions
        from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

        modules = algo.env_runner.module
        with torch.no_grad():
            out = modules[e.module_id].forward_exploration({"obs": torch.tensor(repeated)})
        batch = GetActions()(rl_module=modules, batch={e.module_id: dict(out)},
                             episodes=[MultiAgentEpisode()], explore=True)
        return batch[e.module_id]["actions"].numpy()
    actions, _, _ = algo.get_policy(e.module_id).compute_actions(repeated, explore=True)
    return np.asarray(actions)


def test_probs_match_rllib_sampling_frequencies(algo, api_stack):
    # The most decided observation gives the test the most power.
    batch = explain(algo, ALL_CELLS, agent_id="agent1")
    e = batch[int(np.argmin(batch.entropy))]
    n = 4000
    counts = np.bincount(_rllib_samples(algo, api_stack, e, n), minlength=4)
    probs = e.probs.astype(np.float64) / e.probs.astype(np.float64).sum()
    assert chisquare(counts, n * probs).pvalue > 1e-3
    # The same counts must reject wrong probabilities, or this test could not fail.
    assert chisquare(counts, np.full(4, n / 4)).pvalue < 1e-3
    assert chisquare(counts, n * np.roll(probs, 1)).pvalue < 1e-3


# -- bad input -----------------------------------------------------------------

@pytest.mark.parametrize("obs, match", [
    (np.array([0, 99, 3]), r"shape \(3,\), expected \(2,\)"),
    (np.array([0.0, 99.0]), r"dtype float64, expected int64"),
    (np.array([0, 100]), r"outside the space's bounds: index 1 is 100 \(bounds 0..99\)"),
    (np.array([-1, 5]), r"outside the space's bounds: index 0 is -1 \(bounds 0..99\)"),
    ([[0, 99], [0, 100]], r"Observation 1 of the batch"),
    ("up", r"not in the observation space MultiDiscrete"),
])
def test_bad_observation_is_rejected_with_the_space(algo, obs, match):
    with pytest.raises(ValueError, match=match):
        explain(algo, obs, agent_id="agent1")


def test_unknown_agent_lists_agents(algo):
    with pytest.raises(ValueError, match=r"Unknown agent id 'agent3'.*\['agent1', 'agent2'\]"):
        explain(algo, np.array([0, 99]), agent_id="agent3")


def test_unknown_module_lists_modules(algo):
    with pytest.raises(ValueError, match=r"Unknown module id 'pol9'.*\['pol1', 'pol2'\]"):
        explain(algo, np.array([0, 99]), module_id="pol9")


def test_agent_and_module_must_match(algo):
    with pytest.raises(ValueError, match=r"'agent1' maps to module 'pol1', not 'pol2'"):
        explain(algo, np.array([0, 99]), agent_id="agent1", module_id="pol2")


def test_whose_observation_must_be_said(algo):
    with pytest.raises(ValueError, match=r"pass agent_id="):
        explain(algo, np.array([0, 99]))


def test_not_an_algorithm(algo, api_stack):
    with pytest.raises(TypeError, match=r"expects a built RLlib Algorithm"):
        explain("checkpoint_dir", np.array([0, 99]), agent_id="agent1")
    with pytest.raises(TypeError, match=r"expects a built RLlib Algorithm"):
        inspect(None)
    if api_stack == "old":
        return
    # a module: its repr (the whole network, many lines) was printed into the message
    module = algo.get_module("pol1")
    with pytest.raises(TypeError, match=r"got the module \w+ \(what rldebug.load\(\.\.\., "
                                        r"modules_only=True\)") as err:
        explain(module, np.array([0, 99]))
    assert "\n" not in str(err.value)


def test_a_multidiscrete_actions_distribution_is_named_as_rllib_means_it():
    """RLlib 2.60 builds a MultiDiscrete action's distribution as a partial class named
    "<class '...TorchMultiCategorical'>Partial": the summary and explain printed that."""
    import torch
    from ray.rllib.core.distribution.torch.torch_distribution import (
        TorchCategorical,
        TorchMultiCategorical,
    )

    from rldebug.shapes.outputs import distribution_name

    partial = TorchMultiCategorical.get_partial_dist_cls(input_lens=[3, 2])
    assert partial.__name__.startswith("<class '")
    assert distribution_name(partial) == "TorchMultiCategorical"
    assert distribution_name(partial.from_logits(torch.zeros(1, 5))) == "TorchMultiCategorical"
    assert distribution_name(TorchCategorical) == "TorchCategorical"


class _PickTwo(gym.Env):
    """A user env with a MultiDiscrete([3, 2]) action."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.MultiDiscrete([3, 2])

    def __init__(self, config=None):
        pass

    def reset(self, *, seed=None, options=None):
        return np.zeros(4, np.float32), {}

    def step(self, action):
        return np.zeros(4, np.float32), float(action[0] == 2), True, False, {}


def test_a_multidiscrete_action_is_explained_part_by_part():
    """One categorical per part: its probabilities (each part's sum to 1), labelled by
    part, and plotted (the table listed 'actions 0-4' as one categorical without
    probabilities, and plot_action_probs refused it)."""
    from ray.rllib.algorithms.ppo import PPOConfig

    algo = rldebug.local_mode(PPOConfig().environment(_PickTwo)).build_algo()
    try:
        e = rldebug.explain(algo, np.array([0.5, 1.0, 0.2, 0.3], np.float32), seed=0)
    finally:
        algo.stop()
    assert e.distribution == "TorchMultiCategorical" and e.action_parts == [3, 2]
    assert e.probs[:3].sum() == pytest.approx(1.0, abs=1e-5)
    assert e.probs[3:].sum() == pytest.approx(1.0, abs=1e-5)
    assert list(e.greedy_action) == [int(np.argmax(e.probs[:3])), int(np.argmax(e.probs[3:]))]
    text = str(e)
    assert "part 0 = 2" in text and "part 1 = 1" in text
    figure = rldebug.plot_action_probs(e)
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == \
        ["0=0", "0=1", "0=2", "1=0", "1=1"]


# -- a policy mapping fn that reads the episode ---------------------------------------

def _self_play(api_stack: str, asked: list):
    """PPO on RLlib's MultiAgentCartPole (int agent ids 0 and 1) with the mapping RLlib's
    self-play examples use: a coin the episode's id throws decides which agent plays
    'main' (the old stack's EpisodeV2 has an int episode_id instead of id_, user_data,
    and a worker given with it). ``asked`` gets one entry per question rldebug asks."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    from rldebug.shapes.mapping import is_stand_in

    if api_stack == "new":
        def mapping(agent_id, episode, **kwargs):
            asked.extend([agent_id] if is_stand_in(episode) else [])
            return "main" if hash(episode.id_) % 2 == agent_id else "opponent"
    else:
        def mapping(agent_id, episode, worker=None, **kwargs):
            asked.extend([agent_id] if is_stand_in(episode) else [])
            coin = episode.episode_id + worker.worker_index + len(episode.user_data)
            return "main" if coin % 2 == agent_id else "opponent"
    config = (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
              .multi_agent(policies={"main", "opponent"}, policy_mapping_fn=mapping)
              .training(train_batch_size=64, minibatch_size=32, num_epochs=1))
    if api_stack == "old":
        config = config.api_stack(enable_rl_module_and_learner=False,
                                  enable_env_runner_and_connector_v2=False)
    return rldebug.local_mode(config, warn=False).build_algo()


def test_an_agent_the_mapping_fn_sends_to_either_module_by_episode(api_stack, tmp_path,
                                                                   capsys):
    """The mapping fn was asked with episode=None: it raised, and explain said agent 0
    was unknown and 'the env's agents are []', inspect showed no agent for either
    module, and the probes stopped with an ERROR."""
    from rldebug.cli import main

    asked = []
    algo = _self_play(api_stack, asked)
    obs = np.array([0.1, 0.2, 0.03, -0.1], np.float32)
    try:
        random.seed(5)
        expected = random.random()
        random.seed(5)
        summary = inspect(algo)
        assert random.random() == expected  # 128 questions left Python's RNG alone
        assert summary.agents == {0: ["main", "opponent"], 1: ["main", "opponent"]}
        assert summary.mapping_error is None
        assert summary.modules["main"].agents == [0, 1]
        assert "0 → main | opponent (per episode)" in str(summary)
        with pytest.raises(ValueError, match=r"Agent 0 acts with 'main' or 'opponent' "
                                             r"depending on the episode.*module_id="):
            explain(algo, obs, agent_id=0)
        for module in ("main", "opponent"):
            e = explain(algo, obs, agent_id=0, module_id=module)
            assert e.module_id == module
            assert explain(algo, obs, module_id=module).module_id == module
        # asked 64 times per agent, as it reads the episode, once in the process
        assert sorted(asked) == [0] * 64 + [1] * 64
        if api_stack == "new":
            path = tmp_path / "checkpoint"
            algo.save_to_path(str(path))
    finally:
        algo.stop()
    if api_stack == "new":  # --agent 0 names the int agent id 0 (RLlib's MultiAgentCartPole)
        assert main(["inspect", str(path), "--obs", "[0.1, 0.2, 0.03, -0.1]", "--agent", "0",
                     "--module", "opponent"]) == 0, capsys.readouterr().err
        assert "opponent" in capsys.readouterr().out
        assert main(["inspect", str(path), "--obs", "[0.1, 0.2, 0.03, -0.1]",
                     "--agent", "0"]) == 2
        assert "acts with 'main' or 'opponent'" in capsys.readouterr().err


def test_a_mapping_fn_that_does_not_read_the_episode_is_asked_a_few_times_per_agent_once():
    """Asked UNREAD_ASKS times per agent (a random pick shows as several answers), and
    not again by explain after inspect: its answers are kept per function."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    from rldebug.shapes.mapping import UNREAD_ASKS, is_stand_in

    asked = []

    def mapping(agent_id, episode, **kwargs):
        asked.extend([agent_id] if is_stand_in(episode) else [])
        return f"p{agent_id}"

    config = (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
              .multi_agent(policies={"p0", "p1"}, policy_mapping_fn=mapping))
    algo = rldebug.local_mode(config, warn=False).build_algo()
    try:
        assert inspect(algo).agents == {0: "p0", 1: "p1"}
        obs = np.array([0.1, 0.2, 0.03, -0.1], np.float32)
        assert explain(algo, obs, agent_id=1).module_id == "p1"
        assert sorted(asked) == [0] * UNREAD_ASKS + [1] * UNREAD_ASKS
    finally:
        algo.stop()
