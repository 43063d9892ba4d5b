"""Named reward parts (info["reward_terms"]): summed per agent and episode by RewardTerms and
the trace, read back from result.json and TensorBoard, compared by diff, cited by the doctor;
on a single-agent env of the tests' own, the arena, and the old stack."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from event_envs import CostlyWalk, CostlyWalkWithNaN
from setups import SMALL_NET
from test_callbacks import event_scalars
from tiny import tiny_arena_config

import rldebug
from rldebug.arena import MultiAgentArena
from rldebug.callbacks import RewardTerms, RewardTermsWarning, add_callbacks
from rldebug.shapes.results import get_path
from rldebug.shapes.reward_terms import BadRewardTerms, terms_from_result, terms_of

CORPUS = Path(__file__).parent / "doctor_corpus" / "runs"


def walk_config(**env_config):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return (PPOConfig().environment(CostlyWalk, env_config=env_config)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
            .training(train_batch_size=100, minibatch_size=50, num_epochs=1)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=SMALL_NET))
            .debugging(seed=0))


def test_the_arenas_terms_add_up_to_its_rewards():
    env = MultiAgentArena({"max_timesteps": 300})
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        _, rewards, _, _, infos = env.step({a: int(rng.integers(4)) for a in ("agent1", "agent2")})
        for agent, reward in rewards.items():
            terms = terms_of(infos[agent])
            assert sum(terms.values()) == pytest.approx(reward)
            seen.update((agent, t) for t, v in terms.items() if v)
    assert seen == {("agent1", "new_field"), ("agent1", "idle"), ("agent1", "collision"),
                    ("agent2", "blocked"), ("agent2", "idle")}


def test_malformed_terms_are_named():
    with pytest.raises(BadRewardTerms, match="to numbers"):
        terms_of({"reward_terms": {"idle": "a lot"}})
    with pytest.raises(BadRewardTerms, match="dict of term name"):
        terms_of({"reward_terms": [1.0]})
    # a '/' made reward_terms/<agent>/move/progress_mean, one level too deep (an audit's)
    with pytest.raises(BadRewardTerms, match="'move_progress'"):
        terms_of({"reward_terms": {"move/progress": 1.0}})
    assert terms_of({"collision": True}) is None


def test_a_nan_term_is_left_out_of_the_mean_counted_and_warned_not_fatal():
    """A NaN term raised BadRewardTerms and ended the run (0 iterations; the trace's only
    event was that crash), where RLlib trains on with a NaN reward (a held-out audit):
    its episode's sum is now left out of the mean and counted, as AgentReturns does."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = add_callbacks(PPOConfig().environment(CostlyWalkWithNaN)
                           .env_runners(num_env_runners=0, rollout_fragment_length=100)
                           .training(train_batch_size=100, minibatch_size=100, num_epochs=1)
                           .debugging(seed=0), RewardTerms)
    CostlyWalkWithNaN.COSTS.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        algo = config.build_algo()
        try:
            result = algo.train()
        finally:
            algo.stop()
    costs = np.array(CostlyWalkWithNaN.COSTS)
    logged = get_path(result, "env_runners/reward_terms/default_agent")
    assert logged["step_cost_mean"] == pytest.approx(np.nanmean(costs))
    assert logged["step_cost_nonfinite"] == int(np.isnan(costs).sum()) >= 1
    said = [str(w.message) for w in caught if issubclass(w.category, RewardTermsWarning)]
    assert len(said) == 1 and "{'step_cost': nan}" in said[0] and "_nonfinite" in said[0]


def test_single_agent_terms_reach_the_result_tensorboard_and_the_trace(tmp_path):
    config = add_callbacks(walk_config(), RewardTerms)
    run = rldebug.run(config, stop={"training_iteration": 3}, logdir=tmp_path, progress=False,
                      trace="summary")
    run.algo.stop()
    logged = get_path(run.last_result, "env_runners/reward_terms/default_agent")
    assert set(logged) == {"goal_mean", "step_cost_mean"}
    assert -1.0 <= logged["step_cost_mean"] < 0 and 0 <= logged["goal_mean"] <= 1
    scalars, _ = event_scalars(tmp_path)
    for term in ("goal", "step_cost"):
        assert scalars[f"ray/tune/env_runners/reward_terms/default_agent/{term}_mean"] == 3
    samples = rldebug.load_trace(tmp_path / "trace").samples
    checked = 0
    for returns, terms in zip(samples["episode_returns"], samples["episode_reward_terms"]):
        for episode_return, episode_terms in zip(returns["default_agent"],
                                                 terms["default_agent"]):
            assert sum(episode_terms.values()) == pytest.approx(episode_return)
            checked += 1
    assert checked > 10


