"""What the callbacks count per agent equals what the env sent, where RLlib's episodes
make that easy to get wrong: a turn-based env (one player per step, a last mover without
a final observation), agents that join late and leave early, on both API stacks, and an
in-process run whose episodes span iterations (RLlib's learner connector extends the
EnvRunner's own chunks)."""

import warnings
from typing import ClassVar

import numpy as np
import pytest
from event_envs import CostlyWalk, CostlyWalkWithNaN, JoiningAndLeaving, TakingTurns
from ray.rllib.callbacks.callbacks import RLlibCallback
from setups import SMALL_NET, shared_policy_ppo

from rldebug.callbacks import (
    AgentReturns,
    InfoEvents,
    RewardTerms,
    RewardTermsWarning,
    add_callbacks,
)
from rldebug.shapes.episodes import agent_returns, finish_episode_means, last_step, store
from rldebug.shapes.results import env_runner_stats
from rldebug.shapes.reward_terms import terms_from_result


def _one_iteration(config, sent: list) -> dict:
    sent.clear()
    algo = config.build_algo()
    try:
        return algo.train()
    finally:
        algo.stop()


def _logged(result, group: str) -> dict:
    """``{agent: {name: mean}}`` of one callback's per-episode values in a result."""
    stats = env_runner_stats(result)
    if group in stats:  # new stack: env_runners/<group>/<agent>/<name>_mean
        return {agent: {name[:-len("_mean")]: value for name, value in values.items()
                        if name.endswith("_mean")} for agent, values in stats[group].items()}
    logged: dict = {}  # old stack: custom_metrics/<group>/<agent>/<name>_mean
    for key, value in stats["custom_metrics"].items():
        if key.startswith(f"{group}/") and key.endswith("_mean"):
            _, agent, name = key[:-len("_mean")].split("/")
            logged.setdefault(agent, {})[name] = value
    return logged


@pytest.mark.parametrize("stack, final_obs_both, terms_when_paid", [
    ("new", False, False), ("new", True, False), ("old", False, False),
    ("new", False, True), ("new", True, True)])
def test_a_turn_based_envs_flags_and_terms_are_counted_as_sent(stack, final_obs_both,
                                                               terms_when_paid):
    """The last mover without a final observation: RLlib's new stack copies its previous
    info into that step, which was counted twice; the old stack's episode hands every
    agent's last info to every step, which was counted at each step the agent waited.
    Terms sent at the step that pays them, beside the other player's observation
    (``terms_when_paid``): RLlib drops that info, and the mover's terms were lost (a
    held-out audit's turn-based game: -0.055 logged against -0.348 sent, and a false
    "do not add up" warning at every loss)."""
    env_config = {"final_obs_both": final_obs_both, "terms_when_paid": terms_when_paid}
    config = add_callbacks(shared_policy_ppo(TakingTurns, env_config, stack),
                           InfoEvents.counting("check"), RewardTerms)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=RewardTermsWarning)  # they add up
        result = _one_iteration(config, TakingTurns.SENT)
    sent = TakingTurns.SENT
    events, terms = _logged(result, "info_events"), terms_from_result(result)
    for player in ("p0", "p1"):
        # old stack: RLlib's means are over its smoothing window, this iteration's episodes
        assert events[player]["check"] == pytest.approx(
            np.mean([episode[player]["check"] for episode in sent])), player
        for term in ("move", "attacked"):
            assert terms[player][term] == pytest.approx(
                np.mean([episode[player][term] for episode in sent])), (player, term)


def test_terms_of_an_agent_done_unseen_in_an_earlier_chunk_are_counted(tmp_path):
    """Episodes of 8 steps sampled 3 at a time: b, terminated at step 2 without a final
    observation, is in no later chunk, and the terms held for it at that step were lost
    by RewardTerms (x 1.0 of the 2.0 sent; a reviewer's case). RLlib 2.60's own return
    for b loses that reward in the episodes cut there (a trap the terms make visible)."""
    from event_envs import LeavingUnseen

    import rldebug

    config = add_callbacks(shared_policy_ppo(LeavingUnseen, {}, "new")
                           .env_runners(rollout_fragment_length=3), RewardTerms)
    LeavingUnseen.SENT.clear()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=RewardTermsWarning)
        run = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path,
                          progress=False, trace="summary")
    run.algo.stop()
    terms = terms_from_result(run.last_result)
    assert terms == {"a": {"y": pytest.approx(4.0)}, "b": {"x": pytest.approx(2.0)}}
    assert len(LeavingUnseen.SENT) >= 10 and all(
        sent == {"a": {"y": 4.0}, "b": {"x": 2.0}} for sent in LeavingUnseen.SENT)
    rllib = env_runner_stats(run.last_result)["agent_episode_returns_mean"]
    assert rllib["a"] == pytest.approx(4.0) and rllib["b"] < 1.9  # 1.64 measured
    traced = [episode for row in rldebug.load_trace(tmp_path / "trace").samples[
        "episode_reward_terms"] if isinstance(row, dict) for episode in row.get("b", [])]
    assert traced and all(episode == {"x": pytest.approx(2.0)} for episode in traced)


