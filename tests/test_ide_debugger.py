"""Proof by a real debugger: breakpoints set over DAP are hit in the process that trains.

Each test launches ``python -m debugpy --listen 127.0.0.1:PORT --wait-for-client
tests/debuggee_train.py`` (one tiny iteration), attaches the way VS Code does
and records which breakpoints stop, in which process. The debuggee joins the
test session's Ray instance.
"""

import math
import os
import re
import threading
from pathlib import Path

import pytest
import ray.rllib
from dap_client import DapClient, free_port, launch_under_debugpy, line_of
from tiny import tiny_arena_config

import rldebug
from rldebug.arena import env as arena
from rldebug.inprocess.local import LocalModeWarning

RLLIB = Path(ray.rllib.__file__).parent
DEBUGGEE = Path(__file__).parent / "debuggee_train.py"
ENV_STEP = (Path(arena.__file__),
            line_of(arena.__file__, "actions = self._validated_actions(action_dict)"))
LOSS = {
    "new": (RLLIB / "algorithms/ppo/torch/ppo_torch_learner.py",
            line_of(RLLIB / "algorithms/ppo/torch/ppo_torch_learner.py",
                    "module = self.module[module_id].unwrapped()",
                    after="def compute_loss_for_module")),
    "old": (RLLIB / "algorithms/ppo/ppo_torch_policy.py",
            line_of(RLLIB / "algorithms/ppo/ppo_torch_policy.py",
                    "logits, state = model(train_batch)", after="    def loss(")),
}
USER_CALLBACK = (DEBUGGEE, line_of(DEBUGGEE, "USER-CALLBACK-BREAKPOINT"))
# The model: the user's RLModule on the new stack; RLlib's default ModelV2 on the old.
MODEL = {
    "new": [(DEBUGGEE, line_of(DEBUGGEE, "USER-MODULE-FORWARD-BREAKPOINT")),
            (DEBUGGEE, line_of(DEBUGGEE, "USER-MODULE-FORWARD-TRAIN-BREAKPOINT"))],
    "old": [(RLLIB / "models/torch/fcnet.py",
             line_of(RLLIB / "models/torch/fcnet.py", 'obs = input_dict["obs_flat"].float()',
                     after="    def forward("))],
}


