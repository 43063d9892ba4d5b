"""break_on: input checks, headless logging on both stacks, PYTHONBREAKPOINT, learner events."""

import io
import math
import os
import sys
import warnings

import break_hooks
import pytest
from tiny import tiny_arena_config as _tiny

from rldebug import local_mode
from rldebug.breakpoint_hook import USERS_HOOK
from rldebug.ide import break_on, break_records, clear_break_records

# A 3x3 arena: the agents start two steps apart, so a 200-step batch has collisions.
SMALL_ARENA = {"width": 3, "height": 3, "max_timesteps": 20}


def tiny_arena_config(api_stack="new"):
    return _tiny(api_stack, env_config=SMALL_ARENA)


@pytest.fixture(autouse=True)
def fresh_records():
    clear_break_records()
    yield
    clear_break_records()


@pytest.fixture
def headless(monkeypatch):
    """No debugger, stdin not a terminal: as in CI."""
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    monkeypatch.setattr(sys, "gettrace", lambda: None)


def train_once(config):
    algo = local_mode(config).build_algo()
    try:
        return algo.train()
    finally:
        algo.stop()


def callback_class(config):
    classes = config.callbacks_class
    return classes[-1] if isinstance(classes, list) else classes


@pytest.mark.parametrize("kwargs, error, match", [
    ({"events": ("colision",)}, ValueError, r"\['colision'\].*\['collision', 'new_field'\]"),
    ({"events": 3}, TypeError, "info event names as strings"),
    ({"reward_below": "-1"}, TypeError, "reward_below.*must be a number.*str '-1'"),
    ({"reward_above": True}, TypeError, "reward_above.*must be a number"),
    ({"loss_spike": 0.5}, ValueError, "must be > 1"),
    ({"kl_spike": "big"}, TypeError, "kl_spike"),
    ({"agent_action": 2}, TypeError, "maps agent ids to actions"),
    ({"agent_action": {"agent1": "up"}}, TypeError, "'agent1': 'up'"),
    ({"agent_action": {"agent3": 1}}, ValueError, r"\['agent3'\].*\['agent1', 'agent2'\]"),
    ({"agent_ids": ["agent9"]}, ValueError, r"\['agent9'\]"),
    ({"agent_ids": []}, ValueError, r"agent_ids=...\) is empty"),
    ({"max_stops": -1}, ValueError, "max_stops.*>= 0"),
    ({"mode": "pause"}, ValueError, r"'pause'.*\('auto', 'break', 'log'\)"),
    ({"non_finite": "yes"}, TypeError, "True or False"),
    ({"spike_window": 2, "loss_spike": 2.0}, ValueError, "spike_window.*>= 3"),
    ({"events": None, "non_finite": False}, ValueError, "no condition to stop on"),
    ({"agent_action": {"agent2": 0}, "agent_ids": ["agent1"]}, ValueError,
     r"\['agent2'\], which agent_ids=\['agent1'\] excludes"),
])
def test_bad_input_names_the_value_and_the_choices(kwargs, error, match):
    with pytest.raises(error, match=match):
        break_on(tiny_arena_config(), **kwargs)


def test_rejects_anything_but_a_config():
    with pytest.raises(TypeError, match="expects an RLlib AlgorithmConfig"):
        break_on({"env": "x"})


def test_keeps_the_users_callbacks_and_the_original_config():
    from rldebug.arena import ArenaEvents
    from rldebug.callbacks import add_callbacks

    config = add_callbacks(tiny_arena_config(), ArenaEvents)
    with_break = break_on(config)
    assert with_break.callbacks_class[0] is ArenaEvents
    assert len(with_break.callbacks_class) == 2 and len(config.callbacks_class) == 1