@pytest.mark.parametrize("final_obs_both", [False, True])
def test_a_turn_based_envs_terms_sent_when_paid_reach_the_trace(final_obs_both, tmp_path):
    """The trace's per-episode terms (samples.episode_reward_terms) lost the mover's terms
    RLlib drops with their info; each episode's terms now add up to the return beside them
    (RLlib's: a reward paid with an agent's first observation stays in a cache no return
    reads; one iteration's episodes, none cut between sample() calls), and the first
    mover's, who observes from the reset, equal what it was sent."""
    import rldebug

    config = shared_policy_ppo(TakingTurns, {"final_obs_both": final_obs_both,
                                             "terms_when_paid": True}, "new")
    TakingTurns.SENT.clear()
    run = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path,
                      progress=False, trace="summary")
    run.algo.stop()
    samples = rldebug.load_trace(tmp_path / "trace").samples
    checked = 0
    for terms, returns in zip(samples["episode_reward_terms"], samples["episode_returns"]):
        for player in ("p0", "p1"):
            for episode_terms, episode_return in zip(terms[player], returns[player]):
                assert sum(episode_terms.values()) == pytest.approx(episode_return), player
                checked += 1
    traced = sorted(tuple(sorted((k, round(v, 6)) for k, v in episode.items()))
                    for row in samples["episode_reward_terms"] for episode in row["p0"])
    sent = sorted(tuple(sorted((k, round(v, 6)) for k, v in episode["p0"].items()
                               if k != "check")) for episode in TakingTurns.SENT)
    assert traced == sent and checked == 2 * len(sent) > 10


@pytest.mark.parametrize("stack", ["new", "old"])
def test_agents_that_join_and_leave_are_counted_only_in_their_own_steps(stack):
    config = add_callbacks(shared_policy_ppo(JoiningAndLeaving, {}, stack),
                           InfoEvents.counting("hit"))
    result = _one_iteration(config, JoiningAndLeaving.SENT)
    events = _logged(result, "info_events")
    for agent in ("a", "b", "c"):
        truth = [episode[agent] for episode in JoiningAndLeaving.SENT]
        assert events[agent]["hit"] == pytest.approx(np.mean(truth)), agent
        assert events[agent]["hit"] <= 8 if agent == "a" else events[agent]["hit"] <= 5


def test_an_agent_that_left_in_an_earlier_chunk_and_means_over_the_iterations_episodes():
    """Episodes of 8 steps sampled 5 steps at a time: RLlib's MultiAgentEpisode raises
    IndexError reading the last env step of a chunk started after ``b`` left (InfoEvents,
    RewardTerms and break_on crashed sample()); and the iteration's mean was a mean of
    each sample() call's mean, not the mean over its episodes."""
    config = add_callbacks(shared_policy_ppo(JoiningAndLeaving, {}, "new")
                           .env_runners(rollout_fragment_length=5),
                           InfoEvents.counting("hit"), AgentReturns)
    result = _one_iteration(config, JoiningAndLeaving.SENT)
    events = _logged(result, "info_events")
    sent = JoiningAndLeaving.SENT
    assert len(sent) > 10  # episodes ended in many of the sample() calls
    for agent in ("a", "b", "c"):
        truth = [episode[agent] for episode in sent]
        assert events[agent]["hit"] == pytest.approx(np.mean(truth)), agent
    stats = env_runner_stats(result)
    assert not [k for k in stats["agent_returns"] if "__" in k]  # the sums became means
    assert stats["agent_returns"]["a_mean"] == pytest.approx(
        np.mean([episode["a"] for episode in sent]))  # one reward per hit


