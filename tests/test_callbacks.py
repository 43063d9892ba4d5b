"""AgentReturns and ArenaEvents: exact counts, both stacks, TensorBoard read back."""

import copy
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from dap_client import free_port
from ray.rllib.callbacks.callbacks import RLlibCallback
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny import tiny_arena_config

import rldebug
from rldebug.arena import ArenaEvents, MultiAgentArena
from rldebug.callbacks import AgentReturns, MissingEventsWarning, add_callbacks
from rldebug.shapes.results import get_path

SMALL_ARENA = {"width": 3, "height": 3, "max_timesteps": 20}  # crowded: collisions happen
COMPLETED = []


class RecordingArena(MultiAgentArena):
    """Records each episode's generator state and actions, to replay it afterwards."""

    def reset(self, *, seed=None, options=None):
        out = super().reset(seed=seed, options=options)
        self._record = {"rng": copy.deepcopy(self.np_random.bit_generator.state),
                        "actions": [], "obs": [out[0]]}
        return out

    def step(self, action_dict):
        out = super().step(action_dict)
        self._record["actions"].append({a: int(v) for a, v in action_dict.items()})
        self._record["obs"].append(out[0])
        if out[3]["__all__"]:
            COMPLETED.append(self._record)
        return out


def replay(record):
    """Re-run a recorded episode on a fresh arena; the truth comes from the env's state."""
    env = MultiAgentArena(SMALL_ARENA)
    env.reset()
    env.np_random.bit_generator.state = record["rng"]
    returns = {"agent1": 0.0, "agent2": 0.0}
    collisions = 0
    for actions, recorded_obs in zip(record["actions"], record["obs"][1:]):
        obs, rewards, *_ = env.step(actions)
        assert all(np.array_equal(obs[a], recorded_obs[a]) for a in obs)  # faithful replay
        collisions += rewards["agent2"] == 1.0
        for aid in returns:
            returns[aid] += rewards[aid]
    return {"new_fields": len(env.agent1_visited), "collisions": collisions, **returns}


def metric(result, api_stack, group, name, stat):
    if api_stack == "new":
        return get_path(result, f"env_runners/{group}/{name}_{stat}")
    return get_path(result, "env_runners/custom_metrics")[f"{group}/{name}_{stat}"]


def test_logged_counts_equal_the_replayed_truth(api_stack):
    config = add_callbacks(tiny_arena_config(api_stack, env_config=SMALL_ARENA),
                           AgentReturns, ArenaEvents)
    config.environment(RecordingArena, env_config=SMALL_ARENA)
    if api_stack == "old":
        # The old stack smooths custom metrics over 100 episodes; compare one iteration.
        config.reporting(metrics_num_episodes_for_smoothing=10)
    algo = rldebug.local_mode(config).build_algo()
    try:
        COMPLETED.clear()
        result = algo.train()
    finally:
        algo.stop()
    truths = [replay(r) for r in COMPLETED]
    assert len(truths) == 10 == get_path(result, "env_runners/num_episodes")
    assert sum(t["collisions"] for t in truths) > 0, "the test arena should see collisions"
    for group, name in [("arena", "new_fields"), ("arena", "collisions"),
                        ("agent_returns", "agent1"), ("agent_returns", "agent2")]:
        values = [t[name] for t in truths]
        assert metric(result, api_stack, group, name, "mean") == pytest.approx(np.mean(values))
        assert metric(result, api_stack, group, name, "min") == pytest.approx(min(values))
        assert metric(result, api_stack, group, name, "max") == pytest.approx(max(values))


class SilentArena(MultiAgentArena):
    """An arena whose infos carry no events."""

    def step(self, action_dict):
        obs, rewards, terms, truncs, _ = super().step(action_dict)
        return obs, rewards, terms, truncs, {}


def test_env_without_events_warns_once_and_logs_nothing():
    config = add_callbacks(tiny_arena_config(), ArenaEvents)
    config.environment(SilentArena, env_config={"max_timesteps": 20})
    algo = rldebug.local_mode(config).build_algo()
    try:
        with pytest.warns(MissingEventsWarning, match=r"\['new_field', 'collision'\]") as seen:
            result = algo.train()
    finally:
        algo.stop()
    assert len([w for w in seen if w.category is MissingEventsWarning]) == 1
    assert get_path(result, "env_runners/arena") is None