@pytest.mark.parametrize("api_stack", ["new", "old"])
def test_the_trace_stays_last_when_break_on_is_added_after_it(api_stack):
    """The trace writes break_on's events of an iteration in its on_train_result, so it
    must run after break_on's. On the old stack the config held a make_multi_callbacks
    container after the first add_callbacks, and break_on landed after the trace."""
    import rldebug
    from rldebug.arena import ArenaEvents
    from rldebug.callbacks import add_callbacks
    from rldebug.callbacks.compose import callback_classes
    from rldebug.tracing.callbacks import TraceCallbacks

    config = break_on(rldebug.trace(add_callbacks(tiny_arena_config(api_stack), ArenaEvents)))
    classes = callback_classes(config)
    assert classes[0] is ArenaEvents and len(classes) == 3
    assert issubclass(classes[-1], TraceCallbacks)


def test_headless_run_logs_collisions_instead_of_stopping(api_stack, headless, caplog):
    config = break_on(tiny_arena_config(api_stack), events=("collision",), non_finite=False)
    with caplog.at_level("WARNING", logger="rldebug.ide.break_on"):
        train_once(config)  # returns: nothing blocked
    records = break_records()
    assert records, "the tiny run has collisions; none was caught"
    assert {r.kind for r in records} == {"info_event"}
    assert all(r.info["collision"] and not r.stopped for r in records)
    first = records[0]
    assert first.agent_id in ("agent1", "agent2")
    assert first.reward == {"agent1": -1.0, "agent2": 1.0}[first.agent_id]
    assert "info event 'collision'" in caplog.text and "logged, not stopped" in caplog.text
    # each log line says where: the episode and env step recorded in break_records()
    assert f"[episode {first.episode_id}, env step {first.env_step}]" in caplog.text


def test_reward_bound_and_agent_filter(api_stack, headless):
    config = break_on(tiny_arena_config(api_stack), events=(), reward_below=-0.2,
                      agent_ids=["agent1"], non_finite=False)
    train_once(config)
    records = break_records()
    assert records and {r.agent_id for r in records} == {"agent1"}
    assert {r.reward for r in records} <= {-0.5, -1.0}


def test_agent_action(headless):
    config = break_on(tiny_arena_config(), events=(), agent_action={"agent2": 3},
                      non_finite=False)
    train_once(config)
    records = break_records()
    assert records and all(r.agent_id == "agent2" and int(r.action) == 3 for r in records)


def test_max_stops_limits_stops_not_records(monkeypatch, caplog):
    """mode='break' with PYTHONBREAKPOINT pointing at a recorder: the hook is honoured.
    The events after the budget were logged as "no debugger attached"."""
    monkeypatch.setenv("PYTHONBREAKPOINT", "break_hooks.record")
    monkeypatch.setattr(sys, "breakpointhook", sys.__breakpointhook__)  # undo pytest's hook
    break_hooks.CALLS.clear()
    config = break_on(tiny_arena_config(), events=("collision",), non_finite=False,
                      mode="break", max_stops=2)
    with caplog.at_level("WARNING", logger="rldebug.ide.break_on"):
        train_once(config)
    assert len(break_hooks.CALLS) == 2
    assert sum(r.stopped for r in break_records()) == 2 and len(break_records()) > 2
    assert "(max_stops=2 reached: logged, not stopped)" in caplog.text
    assert "no debugger attached" not in caplog.text
    name, frame_locals = break_hooks.CALLS[0]
    assert name == "stop_here"
    assert {"event", "episode", "agent_id", "obs", "action", "reward", "info", "batch",
            "stats"} <= set(frame_locals)
    assert frame_locals["info"]["collision"] is True
    assert frame_locals["event"].agent_id == frame_locals["agent_id"]


def test_pythonbreakpoint_0_disables_the_stop(monkeypatch, caplog):
    monkeypatch.setenv("PYTHONBREAKPOINT", "0")
    monkeypatch.setattr(sys, "breakpointhook", sys.__breakpointhook__)
    config = break_on(tiny_arena_config(), events=("collision",), non_finite=False,
                      mode="break", max_stops=1)
    with caplog.at_level("WARNING", logger="rldebug.ide.break_on"):
        train_once(config)  # would block in pdb if PYTHONBREAKPOINT were ignored
    assert break_records()
    assert "(PYTHONBREAKPOINT=0: logged, not stopped)" in caplog.text