def test_in_process_episodes_that_span_iterations_keep_only_the_envs_steps():
    """PPO's learner connector appends a 0.0-reward copy of the last step to every chunk
    it trains on; in-process, those are the EnvRunner's own chunks of an episode still
    running, so AgentReturns' step rewards got a 0.0 CostlyWalk never pays and
    RewardTerms a step cost too many."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    config = add_callbacks(
        PPOConfig().environment(CostlyWalk)
        .env_runners(num_env_runners=0, num_envs_per_env_runner=1, rollout_fragment_length=25)
        .training(train_batch_size=25, minibatch_size=25, num_epochs=1)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=SMALL_NET))
        .debugging(seed=0), AgentReturns, RewardTerms)
    algo = config.build_algo()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=RewardTermsWarning)  # they add up
            results = [algo.train() for _ in range(4)]
    finally:
        algo.stop()
    spanning = 0
    for result in results:
        stats = env_runner_stats(result)
        rewards = stats["agent_step_rewards"]["default_agent"]
        assert set(np.round(rewards, 6)) <= {-0.1, 0.9}, sorted(set(np.round(rewards, 6)))
        steps = stats["num_env_steps_sampled"]
        spanning += len(rewards) != steps  # the episodes ended in it are not its steps
        terms = terms_from_result(result)["default_agent"]
        assert terms["goal"] + terms["step_cost"] == pytest.approx(
            stats["agent_returns"]["default_agent_mean"])
    assert spanning, "no episode spanned two iterations: the test would not see the bug"


ADDED_UP: list = []  # per finished episode: (each agent's step rewards summed, its return)


class StepRewardsAddUp(RLlibCallback):
    """Sums the rewards last_step reports per agent and compares them with the episode's
    returns as RLlib counts them: each step's reward is seen once, a waiting player's too."""

    def on_episode_step(self, *, episode, **kwargs):
        sums = store(episode).setdefault("step_rewards", {})
        for agent_id, step in last_step(episode).items():
            if step.reward is not None:
                sums[agent_id] = sums.get(agent_id, 0.0) + step.reward

    def on_episode_end(self, *, episode, prev_episode_chunks=None, **kwargs):
        ADDED_UP.append((store(episode).pop("step_rewards", {}),
                         agent_returns(episode, prev_episode_chunks)))


@pytest.mark.parametrize("env, env_config, stack", [
    (TakingTurns, {"final_obs_both": True}, "new"), (TakingTurns, {"final_obs_both": False}, "new"),
    (JoiningAndLeaving, {}, "new"), (TakingTurns, {"final_obs_both": True}, "old"),
    (JoiningAndLeaving, {}, "old")])
def test_each_step_reward_is_seen_once_a_waiting_players_too(env, env_config, stack):
    """break_on(reward_below=...) never saw the 0.3 a turn-based env charges the player
    who waits: MultiAgentEpisode.get_rewards(-1) holds the mover's open step, not the step
    the waiting player completes when its turn comes."""
    ADDED_UP.clear()
    config = add_callbacks(shared_policy_ppo(env, env_config, stack), StepRewardsAddUp)
    _one_iteration(config, env.SENT)
    assert ADDED_UP
    for seen, returns in ADDED_UP:
        assert set(seen) <= set(returns)
        for agent, total in returns.items():
            assert seen.get(agent, 0.0) == pytest.approx(total, abs=1e-6), (agent, seen, returns)


def test_break_on_stops_for_a_penalty_paid_while_waiting():
    from rldebug.ide import break_on, break_records, clear_break_records

    clear_break_records()
    config = break_on(shared_policy_ppo(TakingTurns, {"final_obs_both": True}),
                      reward_below=-0.05, non_finite=False, mode="log")
    _one_iteration(config, TakingTurns.SENT)
    records = break_records()
    # only the 0.3 charged while waiting makes a step's reward negative
    assert {r.agent_id for r in records} == {"p0", "p1"}
    assert all(-0.31 < r.reward < -0.05 for r in records)


class CountingTurns(TakingTurns):
    """TakingTurns counting every move of action 2 it receives, per player and env step."""

    MOVES: ClassVar[list] = []

    def step(self, action_dict):
        mover = f"p{self.mover}"
        if int(action_dict[mover]) == 2:
            CountingTurns.MOVES.append((mover, self.t + 1))
        return super().step(action_dict)


def test_break_on_checks_the_last_movers_final_action_without_a_final_observation():
    """RLlib completes that step with a copy of the mover's previous observation, and
    MultiAgentEpisode.get_actions(-1) leaves the step out: its action was None, and the
    last move of every episode was never checked."""
    from collections import Counter

    from rldebug.ide import break_on, break_records, clear_break_records

    clear_break_records()
    CountingTurns.MOVES.clear()
    config = break_on(shared_policy_ppo(CountingTurns, {"final_obs_both": False})
                      .environment(disable_env_checking=True),  # its check steps the env
                      agent_action={"p0": 2, "p1": 2}, non_finite=False, mode="log")
    _one_iteration(config, CountingTurns.SENT)
    seen = Counter((r.agent_id, r.env_step) for r in break_records())
    assert any(step == 7 for _, step in CountingTurns.MOVES)  # a last move was a 2
    assert seen == Counter(CountingTurns.MOVES)


class CostlyWalkThatCrashes(CostlyWalk):
    """CostlyWalk whose every instance raises at its 7th step (a flaky simulator)."""

    def step(self, action):
        self.steps_so_far = getattr(self, "steps_so_far", 0) + 1
        if self.steps_so_far == 7:
            raise RuntimeError("flaky simulator")
        return super().step(action)


def _old_stack_restarting_sub_envs():
    """Old-stack PPO on CostlyWalkThatCrashes, recreating a sub-env that raised."""
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig().environment(CostlyWalkThatCrashes)
            .api_stack(enable_rl_module_and_learner=False,
                       enable_env_runner_and_connector_v2=False)
            .framework("torch").training(model={"fcnet_hiddens": SMALL_NET},
                                         train_batch_size=60, minibatch_size=60, num_epochs=1)
            .env_runners(num_env_runners=0, rollout_fragment_length=60)
            .fault_tolerance(restart_failed_sub_environments=True).debugging(seed=0))


def test_old_stack_episodes_a_failed_sub_env_ended_are_skipped_not_a_crash(tmp_path):
    """With restart_failed_sub_environments=True RLlib's old stack hands on_episode_end the
    sub-env's exception instead of an episode and restarts the sub-env; the callbacks and
    the trace raised 'Not an RLlib episode: RuntimeError' and sample() died."""
    import rldebug

    config = rldebug.trace(add_callbacks(_old_stack_restarting_sub_envs(), AgentReturns,
                                         InfoEvents, RewardTerms), out=tmp_path)
    result = _one_iteration(config, [])
    stats = env_runner_stats(result)
    assert stats["num_faulty_episodes"] >= 1
    assert "agent_returns/default_agent_mean" in stats["custom_metrics"]  # the others count
    assert "default_agent" in terms_from_result(result)
    raised = rldebug.load_trace(tmp_path).events.to_dict("records")
    assert next((e["column"], e["message"]) for e in raised if e.get("source") == "env") == \
        ("env.step", "flaky simulator")


class Lengths2021(RLlibCallback):
    """A 2021 hook: reads the episode's length, as 2021 callbacks did."""

    def on_episode_end(self, *, worker, base_env, policies, episode, **kwargs):
        episode.custom_metrics["length"] = episode.length