class UserCallback(RLlibCallback):
    def on_episode_end(self, *, metrics_logger, **kwargs):
        metrics_logger.log_value("user_episodes", 1, reduce="sum")


def test_composes_with_a_user_callback():
    config = tiny_arena_config().callbacks(UserCallback)
    config = add_callbacks(config, AgentReturns, ArenaEvents)
    assert config.callbacks_class == [UserCallback, AgentReturns, ArenaEvents]
    with pytest.raises(TypeError, match="RLlibCallback subclasses"):
        add_callbacks(config, AgentReturns())


def event_scalars(logdir):
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    tags = events.Tags()
    return ({t: len(events.Scalars(t)) for t in tags["scalars"]},
            {t: len(events.Histograms(t)) for t in tags["histograms"]})


NEW_STACK_TAGS = ["ray/tune/env_runners/arena/collisions_mean",
                  "ray/tune/env_runners/arena/new_fields_mean",
                  "ray/tune/env_runners/agent_returns/agent1_mean",
                  "ray/tune/env_runners/agent_returns/agent2_mean"]


def test_rldebug_run_writes_the_metrics_to_tensorboard(tmp_path):
    config = add_callbacks(tiny_arena_config(), AgentReturns, ArenaEvents)
    result = rldebug.run(config, stop={"training_iteration": 3}, logdir=tmp_path, progress=False)
    result.algo.stop()
    scalars, histograms = event_scalars(tmp_path)
    for tag in NEW_STACK_TAGS:
        assert scalars.get(tag) == 3, (tag, sorted(scalars))
    assert histograms["ray/tune/env_runners/agent_step_rewards/agent1"] == 3


@pytest.mark.slow  # ~17 s: a Tune grid; TensorBoard read back is also proven in-process
def test_tune_grid_search_writes_the_metrics_to_tensorboard(tmp_path):
    from ray import tune
    from ray.rllib.algorithms.ppo import PPO

    config = add_callbacks(tiny_arena_config(), AgentReturns, ArenaEvents)
    config.training(lr=tune.grid_search([1e-3, 1e-4]),
                    train_batch_size=tune.grid_search([200, 400]))
    tuner = tune.Tuner(PPO, param_space=config, run_config=tune.RunConfig(
        stop={"training_iteration": 2}, storage_path=str(tmp_path), name="exercise2",
        verbose=0))
    results = tuner.fit()
    assert len(results) == 4 and not results.errors
    for trial in results:
        scalars, _ = event_scalars(trial.path)
        for tag in NEW_STACK_TAGS:
            assert scalars.get(tag) == 2, (trial.path, tag)



def test_tensorboard_server_serves_the_tags(tmp_path):
    config = add_callbacks(tiny_arena_config(), AgentReturns, ArenaEvents)
    rldebug.run(config, stop={"training_iteration": 2}, logdir=tmp_path / "run",
                progress=False).algo.stop()
    port = free_port()
    tensorboard = Path(sys.executable).parent / "tensorboard"
    server = subprocess.Popen([str(tensorboard), "--logdir", str(tmp_path), "--host",
                               "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        tags = {}
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/data/plugin/scalars/tags") as r:
                    tags = json.load(r).get("run", {})
                if tags:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        for tag in NEW_STACK_TAGS:
            assert tag in tags, sorted(tags)
        query = urllib.parse.urlencode({"run": "run", "tag": NEW_STACK_TAGS[1]})
        with urllib.request.urlopen(f"{base}/data/plugin/scalars/scalars?{query}") as r:
            points = json.load(r)
        assert [p[1] for p in points] == [1, 2]  # (wall_time, step, value) per iteration
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_two_callbacks_read_the_same_old_stack_step(api_stack):
    """Per-step rewards must not depend on how many callbacks asked before (old stack bug)."""
    # ArenaEvents reads the step first; AgentReturns must still see the rewards.
    config = add_callbacks(tiny_arena_config(api_stack), ArenaEvents, AgentReturns)
    if api_stack == "old":
        config.reporting(metrics_num_episodes_for_smoothing=10)
    algo = rldebug.local_mode(config).build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    ours = metric(result, api_stack, "agent_returns", "agent1", "mean")
    rllib = (get_path(result, "env_runners/agent_episode_returns_mean/agent1")
             if api_stack == "new" else get_path(result, "env_runners/policy_reward_mean/pol1"))
    assert ours == pytest.approx(rllib)