def test_one_env_step_meeting_two_conditions_stops_once(monkeypatch):
    """A collision that is also a reward below the bound stopped twice at one step and
    spent two of max_stops."""
    monkeypatch.setenv("PYTHONBREAKPOINT", "break_hooks.record")
    monkeypatch.setattr(sys, "breakpointhook", sys.__breakpointhook__)
    break_hooks.CALLS.clear()
    config = break_on(tiny_arena_config(), events=("collision",), reward_below=-0.2,
                      non_finite=False, mode="break", max_stops=3)
    train_once(config)
    stopped = [r for r in break_records() if r.stopped]
    steps = [(r.episode_id, r.env_step, r.agent_id) for r in stopped]
    assert len(stopped) == 3 and len(set(steps)) == 3, steps
    both = [r for r in break_records() if r.extra.get("also")]
    assert both and all(r.kind == "info_event" for r in both)  # the first names the other


@pytest.mark.parametrize("env, users_at_import, hook, how", [
    ({}, "", None, "hook"),                                     # no Ray: Python's own
    ({"PYTHONBREAKPOINT": "0"}, "", None, ""),                  # disabled
    ({"PYTHONBREAKPOINT": "ipdb.set_trace"}, "", None, "hook"),
    # ray.init replaced it in a driver: the user's from before, else pdb (not Ray's hook)
    ({"PYTHONBREAKPOINT": "ray.util.rpdb._driver_set_trace"}, "ipdb.set_trace", None,
     "users hook"),
    ({"PYTHONBREAKPOINT": "ray.util.rpdb._driver_set_trace"}, "", None, "pdb"),
    # a Ray worker: break_on's captured hook, else it cannot stop
    ({"PYTHONBREAKPOINT": "ray.util.rpdb.set_trace"}, "", "break_hooks.record", "users hook"),
    ({"PYTHONBREAKPOINT": "ray.util.rpdb.set_trace"}, "", "", ""),
    ({"PYTHONBREAKPOINT": "ray.util.rpdb.set_trace"}, "", "0", "")])