def test_a_2021_hook_is_not_handed_the_exception_of_a_failed_sub_env():
    """rldebug's 2021 adapter wrapped the exception RLlib hands on_episode_end in its
    2021 episode, and the user's hook failed reading episode.length."""
    from rldebug.compat.legacy import adapt_config_callbacks

    config = _old_stack_restarting_sub_envs().callbacks(Lengths2021)
    result = _one_iteration(adapt_config_callbacks(config, lambda notice: None), [])
    stats = env_runner_stats(result)
    assert stats["num_faulty_episodes"] >= 1 and stats["custom_metrics"]["length_max"] > 0


class CoinsOfMyOwn(RLlibCallback):
    """A user's own metric whose name ends in ``__sum``."""

    def on_episode_end(self, *, metrics_logger=None, **kwargs):
        metrics_logger.log_value(("my_metrics", "coins__sum"), 2.0, reduce="sum")


def test_means_leave_out_and_count_nan_returns_and_cover_evaluation():
    """A NaN return added 0 to the sum and 1 to the count (the mean was wrong, the NaN
    unseen); evaluation's sums were never turned into means; a user's own key ending in
    '__sum' was deleted."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = add_callbacks(
        PPOConfig().environment(CostlyWalkWithNaN)
        .env_runners(num_env_runners=0, rollout_fragment_length=100)
        .training(train_batch_size=100, minibatch_size=100, num_epochs=1)
        .evaluation(evaluation_interval=1, evaluation_duration=3,
                    evaluation_duration_unit="episodes", evaluation_num_env_runners=0)
        .debugging(seed=0),
        AgentReturns, CoinsOfMyOwn)
    CostlyWalkWithNaN.RETURNS.clear()
    algo = config.build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    sent = CostlyWalkWithNaN.RETURNS  # the training episodes, then evaluation's 3
    training, evaluation = sent[:-3], sent[-3:]
    logged = env_runner_stats(result)["agent_returns"]
    assert logged["default_agent_mean"] == pytest.approx(np.nanmean(training))
    assert logged["default_agent_nonfinite"] == int(np.isnan(training).sum()) >= 1
    assert env_runner_stats(result)["episode_return_mean"] == pytest.approx(np.nanmean(training))
    evaluated = result["evaluation"]["env_runners"]["agent_returns"]
    assert evaluated["default_agent_mean"] == pytest.approx(np.nanmean(evaluation))
    assert not [k for k in evaluated if "__" in k]
    assert result["env_runners"]["my_metrics"]["coins__sum"] > 0  # the user's, kept
    quiet = {"env_runners": result["env_runners"] | {"agent_returns": {
        "default_agent__sum": 0.0, "default_agent__episodes": 0}}}  # no episode ended
    finish_episode_means(quiet)
    assert np.isnan(quiet["env_runners"]["agent_returns"]["default_agent_mean"])


class CostlyWalkWithInfAndNaN(CostlyWalkWithNaN):
    """CostlyWalk paying NaN at the first step of every third episode and +inf at the
    first step of the episode after it."""

    RETURNS: ClassVar[list] = []

    def step(self, action):
        obs, reward, terminated, truncated, info = CostlyWalk.step(self, action)
        if self.steps == 1 and CostlyWalkWithNaN.episodes % 3 in (0, 1):
            reward = float("nan") if CostlyWalkWithNaN.episodes % 3 == 0 else float("inf")
        self.paid += reward
        if terminated or truncated:
            CostlyWalkWithInfAndNaN.RETURNS.append(self.paid)
        return obs, reward, terminated, truncated, info


def test_an_infinite_return_is_left_out_of_min_and_max_and_the_histogram_stays(tmp_path):
    """An independent user's audit: a +inf return became the iteration's _max (while left
    out of the mean and counted as non-finite), and an iteration whose step rewards held a
    NaN or an inf had no reward histogram in TensorBoard at all."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import rldebug

    config = add_callbacks(
        PPOConfig().environment(CostlyWalkWithInfAndNaN)
        .env_runners(num_env_runners=0, rollout_fragment_length=100)
        .training(train_batch_size=100, minibatch_size=100, num_epochs=1)
        .debugging(seed=0), AgentReturns)
    CostlyWalkWithInfAndNaN.RETURNS.clear()
    run = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path,
                      progress=False)
    run.algo.stop()
    returns = np.array(CostlyWalkWithInfAndNaN.RETURNS)
    finite = returns[np.isfinite(returns)]
    assert np.isinf(returns).any() and np.isnan(returns).any() and finite.size
    logged = env_runner_stats(run.last_result)["agent_returns"]
    assert logged["default_agent_max"] == pytest.approx(finite.max())
    assert logged["default_agent_min"] == pytest.approx(finite.min())
    assert logged["default_agent_mean"] == pytest.approx(finite.mean())
    assert logged["default_agent_nonfinite"] == returns.size - finite.size
    events = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0}).Reload()
    (histogram,) = events.Histograms("ray/tune/env_runners/agent_step_rewards/default_agent")
    assert np.isfinite(histogram.histogram_value.max)