def debuggee_env():
    env = dict(os.environ)
    env["RLDEBUG_RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    return env


def run_under_debugger(tmp_path, args, breakpoints, on_stop=None):
    """Launch the debuggee, attach, set ``breakpoints``; return ({(path, line): pid}, client).

    Each breakpoint is cleared when first hit so the run goes on at full speed.
    ``on_stop(client, stop)`` may look around before the run continues.
    """
    port = free_port()
    output = tmp_path / "debuggee.log"
    process = launch_under_debugpy(DEBUGGEE, port, output, args, env=debuggee_env())
    hits = {}
    try:
        client = DapClient(port)
        grouped = {}
        for path, line in breakpoints:
            grouped.setdefault(str(path), []).append(line)
        client.attach(grouped)

        def first_hit_only(stop):
            where = (Path(stop.top["source"]["path"]), stop.top["line"])
            if where in hits:
                return
            hits[where] = int(client.evaluate("__import__('os').getpid()", stop.top))
            if on_stop:
                on_stop(client, stop)
            remaining = [line for line in grouped.get(str(where[0]), []) if line != where[1]]
            grouped[str(where[0])] = remaining
            client.request("setBreakpoints", source={"path": str(where[0])},
                           breakpoints=[{"line": line} for line in remaining])

        client.drive(first_hit_only)
        returncode = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    log = output.read_text()
    assert returncode == 0, log[-3000:]
    assert "done" in log
    return hits, client, process.pid


@pytest.mark.parametrize("api_stack", ["new", pytest.param("old", marks=pytest.mark.slow)])
def test_breakpoints_in_env_model_loss_and_callback_are_hit_in_process(tmp_path, api_stack):
    wanted = [ENV_STEP, LOSS[api_stack], USER_CALLBACK, *MODEL[api_stack]]
    hits, client, pid = run_under_debugger(tmp_path, ["--stack", api_stack], wanted)
    assert client.process_id == pid  # the debugger reports the process we launched
    assert set(hits) == {(Path(p), line) for p, line in wanted}
    assert set(hits.values()) == {pid}  # each stop happened inside that process


@pytest.mark.slow  # ~30 s each: a DAP session over a remote runner (the same breakpoints hit
# in process: the test above; a remote runner's steps elsewhere: test_local_mode's
# negative control; a remote runner's own breakpoints: attach_remote's tests below)
@pytest.mark.parametrize("api_stack", ["new", "old"])
def test_negative_control_env_step_is_not_hit_with_a_remote_runner(tmp_path, api_stack):
    wanted = [ENV_STEP, LOSS[api_stack]]
    hits, _, _ = run_under_debugger(tmp_path, ["--stack", api_stack, "--runners", "1"], wanted)
    assert (Path(LOSS[api_stack][0]), LOSS[api_stack][1]) in hits  # the debugger works ...
    assert (ENV_STEP[0], ENV_STEP[1]) not in hits  # ... but env.step ran in another process


def test_break_on_stops_on_the_first_collision_with_readable_locals(tmp_path):
    seen = {}

    def look(client, stop):
        frame = stop.frame_named("stop_here")
        seen["top"] = stop.top["name"]
        seen["locals"] = client.locals_of(frame)
        seen["collisions_before"] = client.evaluate(
            "len(__import__('__main__').COLLISIONS_SEEN)", frame)

    stop_line = line_of(Path(__file__).parent.parent / "rldebug/ide/_stop.py",
                        "resumed = True  # break_on stopped here")
    hits, _, _ = run_under_debugger(tmp_path, ["--stack", "new", "--break-on"], [],
                                      on_stop=look)
    assert list(hits) == [(Path(__file__).parent.parent.resolve() / "rldebug/ide/_stop.py",
                           stop_line)]
    assert seen["top"] == "stop_here"
    variables = seen["locals"]
    assert variables["agent_id"] == "'agent1'"
    assert float(variables["reward"]) == -1.0
    assert "'collision': True" in variables["info"]
    assert {"event", "episode", "obs", "action", "batch", "stats"} <= set(variables)
    assert seen["collisions_before"] == "1"  # the first collision of the run


def test_attach_remote_breakpoint_hits_the_remote_env_runner():
    from rldebug.ide import attach_remote

    port = free_port()
    config = attach_remote(tiny_arena_config("new", num_env_runners=1), runner_index=1,
                           port=port)
    found = {}

    def debug_remote():
        client = DapClient(port, connect_timeout=120)
        client.attach({str(ENV_STEP[0]): [ENV_STEP[1]]})
        stop = client.next_stop(timeout=240)
        found["where"] = (Path(stop.top["source"]["path"]), stop.top["line"])
        found["pid"] = int(client.evaluate("__import__('os').getpid()", stop.top))
        found["reported_pid"] = client.process_id
        client.disconnect()  # removes the breakpoint; the runner goes on

    thread = threading.Thread(target=debug_remote, daemon=True)
    thread.start()
    algo = config.build_algo()  # blocks until the client attached
    try:
        algo.train()
        runner_pids = algo.env_runner_group.foreach_env_runner(
            lambda runner: os.getpid(), local_env_runner=False)
    finally:
        algo.stop()
    thread.join(timeout=60)
    assert found["where"] == ENV_STEP
    assert found["pid"] == found["reported_pid"] == runner_pids[0]
    assert found["pid"] != os.getpid()


def test_attach_remote_rejects_a_port_in_use_and_a_missing_runner():
    import socket

    from rldebug.ide import attach_remote

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ValueError, match=f"port {port} on 127.0.0.1 is already in use"):
            attach_remote(tiny_arena_config(num_env_runners=1), port=port)
    with pytest.raises(ValueError, match=r"runner_index=2\) does not exist.*\[1\]"):
        attach_remote(tiny_arena_config(num_env_runners=1), runner_index=2, port=free_port())
    with pytest.raises(ValueError, match="no remote EnvRunners"):
        attach_remote(tiny_arena_config(num_env_runners=0), port=free_port())


def _walk_config(env, env_config=None, api_stack="new"):
    from ray.rllib.algorithms.ppo import PPOConfig

    old = api_stack == "old"
    return (PPOConfig().api_stack(enable_rl_module_and_learner=not old,
                                  enable_env_runner_and_connector_v2=not old)
            .environment(env, env_config=env_config or {})
            .env_runners(num_env_runners=1, num_envs_per_env_runner=1,
                         rollout_fragment_length=50)
            .training(train_batch_size=100, minibatch_size=50, num_epochs=1)
            .debugging(seed=0))