def test_how_a_process_stops_follows_the_users_hook_not_rays(monkeypatch, env, users_at_import,
                                                             hook, how):
    from rldebug.ide import _stop

    monkeypatch.delenv("PYTHONBREAKPOINT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(USERS_HOOK, users_at_import)
    monkeypatch.setattr(_stop, "_debugpy_connected", lambda: False)
    monkeypatch.setattr(_stop, "_pydevd_debugging", lambda: False)
    assert _stop._how_to_stop(hook) == how
    assert _stop.will_stop("break", hook) is bool(how)


def test_an_unimportable_hook_of_the_user_logs_instead_of_failing(monkeypatch, caplog):
    """Python's own hook warns and goes on; ours raised ImportError in the EnvRunner."""
    from rldebug.ide._stop import BreakEvent, catch

    monkeypatch.setenv("PYTHONBREAKPOINT", "ray.util.rpdb.set_trace")  # as in a Ray worker
    event = catch(BreakEvent(kind="custom", reason="x", pid=os.getpid()), "break", "t", None,
                  {}, hook="no_such_module.set_trace")
    assert not event.stopped
    assert "'no_such_module.set_trace' cannot be imported here" in caplog.text


def _remote_walk():
    from event_envs import LeftRightWalk
    from ray.rllib.algorithms.ppo import PPOConfig
    from setups import SMALL_NET

    return (PPOConfig().environment(LeftRightWalk)
            .env_runners(num_env_runners=1)
            .training(train_batch_size=100, minibatch_size=50, num_epochs=1,
                      model={"fcnet_hiddens": SMALL_NET}))


def _train_within(seconds, config, logdir):
    """One iteration with a remote runner, failing (not hanging) when it does not end."""
    import threading

    from rldebug import run

    done = []
    worker = threading.Thread(daemon=True, target=lambda: done.append(run(
        config, stop={"training_iteration": 1}, local=False, progress=False, logdir=logdir)))
    worker.start()
    worker.join(seconds)
    assert done, f"training did not end within {seconds} s: a runner waits in a breakpoint"
    done[0].algo.stop()


def test_break_mode_in_a_remote_runner_calls_the_users_hook_that_ray_replaced(
        monkeypatch, tmp_path, caplog):
    """Ray sets PYTHONBREAKPOINT to its own debugger's hook in every worker, which waits
    for a Ray Distributed Debugger client: the runner hung, the user's hook never called."""
    calls = break_hooks.calls_file()
    calls.unlink(missing_ok=True)
    monkeypatch.setenv("PYTHONBREAKPOINT", "break_hooks.record_to_file")
    config = break_on(_remote_walk(), events=("at_edge",), non_finite=False,
                      mode="break", max_stops=2)
    _train_within(120, config, tmp_path / "run")
    lines = calls.read_text().splitlines()
    assert len(lines) == 2 and all(line.startswith("stop_here ") for line in lines), lines
    assert {int(line.split()[1]) for line in lines} != {os.getpid()}  # in the runner
    assert sum(r.stopped for r in break_records()) == 2
    # the driver's log line for them said "logged there, not stopped" (a new user's)
    assert caplog.text.count("(stopped there)") == 2, caplog.text[-2000:]


def test_break_mode_in_a_remote_runner_without_a_debugger_logs_instead_of_waiting(
        monkeypatch, tmp_path):
    monkeypatch.delenv("PYTHONBREAKPOINT", raising=False)
    config = break_on(_remote_walk(), events=("at_edge",),
                      non_finite=False, mode="break")
    _train_within(120, config, tmp_path / "run")  # it hung, waiting for Ray's debugger
    records = break_records()
    assert records and not any(r.stopped for r in records)
    assert {r.pid for r in records} != {os.getpid()}


def test_a_remote_runners_events_reach_the_driver_in_their_own_iteration():
    """Sent without waiting, a remote runner's events of iteration 1 reached the driver
    only at iteration 2 (a new user's one-runner runs, 11 of 16): break_records() was
    empty after the first train() and its result had no break_on counts."""
    algo = break_on(_remote_walk(), events=("at_edge",), non_finite=False,
                    mode="log").build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    records = break_records()
    assert records and {r.pid for r in records} != {os.getpid()}
    assert result["break_on"]["remote_events"] == len(records), result.get("break_on")


@pytest.mark.parametrize("api_stack", ["new", "old"])
def test_a_remote_runner_that_crashes_sends_the_events_it_caught_first(api_stack):
    """Events caught in a sample() that then raised never left the runner: they waited
    for on_sample_end (a new user's NaN observation: break_records() stayed empty). On
    the old stack the runner is a RolloutWorker."""
    from event_envs import WalkThatCrashes

    config = (_remote_walk().environment(WalkThatCrashes, env_config={"crash_at": 60})
              .fault_tolerance(restart_failed_env_runners=False))
    if api_stack == "old":
        config = config.api_stack(enable_rl_module_and_learner=False,
                                  enable_env_runner_and_connector_v2=False)
    config = break_on(config, events=("at_edge",), non_finite=False, mode="log")
    algo = config.build_algo()
    try:
        with pytest.raises(Exception):  # noqa: B017 - RLlib: the actor died
            algo.train()
    finally:
        algo.stop()
    records = break_records()
    # at least 6 episodes ended at an edge in 60 steps of a 10-step walk
    assert len(records) >= 6 and {r.pid for r in records} != {os.getpid()}, records
    assert all(r.kind == "info_event" for r in records)


def test_an_impossible_action_is_refused_at_build_also_for_a_remote_runner():
    """Raised in the remote EnvRunner that created the env, it failed the actor and
    RLlib said only IndexError (env_runner_group.get_spaces)."""
    config = break_on(_remote_walk(), agent_action={"default_agent": 5}, mode="log")
    with pytest.raises(ValueError, match=r"\[5\] can never be taken: the agent's action "
                                         r"space is Discrete\(2\)"):
        config.build_algo()


def test_a_refused_action_is_judged_again_on_the_next_env():
    """The refusal was kept per break_on call: the same config, its env fixed, stayed
    refused in the same process."""
    import gymnasium as gym
    from event_envs import LeftRightWalk

    class SixWays(LeftRightWalk):
        def __init__(self, config=None):
            super().__init__(config)
            self.action_space = gym.spaces.Discrete(6)

        def step(self, action):
            return super().step(int(action) % 2)

    config = break_on(_remote_walk().env_runners(num_env_runners=0),
                      agent_action={"default_agent": 5}, mode="log")
    with pytest.raises(ValueError, match="can never be taken"):
        config.build_algo()
    config.environment(SixWays)
    config.build_algo().stop()


def learner_result(stack, loss, kl, iteration):
    if stack == "new":
        return {"training_iteration": iteration,
                "learners": {"pol1": {"total_loss": loss, "mean_kl_loss": kl},
                             "__all_modules__": {"total_loss": 123.0}}}
    return {"training_iteration": iteration,
            "info": {"learner": {"pol1": {"learner_stats": {"total_loss": loss, "kl": kl}}}}}


def test_loss_and_kl_spikes_versus_running_mean(api_stack, headless):
    cls = callback_class(break_on(tiny_arena_config(api_stack), loss_spike=3.0, kl_spike=5.0))
    callback = cls()
    series = [(1.0, 0.01), (-1.2, 0.012), (0.9, 0.011), (1.1, 0.01), (4.0, 0.2)]
    for i, (loss, kl) in enumerate(series, start=1):
        callback.on_train_result(result=learner_result(api_stack, loss, kl, i))
    kinds = [(r.kind, r.module_id, r.iteration) for r in break_records()]
    assert kinds == [("loss_spike", "pol1", 5), ("kl_spike", "pol1", 5)]
    assert "x running mean" in break_records()[0].reason


def test_non_finite_loss(api_stack, headless):
    callback = callback_class(break_on(tiny_arena_config(api_stack)))()
    callback.on_train_result(result=learner_result(api_stack, math.nan, 0.01, 1))
    (record,) = break_records()
    assert record.kind == "non_finite_loss" and record.module_id == "pol1"


def test_names_no_step_had_in_20_episodes_are_warned_about_once_each(headless):
    """On an env registered by name (so nothing is declared before training): an event
    and an agent id that never occur are named after 20 episodes, with what was seen; an
    event absent from the first steps but there later is not (it was, from the first
    step alone)."""
    from event_envs import JoiningAndLeaving
    from ray.tune.registry import register_env
    from setups import shared_policy_ppo

    from rldebug.ide import BreakOnWarning

    register_env("joining_and_leaving", JoiningAndLeaving)
    config = break_on(shared_policy_ppo("joining_and_leaving"), events=("hit", "crash"),
                      agent_ids=["a", "zed"], mode="log")
    algo = local_mode(config).build_algo()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):  # 8-step episodes, 150 steps per iteration
                algo.train()
    finally:
        algo.stop()
    said = [str(w.message) for w in caught if w.category is BreakOnWarning]
    assert len(said) == 2, said
    # at the user's break_on line, not in RLlib's callbacks file (a new user's)
    assert {w.filename for w in caught if w.category is BreakOnWarning} == {__file__}
    assert "no info of the first 20 episodes has had ['crash'] (info keys seen: ['hit'])" \
        in said[0]
    assert "names ['zed'], which no step of the first 20 episodes has had (agents seen: " \
        "['a', 'b', 'c'])" in said[1]
    assert {r.agent_id for r in break_records()} == {"a"}