def _nan_first_then_long_env():
    """An env whose first episode pays NaN once and lasts 5 steps; later ones last 1000."""
    import gymnasium as gym

    class Env(gym.Env):
        episodes = 0

        def __init__(self, config=None):
            self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
            self.action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            Env.episodes += 1
            self.t = 0
            return np.zeros(2, np.float32), {}

        def step(self, action):
            self.t += 1
            reward = float("nan") if Env.episodes == 1 and self.t == 1 else 1.0
            return (np.zeros(2, np.float32), reward, False,
                    self.t >= (5 if Env.episodes == 1 else 1000), {})

    return Env


def test_an_iteration_that_ends_no_episode_after_a_nan_one_trains_on():
    """Once a NaN return was counted, RLlib reduces the count to NaN in an iteration that
    ends no episode, and int(NaN) raised in on_train_result: training stopped."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = add_callbacks(
        PPOConfig().environment(_nan_first_then_long_env())
        .env_runners(num_env_runners=0, rollout_fragment_length=50)
        .training(train_batch_size=50, minibatch_size=50, num_epochs=1), AgentReturns)
    algo = config.build_algo()
    try:
        first, second = algo.train(), algo.train()
    finally:
        algo.stop()
    assert env_runner_stats(first)["agent_returns"]["default_agent_nonfinite"] == 1
    quiet = env_runner_stats(second)["agent_returns"]
    assert quiet["default_agent_nonfinite"] == 0 and np.isnan(quiet["default_agent_mean"])