def _stops_until_the_exception(client, first_frame: str):
    """Resume every condition stop until the post-mortem one; what the condition stops
    (``condition``: the first, ``conditions``: all, in order) and that one showed."""
    client.attach({})
    seen = {"conditions": []}
    while (stop := client.next_stop(timeout=180)) is not None:
        if stop.reason == "exception":
            seen["exception"] = {
                "where": (Path(stop.top["source"]["path"]).name, stop.top["line"],
                          stop.top["name"]),
                "locals": client.locals_of(stop.top),
                "pid": int(client.evaluate("__import__('os').getpid()", stop.top))}
            break
        frame = stop.frame_named(first_frame)
        seen["conditions"].append({
            "top": stop.top["name"], "locals": client.locals_of(frame),
            "pid": int(client.evaluate("__import__('os').getpid()", frame))})
        seen.setdefault("condition", seen["conditions"][0])
        client.resume(stop)
    client.disconnect()  # the exception goes on to RLlib
    return seen


def _ide_in_a_thread(port):
    """VS Code's side of a conditional/post-mortem session, in a thread: every stop until
    the post-mortem one (``_stops_until_the_exception``); what it saw lands in ``found``."""
    found = {}

    def debug_remote():
        found.update(_stops_until_the_exception(DapClient(port, connect_timeout=180),
                                                "stop_here"))

    return threading.Thread(target=debug_remote, daemon=True), found


def _learner_pid(algo) -> int:
    """The pid of the Algorithm's (one) remote Learner."""
    return next(iter(algo.learner_group.foreach_learner(lambda learner: os.getpid()))).get()


def _runner_pid(algo) -> int:
    """The pid of the Algorithm's (one) remote EnvRunner."""
    return algo.env_runner_group.foreach_env_runner(lambda runner: os.getpid(),
                                                    local_env_runner=False)[0]


def _train_while_the_ide_debugs(config, port, pid_of, match=None, iterations=1):
    """Build ``config``, let VS Code's side (``_ide_in_a_thread``) debug it, and train until
    ``train()`` raises (within ``iterations``). Returns the debugged actor's pid
    (``pid_of(algo)``), what the IDE saw, and the exception ``train()`` raised."""
    algo = config.build_algo()  # does not block: nothing has happened yet
    thread, found = _ide_in_a_thread(port)
    try:
        pid = pid_of(algo)
        thread.start()
        with pytest.raises(Exception, match=match) as raised:
            for _ in range(iterations):  # a learner thread's error reaches a later update()
                algo.train()
        thread.join(timeout=120)
    finally:
        algo.stop()
    return pid, found, raised.value


@pytest.mark.parametrize("api_stack", ["new", pytest.param("old", marks=pytest.mark.slow)])
def test_attach_remote_waits_only_when_a_condition_fires_or_the_env_raises(api_stack):
    """The runner trains until its walker reaches an edge (info event ``at_edge``): only
    then does it listen, and the IDE stops in stop_here with the step's locals; at its 40th
    step the env raises, and the IDE stops at that line with its locals (post-mortem).
    On the old stack the runner is a RolloutWorker."""
    import ray
    from event_envs import WalkThatCrashes

    from rldebug.ide import attach_remote

    port = free_port()
    config = attach_remote(_walk_config(WalkThatCrashes, {"crash_at": 40}, api_stack),
                           runner_index=1, port=port, when={"events": "at_edge"},
                           post_mortem=True, timeout_s=180)
    config.fault_tolerance(restart_failed_env_runners=False)
    runner_pid, found, raised = _train_while_the_ide_debugs(config, port, _runner_pid)
    condition = found["condition"]
    assert condition["top"] == "stop_here"
    assert condition["pid"] == runner_pid != os.getpid()
    variables = condition["locals"]
    assert "info event 'at_edge'" in variables["event"]
    # numpy's bool on the new stack (its episodes hold numpy values), Python's on the old
    assert variables["info"] in ("{'at_edge': np.True_}", "{'at_edge': True}")
    assert variables["agent_id"] == "'default_agent'"
    assert {"episode", "obs", "action", "reward"} <= set(variables)
    crash_line = line_of(Path(__file__).parent / "event_envs.py", "# CRASH-LINE")
    assert found["exception"]["where"] == ("event_envs.py", crash_line, "step"), found
    assert found["exception"]["locals"]["steps_taken"] == "40"
    assert found["exception"]["pid"] == runner_pid
    # then RLlib handles the error as without attach_remote: with no restarts, the runner
    # ends and train() raises (ActorDiedError, measured with a plain config)
    assert isinstance(raised, (ray.exceptions.ActorDiedError, ray.exceptions.RayTaskError))