def test_action_conditions_match_and_check_every_kind_of_action_space():
    import gymnasium as gym
    import numpy as np

    from rldebug.ide._break_callback import ActionCondition
    from rldebug.ide.breakpoints import _action_condition

    discrete = _action_condition("a", [0, 2])
    assert discrete.matches(np.int64(2)) and not discrete.matches(1)
    discrete.check_space("a", gym.spaces.Discrete(3))
    with pytest.raises(ValueError, match=r"\[5\] can never be taken"):
        _action_condition("a", [0, 5]).check_space("a", gym.spaces.Discrete(3))

    vectors = _action_condition("a", [(0, 2), (1, 1)])
    assert vectors.matches(np.array([1, 1])) and not vectors.matches(np.array([1, 2]))
    vectors.check_space("a", gym.spaces.MultiDiscrete([2, 3]))
    with pytest.raises(ValueError, match="tuples of 2 ints"):
        _action_condition("a", (0, 3)).check_space("a", gym.spaces.MultiDiscrete([2, 3]))
    with pytest.raises(ValueError, match="can never be taken"):
        _action_condition("a", 1).check_space("a", gym.spaces.MultiDiscrete([2, 3]))

    box = gym.spaces.Box(-2.0, 2.0, (1,))
    predicate = _action_condition("a", lambda action: action[0] > 1.5)
    predicate.check_space("a", box)
    assert predicate.matches(np.array([1.9])) and not predicate.matches(np.array([0.0]))
    with pytest.raises(ValueError, match="pass a predicate instead"):
        _action_condition("a", 1).check_space("a", box)
    with pytest.raises(RuntimeError, match="predicate .* raised"):
        ActionCondition(predicate=lambda action: action["x"]).matches(np.array([1.0]))