def _warned_in_one_iteration(config) -> list[str]:
    """The RewardTermsWarnings of one training iteration of ``config``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        algo = rldebug.local_mode(config, check_env=False).build_algo()
        try:
            algo.train()
        finally:
            algo.stop()
    return [str(w.message) for w in caught if issubclass(w.category, RewardTermsWarning)]


def test_terms_that_do_not_add_up_are_warned_about_once():
    messages = _warned_in_one_iteration(add_callbacks(walk_config(terms_off_by=0.5),
                                                      RewardTerms))
    assert len(messages) == 1 and "a part of the reward is not named" in messages[0]


def test_a_term_named_only_when_paid_counts_zero_in_the_other_episodes(tmp_path):
    """The goal term named only on the step that pays it was averaged over the episodes
    that reached the goal (1.0), not over every episode: the terms no longer added up
    to the return."""
    from rldebug.callbacks import AgentReturns

    config = add_callbacks(walk_config(sparse_goal=True), AgentReturns, RewardTerms)
    run = rldebug.run(config, stop={"training_iteration": 3}, logdir=tmp_path, progress=False)
    run.algo.stop()
    lines = [json.loads(line) for line in (tmp_path / "result.json").read_text().splitlines()]
    reached = 0
    for result in lines:
        logged = get_path(result, "env_runners/reward_terms/default_agent")
        assert set(logged) == {"goal_mean", "step_cost_mean"}  # no counts left behind
        returned = get_path(result, "env_runners/agent_returns/default_agent_mean")
        assert logged["goal_mean"] + logged["step_cost_mean"] == pytest.approx(returned)
        reached += 0 < logged["goal_mean"] < 1
    assert reached  # some episodes of an iteration reach the goal, some do not


def test_a_paid_step_that_names_no_terms_is_warned_about():
    messages = _warned_in_one_iteration(add_callbacks(walk_config(terms_every=3),
                                                      RewardTerms))
    assert len(messages) == 1 and "whose info has no reward_terms" in messages[0]


def test_arena_terms_per_agent_and_episode_match_the_returns(tmp_path):
    config = add_callbacks(tiny_arena_config(), RewardTerms)
    run = rldebug.run(config, stop={"training_iteration": 2}, logdir=tmp_path / "a",
                      progress=False, trace="summary")
    run.algo.stop()
    terms = terms_from_result(run.last_result)
    assert set(terms["agent1"]) == {"new_field", "idle", "collision"}
    assert set(terms["agent2"]) == {"blocked", "idle"}
    samples = rldebug.load_trace(tmp_path / "a" / "trace").samples
    for returns, per_episode in zip(samples["episode_returns"],
                                    samples["episode_reward_terms"]):
        for agent in ("agent1", "agent2"):
            assert [sum(t.values()) for t in per_episode[agent]] == pytest.approx(
                returns[agent])
    # diff compares them: a copy of the run (nothing differs) lists them and does not part
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    result = rldebug.diff(tmp_path / "a", tmp_path / "b", metric="reward_terms/agent1/idle")
    assert {m.metric for m in result.metrics} >= {"reward_terms/agent1/idle",
                                                   "reward_terms/agent2/blocked"}
    assert not result.parts and result.config == []


def test_old_stack_terms_arrive_as_custom_metrics():
    config = add_callbacks(tiny_arena_config("old"), RewardTerms)
    algo = config.build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    terms = terms_from_result(result)
    assert set(terms["agent1"]) == {"new_field", "idle", "collision"}


def test_the_doctor_cites_the_term_that_makes_up_the_return():
    run = CORPUS / "arena_agent1_never_positive_terms"
    findings = [f for f in rldebug.diagnose(run).findings
                if f.rule_id == "reward_never_positive" and f.module == "agent1"]
    assert findings  # (an info while agent2 still improved, then a warning)
    for finding in findings:
        terms = finding.evidence["reward_terms"]["agent1"]
        assert terms["new_field"] == 0.0 and terms["idle"] < 0
        largest = max(terms, key=lambda t: abs(terms[t]))
        share = abs(terms[largest]) / sum(abs(v) for v in terms.values())
        assert f"{share:.0%} of agent1's return is the {largest!r} term" in finding.message
    doc = " ".join((Path(__file__).parent.parent / "docs" / "how-to" /
                    "reward-terms.md").read_text().split())
    quote = doc.split('"The return of agent ', 1)[1].split('."', 1)[0]
    message = " ".join(findings[0].message.split())
    for part in quote.split(" … "):  # the docs quote the message as it is today
        assert part in f"The return of agent {message}", part
    params = json.loads((run / "params.json").read_text())
    assert params["lr"] == 0.001