def test_attach_remote_without_an_ide_goes_on_after_its_timeout():
    from event_envs import LeftRightWalk

    from rldebug.ide import attach_remote, break_records, clear_break_records

    clear_break_records()
    config = attach_remote(_walk_config(LeftRightWalk), runner_index=1, port=free_port(),
                           when={"events": "at_edge"}, timeout_s=1)
    assert config.sample_timeout_s is None  # a runner held in the IDE is not dropped
    algo = config.build_algo()
    try:
        result = algo.train()  # one wait of 1 s, then the events are only logged
    finally:
        algo.stop()
    assert result["env_runners"]["num_env_steps_sampled"] >= 100
    caught = [event for event in break_records() if event.kind == "info_event"]
    assert len(caught) > 1  # every edge of the iteration, recorded in the runner
    assert not any(event.stopped for event in caught)
    assert {event.pid for event in caught} != {os.getpid()}


def test_attach_remote_rejects_conditions_it_cannot_check_in_a_runner():
    from rldebug.ide import attach_remote

    config = tiny_arena_config(num_env_runners=1)
    with pytest.raises(ValueError, match=r"\['loss_spike'\].*checked on the driver"):
        attach_remote(config, port=free_port(), when={"loss_spike": 5.0})
    with pytest.raises(TypeError, match="must be a dict of break_on conditions"):
        attach_remote(config, port=free_port(), when="collision")
    with pytest.raises(ValueError, match="unknown|never|does not report|events"):
        attach_remote(config, port=free_port(), when={"events": "no_such_event"})
    with pytest.raises(ValueError, match="timeout_s"):
        attach_remote(config, port=free_port(), post_mortem=True, timeout_s=0)


def test_attach_remote_refuses_what_it_would_ignore_or_crash_on():
    """An audit as a new user: each of these was accepted, then crashed the runner
    (timeout_s=inf: OverflowError, and an orphaned runner holding the port), ignored
    (wait=False alone; a Learner condition that can never fire; runner_index=1 beside
    learner_index) or refused only at train() blaming "another process" (two actors on
    one port)."""
    from rldebug.ide import attach_remote

    config = tiny_arena_config(num_env_runners=2)
    with pytest.raises(ValueError, match="longer than Python can wait"):
        attach_remote(config, port=free_port(), post_mortem=True, timeout_s=1e300)
    attached = attach_remote(config, port=free_port(), post_mortem=True, timeout_s=math.inf)
    (settings,) = [c.settings for c in attached.callbacks_class if hasattr(c, "settings")]
    assert settings.endpoint.timeout_s is None  # inf: until the IDE attaches
    with pytest.raises(ValueError, match=r"wait=False\) without when= or post_mortem=True"):
        attach_remote(config, port=free_port(), wait=False)
    with pytest.raises(ValueError, match=r"got no condition to stop on: give it events"):
        attach_remote(config, port=free_port(), when={})
    with pytest.raises(TypeError, match=r"attach_remote\(when=\{'non_finite': \.\.\.\}\) "
                                        r"must be True or False"):
        attach_remote(config, port=free_port(), when={"non_finite": "yes"})
    learners = tiny_arena_config().learners(num_learners=1)
    for when in ({}, {"non_finite": False}, {"spike_window": 5}):
        with pytest.raises(ValueError, match="gives the Learner no condition to stop on"):
            attach_remote(learners, learner_index=0, port=free_port(), when=when)
    with pytest.raises(TypeError, match=r"when=\{'non_finite': \.\.\.\}\) must be True or "
                                        r"False, got 1"):
        attach_remote(learners, learner_index=0, port=free_port(), when={"non_finite": 1})
    with pytest.raises(ValueError, match=r"attach_remote\(when=\{'loss_spike': 0.5\}\) is a "
                                         "factor"):
        attach_remote(learners, learner_index=0, port=free_port(), when={"loss_spike": 0.5})
    with pytest.raises(ValueError, match="not both"):
        attach_remote(learners, runner_index=1, learner_index=0, port=free_port())
    port = free_port()
    both = attach_remote(config.learners(num_learners=1), runner_index=1, port=port,
                         when={"non_finite": True})
    with pytest.raises(ValueError, match=rf"port {port} is already the port of "
                                         r"runner_index=1.*pass port="):
        attach_remote(both, learner_index=0, port=port, when={"non_finite": True})
    with pytest.raises(ValueError, match=rf"port {port} is already the port of runner_index=1"):
        attach_remote(both, runner_index=2, port=port, post_mortem=True)
    # the same actor again (another condition, the same port) is fine; on another port it
    # would never be listened on (one listener per process), and a Learner twice broke
    # Python's method resolution order
    attach_remote(both, runner_index=1, port=port, post_mortem=True)
    with pytest.raises(ValueError, match=r"runner_index=1\): an earlier attach_remote .* "
                                         r"meet the IDE \(vscode, port"):
        attach_remote(both, runner_index=1, port=free_port(), post_mortem=True)
    learner = attach_remote(config.learners(num_learners=1), learner_index=0,
                            port=free_port(), when={"non_finite": True})
    import numpy as np

    with pytest.raises(ValueError, match=r"learner_index=0\): an earlier attach_remote"):
        attach_remote(learner, learner_index=np.int64(0), port=free_port(), post_mortem=True)
    with pytest.raises(ValueError, match=rf"port {port} is already the port of runner_index=1"):
        attach_remote(both, runner_index=2, port=port, client="pycharm")
    for when, said in (({"reward_below": -math.inf}, "no reward is below -inf"),
                       ({"reward_above": math.inf}, "no reward is above inf")):
        with pytest.raises(ValueError, match=rf"attach_remote\(when=\{{'{next(iter(when))}': "
                                             rf"-?inf\}}\) can never fire: {said}"):
            attach_remote(config, port=free_port(), when=when)
    with pytest.raises(ValueError, match=r"attach_remote\(when=\{'reward_below': -1.0, "
                                         r"'reward_above': -5.0\}\): every reward"):
        attach_remote(config, port=free_port(), when={"reward_below": -1, "reward_above": -5})
    with pytest.raises(ValueError, match=r"loss_spike': inf\}\) can never fire"):
        attach_remote(learners, learner_index=0, port=free_port(),
                      when={"loss_spike": math.inf})