def _dict_obs_tuple_action_env():
    import gymnasium as gym
    import numpy as np

    class Env(gym.Env):
        """Dict observations, Tuple(Discrete, Box) actions; ``RECEIVED`` holds every
        action the env got whose Discrete part is 1."""

        INFO_EVENTS = ("ping",)
        RECEIVED: list = []  # noqa: RUF012 - the test's record

        def __init__(self, config=None):
            self.observation_space = gym.spaces.Dict({
                "pos": gym.spaces.Box(-10, 10, (2,), np.float32), "mode": gym.spaces.Discrete(3)})
            self.action_space = gym.spaces.Tuple((gym.spaces.Discrete(2),
                                                  gym.spaces.Box(-1, 1, (2,), np.float32)))

        def _obs(self):
            return {"pos": np.array([self.t, 0.0], np.float32), "mode": self.t % 3}

        def reset(self, *, seed=None, options=None):
            self.t = 0
            return self._obs(), {}

        def step(self, action):
            self.t += 1
            if int(action[0]) == 1:
                Env.RECEIVED.append(np.asarray(action[1], np.float64).round(5).tolist())
            return self._obs(), float(action[0]), False, self.t >= 8, {"ping": int(action[0]) == 1}

    return Env


@pytest.mark.parametrize("stack", ["new", "old", "old_no_preprocessor"])
def test_tuple_actions_and_dict_observations_are_seen_as_the_env_gets_them(stack, headless):
    """A Tuple action crashed the new stack's sample() when a predicate matched (numpy
    cannot make one array of it); the old stack without its preprocessor crashed at the
    first step (its Dict observation's parts have different shapes); the old stack's
    predicate got the action flattened to one array, its Box part unclipped."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module import FlattenObservations

    from rldebug.callbacks import InfoEvents, add_callbacks

    env = _dict_obs_tuple_action_env()
    config = (PPOConfig().environment(env)
              .env_runners(num_env_runners=0, rollout_fragment_length=32)
              .training(train_batch_size=32, minibatch_size=32, num_epochs=1).debugging(seed=0))
    if stack == "new":
        config = config.env_runners(env_to_module_connector=lambda *a, **k: FlattenObservations())
    else:
        config = config.api_stack(enable_rl_module_and_learner=False,
                                  enable_env_runner_and_connector_v2=False).framework("torch")
        if stack == "old_no_preprocessor":
            config = config.experimental(_disable_preprocessor_api=True)
    config = break_on(add_callbacks(config, InfoEvents), mode="log",
                      agent_action={"default_agent": lambda action: int(action[0]) == 1})
    train_once(config)
    seen = [[round(float(x), 5) for x in record.action[1]] for record in break_records()]
    # in order; the old stack's sampler has stepped the env once more than it reported
    assert seen and seen == env.RECEIVED[:len(seen)] and len(env.RECEIVED) - len(seen) <= 1
    assert all(-1 <= x <= 1 for action in seen for x in action)  # clipped, as the env got it
