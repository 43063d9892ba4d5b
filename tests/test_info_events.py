"""InfoEvents and replay on a single-agent env of the tests' own (not the arena)."""

import warnings

import numpy as np
import pytest
from event_envs import LeftRightWalk
from setups import SMALL_NET

import rldebug
from rldebug.callbacks import InfoEvents, MissingEventsWarning, add_callbacks
from rldebug.shapes.results import get_path


def walk_config():
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return (PPOConfig().environment(LeftRightWalk)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
            .training(train_batch_size=100, minibatch_size=50, num_epochs=1)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=SMALL_NET))
            .debugging(seed=0))


FINISHED: list[int] = []  # per finished episode: its at_edge steps, as the env counted


class CountingWalk(LeftRightWalk):
    """LeftRightWalk counting its own flagged steps per episode: the truth to compare."""

    def reset(self, *, seed=None, options=None):
        self.flagged = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self.flagged += int(info["at_edge"])
        if terminated or truncated:
            FINISHED.append(self.flagged)
        return obs, reward, terminated, truncated, info


def test_info_events_counts_the_declared_events_per_agent_and_episode(tmp_path):
    config = add_callbacks(walk_config(), InfoEvents).environment(CountingWalk)
    FINISHED.clear()
    run = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path, progress=False)
    try:
        counts = get_path(run.last_result, "env_runners/info_events/default_agent")
        assert set(counts) == {"at_edge_mean", "at_edge_min", "at_edge_max"}
        # What the env itself counted, episode by episode.
        assert len(FINISHED) == get_path(run.last_result, "env_runners/num_episodes")
        assert 1 in FINISHED and set(FINISHED) <= {0, 1}
        assert counts["at_edge_mean"] == pytest.approx(np.mean(FINISHED))
        assert counts["at_edge_min"] == min(FINISHED)
        assert counts["at_edge_max"] == max(FINISHED)
    finally:
        run.algo.stop()


class SparseInfoWalk(LeftRightWalk):
    """Flags ``at_edge`` at the right edge only, and its infos are {} on the other steps
    (a common pattern): about half the episodes have no event."""

    def reset(self, *, seed=None, options=None):
        self.flagged = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, _ = super().step(action)
        info = {"at_edge": True} if self.position == 4 else {}
        self.flagged += len(info)
        if terminated or truncated:
            FINISHED.append(self.flagged)
        return obs, reward, terminated, truncated, info


def test_episodes_whose_infos_are_empty_count_zero_not_nothing(tmp_path):
    """Steps with an empty info were skipped, so an episode without the event was never
    logged: the mean counted only episodes that had one (1.25 against a true 0.53)."""
    config = add_callbacks(walk_config(), InfoEvents).environment(SparseInfoWalk)
    FINISHED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path,
                          progress=False)
    try:
        counts = get_path(run.last_result, "env_runners/info_events/default_agent")
        assert 0 in FINISHED and 1 in FINISHED  # both kinds of episode were played
        assert len(FINISHED) == get_path(run.last_result, "env_runners/num_episodes")
        assert counts["at_edge_mean"] == pytest.approx(np.mean(FINISHED))
        assert counts["at_edge_min"] == 0
    finally:
        run.algo.stop()
    assert not [w for w in caught if issubclass(w.category, MissingEventsWarning)]


def test_info_events_warns_once_about_an_event_the_env_never_reports(tmp_path):
    config = add_callbacks(walk_config(), InfoEvents.counting("crash"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path,
                          progress=False)
    run.algo.stop()
    messages = [str(w.message) for w in caught if issubclass(w.category, MissingEventsWarning)]
    assert len(messages) == 1 and "'crash'" in messages[0] and "at_edge" in messages[0]


def test_info_events_rejects_a_bad_event_list():
    with pytest.raises(ValueError, match="one or more info key names"):
        InfoEvents.counting()


def test_replay_plays_a_single_agent_env_with_its_declared_events():
    algo = rldebug.local_mode(walk_config()).build_algo()
    try:
        record = rldebug.replay(algo, seed=0)
        assert record.action_names == ("left", "right")
        assert all(set(step) == {"default_agent"} for step in record.actions)
        assert len(record.frames) == len(record.actions) + 1
        # Replayed actions are explain's greedy ones: the same seed gives the same episode.
        assert rldebug.replay(algo, seed=0).actions == record.actions
        last = record.events[-1]["default_agent"]
        assert last == (["at_edge"] if abs(sum(
            1 if a["default_agent"] == 1 else -1 for a in record.actions)) == 2 else [])
        assert np.asarray(record.frames[0]).shape == (8, 40, 3)
    finally:
        algo.stop()


class EdgePayingWalk(LeftRightWalk):
    """LeftRightWalk paying 1 at either edge: an episode's at_edge count is its return."""

    def step(self, action):
        obs, _, terminated, truncated, info = super().step(action)
        return obs, float(info["at_edge"]), terminated, truncated, info


@pytest.mark.slow  # ~9 s
def test_sub_envs_in_other_processes_are_counted_and_the_trace_says_what_it_cannot_see(
        tmp_path):
    """gym_env_vectorize_mode='async' (local=False: rldebug.run's local mode makes it
    sync): InfoEvents read INFO_EVENTS from the vector env itself, found none and counted
    nothing; the trace could not wrap the sub-envs and said nothing."""
    config = add_callbacks(walk_config(), InfoEvents).environment(EdgePayingWalk).env_runners(
        num_envs_per_env_runner=2, gym_env_vectorize_mode="async")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingEventsWarning)
        run = rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path, local=False,
                          trace="summary", progress=False)
    run.algo.stop()
    counts = get_path(run.last_result, "env_runners/info_events/default_agent")
    assert counts["at_edge_mean"] == pytest.approx(
        get_path(run.last_result, "env_runners/episode_return_mean"))
    assert counts["at_edge_max"] == 1
    findings = {f.rule_id: f for f in rldebug.diagnose(tmp_path).findings}
    assert "gym_env_vectorize_mode='async'" in findings["env_steps_unseen"].message
    assert "'sync'" in findings["env_steps_unseen"].fix