def test_attach_remote_to_a_runner_the_config_no_longer_has_is_refused_at_build():
    from rldebug.ide import attach_remote

    config = attach_remote(tiny_arena_config(num_env_runners=2), runner_index=2,
                           port=free_port(), when={"non_finite": True})
    config.env_runners(num_env_runners=1)  # after attach_remote: runner 2 is gone
    with pytest.raises(ValueError, match=r"runner_index=2\) was set up .* num_env_runners=1"):
        config.build_algo()
    # none at all (as rldebug's local mode and rldebug debug set it): said, not refused
    config = attach_remote(tiny_arena_config(num_env_runners=2), runner_index=2,
                           port=free_port(), when={"non_finite": True})
    with pytest.warns(LocalModeWarning, match=r"runner_index=2\): this algorithm has no "
                                              "remote EnvRunners"):
        rldebug.local_mode(config, warn=False).build_algo().stop()


@pytest.mark.slow  # ~15 s: a remote runner that waits out its timeout
def test_attach_remote_waiting_from_the_start_goes_on_after_its_timeout(capfd):
    """The default mode (wait when the env is created) ignored timeout_s: with no IDE,
    build_algo() waited for ever."""
    from event_envs import LeftRightWalk

    from rldebug.ide import attach_remote

    config = attach_remote(_walk_config(LeftRightWalk), runner_index=1, port=free_port(),
                           timeout_s=2)
    algo = config.build_algo()  # waits 2 s in the runner, then goes on
    try:
        result = algo.train()
    finally:
        algo.stop()
    assert result["env_runners"]["num_env_steps_sampled"] >= 100
    err = capfd.readouterr()
    said = err.out + err.err
    assert "no debugger attached to EnvRunner 1" in said and "within 2 s" in said, said


def _remote_learner_config(learner_class):
    from event_envs import LeftRightWalk
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig().environment(LeftRightWalk)
            .env_runners(num_env_runners=0, rollout_fragment_length=100)
            .learners(num_learners=1)
            .training(learner_class=learner_class, train_batch_size=100, minibatch_size=50,
                      num_epochs=3)
            .debugging(seed=0))


def test_attach_remote_to_a_remote_learner_on_a_loss_spike_a_nan_loss_and_post_mortem():
    """One remote PPO Learner, six minibatches in its first update: the fourth's loss is
    10,000 times its usual size (the IDE stops in stop_here, loss_spike), the fifth's is NaN
    (stops again, non_finite), the sixth raises (the IDE stops at that line)."""
    from learner_faults import PPOLearnerWithPlantedFaults

    from rldebug.ide import attach_remote

    port = free_port()
    config = attach_remote(_remote_learner_config(PPOLearnerWithPlantedFaults),
                           learner_index=0, port=port,
                           when={"non_finite": True, "loss_spike": 100.0}, post_mortem=True,
                           timeout_s=180)
    learner_pid, found, _ = _train_while_the_ide_debugs(
        config, port, _learner_pid, match="planted: the loss of minibatch 6 fails")
    spike, nan = found["conditions"]  # minibatches 1-3 are ordinary: no stop
    assert spike["pid"] == nan["pid"] == learner_pid != os.getpid()
    assert re.search(r"loss \S+ is \d+\.\dx the mean \|loss\| \S+ of its last 3 minibatch",
                     spike["locals"]["event"]), spike["locals"]["event"]
    assert "kind='loss_spike'" in spike["locals"]["event"]
    assert "non-finite loss nan" in nan["locals"]["event"]
    assert "'loss': tensor(nan" in nan["locals"]["stats"]
    assert spike["locals"]["batch"] != "None" and nan["locals"]["batch"] != "None"
    raise_line = line_of(Path(__file__).parent / "learner_faults.py", "# RAISE")
    assert found["exception"]["where"] == ("learner_faults.py", raise_line,
                                           "compute_loss_for_module")
    assert found["exception"]["locals"]["minibatch"] == "6"


def test_attach_remote_to_a_learner_rejects_what_it_cannot_target():
    from rldebug.ide import attach_remote

    with pytest.raises(ValueError, match="num_learners=0"):
        attach_remote(tiny_arena_config(), learner_index=0, port=free_port())
    config = tiny_arena_config().learners(num_learners=1)
    with pytest.raises(ValueError, match=r"learner_index=1\) does not exist.*\[0\]"):
        attach_remote(config, learner_index=1, port=free_port())
    with pytest.raises(ValueError, match="not both"):
        attach_remote(config, runner_index=2, learner_index=0, port=free_port())
    with pytest.raises(ValueError, match="KL spikes are checked on the driver"):
        attach_remote(config, learner_index=0, port=free_port(), when={"kl_spike": 5})
    with pytest.raises(ValueError, match="must be > 1"):
        attach_remote(config, learner_index=0, port=free_port(), when={"loss_spike": 0.5})
    with pytest.raises(ValueError, match="int >= 3"):
        attach_remote(config, learner_index=0, port=free_port(),
                      when={"loss_spike": 5.0, "spike_window": 2})


@pytest.mark.slow
def test_attach_remote_post_mortem_in_impalas_learner_thread():
    """IMPALA's remote Learner updates in RLlib's learner thread: its second loss raises
    there; the IDE stops at that line, in the Learner's pid, and then train() raises in the
    driver (raised in the thread, the error would end it and RLlib would wait forever)."""
    from event_envs import LeftRightWalk
    from learner_faults import IMPALALearnerThatRaises
    from ray.rllib.algorithms.impala import IMPALAConfig

    from rldebug.ide import attach_remote

    port = free_port()
    config = (IMPALAConfig().environment(LeftRightWalk)
              .env_runners(num_env_runners=1, rollout_fragment_length=50)
              .learners(num_learners=1)
              .training(learner_class=IMPALALearnerThatRaises, train_batch_size=100)
              .debugging(seed=0))
    config = attach_remote(config, learner_index=0, port=port, post_mortem=True,
                           timeout_s=180)
    learner_pid, found, _ = _train_while_the_ide_debugs(
        config, port, _learner_pid, match="planted: IMPALA's loss 2 fails", iterations=20)
    raise_line = line_of(Path(__file__).parent / "learner_faults.py", "# THREAD-RAISE")
    assert found["exception"]["where"] == ("learner_faults.py", raise_line,
                                           "compute_loss_for_module")
    assert found["exception"]["locals"]["update"] == "2"
    assert found["exception"]["pid"] == learner_pid != os.getpid()
