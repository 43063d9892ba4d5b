"""rldebug.reproduce on real RLlib runs: a NaN observation that crashes sampling and a
NaN loss at one minibatch, single- and multi-agent, each replayed to its exact step."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from replay_envs import (
    MARKER,
    CurriculumCorridor,
    GlitchyPair,
    GlitchyWalk,
    GlobalRandomWalk,
    MarkerPoisonsLoss,
    NanInThirdEpisode,
    NanInThirdEpisodeWithALock,
    NanInThirdEpisodeWrapper,
    RaiseTheLevel,
)

import rldebug
from rldebug.cli import main
from rldebug.reproduction import ReproduceError, reproduce, reproducible_events
from rldebug.reproduction.listing import read_recorded
from rldebug.tracing import load_trace, run_trace_dir
from rldebug.tracing.layout import episode_files, weights_files
from rldebug.tracing.replay_state import decode, load_config, read_episode_records
from rldebug.tracing.settings import TraceSettings

TORCH_NAN_MESSAGE = "probability tensor contains either `inf`, `nan` or element < 0"


def _config(env, glitch, rate, runners=0, envs=2, **training):
    return (PPOConfig().environment(env, env_config={"glitch": glitch, "rate": rate})
            .env_runners(num_env_runners=runners, num_envs_per_env_runner=envs)
            .training(train_batch_size=200, minibatch_size=50, num_epochs=2, **training)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16, 16]))
            .fault_tolerance(restart_failed_env_runners=False)
            .debugging(seed=0))


def _two_policies(config):
    return config.multi_agent(policies={"p_left", "p_right"},
                              policy_mapping_fn=lambda agent, *args, **kwargs: f"p_{agent}")


def _train(config, until_event=False, iterations=40, crash: str | None = None) -> str | None:
    """Train ``iterations`` (or, with until_event, until the trace has an event). With
    ``crash``, the run must die with an error whose message holds it: its text is
    returned; any other exception propagates."""
    algo = config.build_algo()
    try:
        for _ in range(iterations):
            algo.train()
            if until_event and _has_events(config):
                break
    except Exception as err:
        said = f"{type(err).__name__}: {err}"
        if crash is None or crash not in said:
            raise
        return said
    finally:
        algo.stop()
    if crash is not None:
        pytest.fail(f"the run did not crash with {crash!r} in {iterations} iterations")
    return None


def _has_events(config) -> bool:
    directory = next(c.settings.dir for c in _callback_classes(config)
                     if isinstance(getattr(c, "settings", None), TraceSettings))
    return any(p.name.startswith("events-") and p.stat().st_size
               for p in Path(directory).iterdir())


def _callback_classes(config):
    from rldebug.callbacks.compose import configured_callbacks

    return configured_callbacks(config.callbacks_class)


def _recorded(tmp_path_factory, name, config, **train):
    out = tmp_path_factory.mktemp(name)
    crash = _train(rldebug.trace(config, out=out, reproducible=True), **train)
    return out, crash


def _event(directory, column):
    return next(e for e in reproducible_events(directory) if e.column == column)


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@pytest.fixture(scope="module")
def nan_obs_run(tmp_path_factory):
    """A run directory (rldebug.run with a reproducible trace) that died on a NaN obs."""
    logdir = tmp_path_factory.mktemp("nan_obs")
    try:
        rldebug.run(_config(GlitchyWalk, "nan", 0.05), logdir=logdir, max_iterations=40,
                    trace="batches", reproducible=True, progress=False)
    except RuntimeError as err:
        return logdir, str(err)
    return logdir, None


@pytest.fixture(scope="module")
def nan_loss_run(tmp_path_factory):
    config = _config(GlitchyWalk, "marker", 0.05).learners(learner_class=MarkerPoisonsLoss)
    return _recorded(tmp_path_factory, "nan_loss", config, until_event=True)


def test_plain_rllib_dies_on_the_nan_observation():
    crash = _train(_config(GlitchyWalk, "nan", 0.05), crash=TORCH_NAN_MESSAGE)
    assert crash is not None and TORCH_NAN_MESSAGE in crash


def test_the_trace_keeps_the_nan_observation_and_the_crash_after_it(nan_obs_run):
    directory, crash = nan_obs_run
    assert crash is not None and TORCH_NAN_MESSAGE in crash
    events = load_trace(run_trace_dir(directory)).events
    columns = list(events["column"])
    assert columns.index("obs") < columns.index("sample")
    obs_event = events[events["column"] == "obs"].iloc[0]
    crash_event = events[events["column"] == "sample"].iloc[0]
    assert TORCH_NAN_MESSAGE in crash_event["message"]
    assert obs_event["episode_id"] in crash_event["episodes_in_play"]


def test_the_doctor_names_the_crash_and_the_command_that_replays_it(nan_obs_run):
    directory, _ = nan_obs_run
    findings = {f.rule_id: f for f in rldebug.diagnose(directory).findings}
    crash = findings["sampler_crashed"]
    assert "non-finite 'obs' of default_agent" in crash.message
    event = _event(directory, "obs")
    assert crash.evidence["reproduce"].endswith(f"--event {event.number}")
    assert findings["non_finite_in_trace"].evidence["reproduce"] == crash.evidence["reproduce"]


def test_a_nan_observation_is_reproduced_to_its_exact_step_twice(nan_obs_run):
    directory, _ = nan_obs_run
    event = _event(directory, "obs")
    assert event.reproducible and event.kind == "episode" and event.env_step >= 1
    rldebug.ide.clear_break_records()
    first = reproduce(directory, event=event.number, mode="log")
    second = reproduce(directory, event=event.number, mode="log")
    for result in (first, second):
        assert result.reproduced, result.summary()
        assert result.env_step == event.env_step
        assert np.isnan(result.obs).all() and result.info == {"glitch": True}
        result.close()
    assert _same(first.obs, second.obs) and first.reward == second.reward
    assert first.seed == second.seed and first.action == second.action
    # Unattended, the stop is recorded as break_on records its events, with the step's info.
    stops = [r for r in rldebug.break_records() if r.kind == "reproduce"]
    assert len(stops) == 2 and not stops[0].stopped
    assert stops[0].env_step == event.env_step and stops[0].info == {"glitch": True}
    assert stops[0].extra["recorded_episode_id"] == event.episode_id


def test_the_crash_itself_is_reproduced(nan_obs_run):
    directory, _ = nan_obs_run
    event = _event(directory, "sample")
    result = reproduce(directory, event=event.number, mode="log")
    result.close()
    assert result.reproduced, result.summary()
    assert np.isnan(result.obs).all()
    assert TORCH_NAN_MESSAGE in result.crash


@pytest.mark.slow  # ~12 s
def test_a_crash_the_envs_exception_caused_replays_to_the_step_before_it(tmp_path_factory,
                                                                        caplog):
    """The env raised at a step: the 'sample() crashed' event stopped at the step that
    raised (the tape holds its action too), so its replay died with RLlib's bare
    RuntimeError; the env.step event's replay said 'crashed again: RuntimeError: ', as
    RLlib re-raises the env's exception (and the replay's own end) wrapped."""
    directory, crash = _recorded(tmp_path_factory, "env_raises",
                                 _config(GlitchyWalk, "raise", 0.05), crash="RuntimeError")
    assert crash is not None
    raised, sampled = _event(directory, "env.step"), _event(directory, "sample")
    assert sampled.env_step == raised.env_step == raised.record["env_step"] - 1
    assert "from ValueError: walked into a wall" in sampled.reason
    for event in (raised, sampled):
        caplog.clear()
        result = reproduce(directory, event=event.number, mode="log")
        result.close()
        assert result.reproduced, result.summary()
        assert result.crash.startswith("ValueError: walked into a wall"), result.crash
        # the replay's end is no failed env step of RLlib's (it logged one, with a traceback)
        assert not [r for r in caplog.records if "Environment step failed" in r.getMessage()]


@pytest.mark.slow  # ~14 s
def test_quitting_the_debugger_at_the_stop_is_no_error(nan_obs_run):
    """'q' at pdb's prompt raised BdbQuit out of the command: 'rldebug reproduce: BdbQuit'
    and exit 1, as for an error inside rldebug."""
    import os
    import subprocess
    import sys

    directory, _ = nan_obs_run
    event = _event(directory, "obs")
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "PYTHONBREAKPOINT")}
    done = subprocess.run([sys.executable, "-m", "rldebug", "reproduce", str(directory),
                           "--event", str(event.number), "--mode", "break"], input="q\n",
                          capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Quit the debugger at the replay's stop." in done.stderr


@pytest.mark.slow  # ~14 s
def test_an_env_the_script_registered_is_missing_and_import_is_named(tmp_path):
    """A replay in a new process lacks an env the training script registered with
    register_env; the error said only 'must be importable', not --import."""
    import os
    import subprocess
    import sys

    from ray.tune.registry import register_env

    register_env("walk_registered_by_the_script", lambda env_config: GlitchyWalk(env_config))
    config = _config("walk_registered_by_the_script", "nan", 0.3)
    _train(rldebug.trace(config, out=tmp_path, reproducible=True), until_event=True,
           crash="nan")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run([sys.executable, "-m", "rldebug", "reproduce", str(tmp_path),
                           "--event", "1"], capture_output=True, text=True, timeout=300,
                          env=env, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    said = " ".join(done.stderr.split())
    assert "walk_registered_by_the_script" in said and "--import FILE.py" in said


def test_any_recorded_episode_replays_with_its_recorded_actions(nan_obs_run):
    directory, _ = nan_obs_run
    records = read_episode_records(episode_files(run_trace_dir(directory)))
    complete = [r for r in records.values() if r["complete"] and not r["events"]]
    assert complete, "the ring keeps recent finished episodes"
    record = complete[-1]
    recorded = read_recorded(directory)
    iteration = recorded.episode_iterations[record["episode_id"]]
    results = [reproduce(directory, iteration=iteration, episode=record["episode_id"], step=5,
                         mode="log") for _ in range(2)]
    for result in results:
        result.close()
        assert result.reproduced and result.env_step == 5
        # The action of step 5 is the recorded one, not a fresh sample.
        assert int(result.action) == int(decode(record["actions"][4]))
    assert _same(results[0].obs, results[1].obs) and results[0].reward == results[1].reward


def test_a_nan_loss_is_reproduced_at_its_exact_minibatch(nan_loss_run, monkeypatch):
    import break_hooks

    directory, _ = nan_loss_run
    event = _event(directory, "total_loss")
    assert event.kind == "update" and event.reproducible and event.minibatch >= 1
    monkeypatch.setenv("PYTHONBREAKPOINT", "break_hooks.record")
    break_hooks.CALLS.clear()
    results = [reproduce(directory, event=event.number, mode="break") for _ in range(2)]
    for result in results:
        result.close()
        assert result.reproduced, result.summary()
        assert result.minibatch == event.minibatch and np.isnan(result.loss)
    # It stopped in the debugger's frame with the poisoned minibatch as a local.
    assert len(break_hooks.CALLS) == 2
    for name, frame_locals in break_hooks.CALLS:
        assert name == "stop_here"
        assert bool((frame_locals["batch"]["obs"][..., 1] == MARKER).any())


def test_multi_agent_nan_observation_in_a_remote_runner(tmp_path_factory):
    config = _two_policies(_config(GlitchyPair, "nan", 0.1, runners=1, envs=1))
    # The remote EnvRunner's process dies on the NaN; Ray reports the actor's death.
    directory, crash = _recorded(tmp_path_factory, "ma_nan", config,
                                 crash="The actor died unexpectedly")
    assert crash.startswith("ActorDiedError"), crash
    event = _event(directory, "obs")
    assert event.agent_id == "right" and event.record["runner_index"] == 1
    results = [reproduce(directory, event=event.number, mode="log") for _ in range(2)]
    for result in results:
        result.close()
        assert result.reproduced, result.summary()
        assert result.env_step == event.env_step and result.stop.agent_id == "right"
        assert np.isnan(result.obs).all()
        # whose values these are, and every agent's as the env returned them
        assert result.agent_id == "right" and result.module_id == "p_right"
        assert "agent 'right' (module 'p_right'): obs=" in result.summary()
        assert result.stop.module_id == "p_right"
        assert set(result.env_obs) == set(result.env_action) == {"left", "right"}
    assert results[0].reward == results[1].reward


def test_multi_agent_nan_loss_names_the_module(tmp_path_factory):
    config = _two_policies(_config(GlitchyPair, "marker", 0.1, envs=1)).learners(
        learner_class=MarkerPoisonsLoss)
    directory, _ = _recorded(tmp_path_factory, "ma_loss", config, until_event=True)
    event = _event(directory, "total_loss")
    assert event.module_id == "p_right"
    result = reproduce(directory, event=event.number, mode="log")
    result.close()
    assert result.reproduced, result.summary()
    assert result.module_id == "p_right" and result.minibatch == event.minibatch


def test_info_events_of_the_arena_are_recorded_and_reproduced(tmp_path):
    """The tutorial's info events (new fields; collisions are rare this early): the first
    few per agent, each replayable to its step."""
    from tiny import tiny_arena_config

    from rldebug.doctor.traces import read_trace_report

    traced = rldebug.trace(tiny_arena_config(), out=run_trace_dir(tmp_path), reproducible=True,
                           events=("collision", "new_field"), max_events=2)
    _train(traced, iterations=3)
    new_fields = [e for e in reproducible_events(tmp_path) if e.column == "info.new_field"]
    assert [e.agent_id for e in new_fields] == ["agent1", "agent1"]  # max_events=2
    event = new_fields[-1]
    assert "info event 'new_field'" in event.reason
    results = [reproduce(tmp_path, event=event.number, mode="log") for _ in range(2)]
    for result in results:
        result.close()
        assert result.reproduced, result.summary()
        assert result.info["new_field"] and result.stop.agent_id == event.agent_id
        assert result.env_step == event.env_step
    assert _same(results[0].obs, results[1].obs)
    # Info events are not faults: the doctor makes no finding of them.
    assert read_trace_report(tmp_path).findings == []


def test_a_continuous_action_episode_replays_its_recorded_actions(tmp_path):
    """SAC on Pendulum: Box actions, normalised by RLlib, replayed exactly."""
    from ray.rllib.utils.spaces.space_utils import unsquash_action
    from setups import sac_pendulum

    _train(rldebug.trace(sac_pendulum(), out=tmp_path, reproducible=True), iterations=2)
    recorded = read_recorded(tmp_path)
    record = max(recorded.episodes.values(), key=lambda r: r["time"])
    iteration = recorded.episode_iterations[record["episode_id"]]
    results = [reproduce(tmp_path, iteration=iteration, episode=record["episode_id"], step=10,
                         mode="log") for _ in range(2)]
    space = results[0].algorithm.env_runner.env.single_action_space
    for result in results:
        result.close()
        assert result.reproduced and result.env_step == 10
        env_action = unsquash_action(np.asarray(result.action), space)
        assert np.allclose(env_action, decode(record["actions"][9]), atol=1e-5)
        # what the env got is said beside the module's normalised action
        assert np.array_equal(result.env_action, decode(record["actions"][9]))
        assert f"the env received action={result.env_action!r}" in result.summary()
    assert _same(results[0].obs, results[1].obs) and results[0].reward == results[1].reward


def test_a_turn_based_episode_replays_each_agents_own_moves(tmp_path):
    """RLlib's TicTacToe: one agent acts per env step; each step's action dict holds it."""
    from setups import tic_tac_toe

    _train(rldebug.trace(tic_tac_toe(), out=tmp_path, reproducible=True), iterations=2)
    recorded = read_recorded(tmp_path)
    record = max((r for r in recorded.episodes.values() if r["env_steps"] >= 4),
                 key=lambda r: r["time"])
    iteration = recorded.episode_iterations[record["episode_id"]]
    moves = [decode(a) for a in record["actions"]]
    assert all(len(move) == 1 for move in moves)  # one mover per step
    results = [reproduce(tmp_path, iteration=iteration, episode=record["episode_id"], step=4,
                         mode="log") for _ in range(2)]
    for result in results:
        result.close()
        assert result.reproduced and result.env_step == 4
    assert _same(results[0].obs, results[1].obs) and results[0].reward == results[1].reward
    # The stop shows the player to move next; its board is the recorded moves, seen
    # from its side (its own stones +1, the other's -1): the replay made exactly those.
    viewer = results[0].stop.agent_id
    assert viewer not in moves[3]
    board = np.zeros(9, np.float32)
    for move in moves[:4]:
        ((player, cell),) = move.items()
        board[int(cell)] = 1.0 if player == viewer else -1.0
    assert np.array_equal(results[0].obs, board)


def test_a_dqn_nan_loss_is_reproduced_from_its_replay_batch(tmp_path):
    from replay_envs import MarkerPoisonsDQNLoss
    from setups import dqn_cartpole

    config = dqn_cartpole().environment(GlitchyWalk, env_config={"glitch": "marker",
                                                                 "rate": 0.3})
    config.learners(learner_class=MarkerPoisonsDQNLoss)
    traced = rldebug.trace(config, out=tmp_path, reproducible=True)
    _train(traced, until_event=True, iterations=40)
    event = _event(tmp_path, "total_loss")
    assert event.reproducible, event.why_not
    results = [reproduce(tmp_path, event=event.number, mode="log") for _ in range(2)]
    for result in results:
        result.close()
        assert result.reproduced, result.summary()
        assert np.isnan(result.loss) and result.minibatch == event.minibatch


def test_each_tune_trials_event_replays_with_the_trials_own_values(tmp_path):
    """A reproducible trace of a config with a Tune search space: each trial's trace is in
    <out>/<trial>, and its replay rebuilt the config as given to Tune, whose lr was
    {'grid_search': [...]}, which RLlib refuses ("Invalid `lr`")."""
    from ray import tune
    from replay_envs import NanInThirdEpisode

    from rldebug.inprocess.tune_trials import run_trials
    from rldebug.tracing.layout import trial_trace_dirs

    out = tmp_path / "trace"
    config = (PPOConfig().environment(NanInThirdEpisode)
              .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
              .training(lr=tune.grid_search([1e-3, 1e-4]), train_batch_size=100,
                        minibatch_size=50, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[8]))
              .debugging(seed=0))
    run_trials("PPO", rldebug.trace(config, out=out, reproducible=True),
               stop={"training_iteration": 2}, storage_path=str(tmp_path), name="grid")
    trials = trial_trace_dirs(out)
    assert len(trials) == 2
    with pytest.raises(ReproduceError, match=r"holds one trace per Tune trial \(2\): pass "
                                             r"the trial's folder"):
        reproduce(out, event=1)
    for trial, lr in zip(trials, (1e-3, 1e-4)):
        event = _event(trial, "obs")
        result = reproduce(trial, event=event.number, mode="log")
        result.close()
        assert result.reproduced and result.env_step == event.env_step == 17, result.summary()
        assert np.isnan(result.obs).all()
        assert load_config(trial)["config"].lr == lr


def test_the_recorded_state_is_bounded_but_keeps_event_iterations(tmp_path):
    config = _config(GlitchyWalk, "marker", 0.05).learners(learner_class=MarkerPoisonsLoss)
    _train(rldebug.trace(config, out=tmp_path, reproducible=True, keep=2), iterations=8)
    event = _event(tmp_path, "total_loss")
    assert 1 <= event.iteration <= 6, "the planted NaN loss came too late to test pruning"
    # The initial weights, the event's iteration and the one that sampled it, the last two.
    assert set(weights_files(tmp_path)) == {0, event.iteration - 1, event.iteration, 7, 8}
    rings = list((tmp_path / "replay" / "episodes").iterdir())
    assert rings and all(len(list(ring.iterdir())) <= 2 for ring in rings)


def test_bad_input_is_refused_with_the_reason(tmp_path, nan_obs_run):
    directory, _ = nan_obs_run
    plain = tmp_path / "plain"
    _train(rldebug.trace(_config(GlitchyWalk, "nan", 0.0), out=plain), iterations=1)
    with pytest.raises(ReproduceError, match="reproducible=True"):
        reproduce(plain, event=1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        reproduce(tmp_path / "nope", event=1)
    with pytest.raises(ReproduceError, match=r"numbered 1\.\."):
        reproduce(directory, event=99)
    with pytest.raises(ValueError, match="int >= 1"):
        reproduce(directory, event=0)
    with pytest.raises(ValueError, match="exactly one of"):
        reproduce(directory, event=1, iteration=1)
    with pytest.raises(ValueError, match="exactly one of"):
        reproduce(directory)
    with pytest.raises(ReproduceError, match="No episode of iteration 999"):
        reproduce(directory, iteration=999)
    with pytest.raises(ValueError, match="mode"):
        reproduce(directory, event=1, mode="loud")
    # a replay file cut short (a copy interrupted): named, not pickle's bare error
    damaged = tmp_path / "damaged"
    shutil.copytree(directory, damaged)
    (config_file,) = damaged.rglob("replay/config.pkl")
    config_file.write_bytes(config_file.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"config.pkl' of the trace cannot be unpickled "
                                         r"\(UnpicklingError.* truncated or damaged"):
        reproduce(damaged, event=1)
    with pytest.raises(ValueError, match="keep"):
        rldebug.trace(_config(GlitchyWalk, "nan", 0.0), reproducible=True, keep=0)
    old = _config(GlitchyWalk, "nan", 0.0).api_stack(
        enable_rl_module_and_learner=False, enable_env_runner_and_connector_v2=False)
    with pytest.raises(ValueError, match="old stack"):
        rldebug.trace(old, out=tmp_path / "old", reproducible=True)


def test_cli_lists_and_reproduces(nan_obs_run, capsys):
    directory, _ = nan_obs_run
    assert main(["reproduce", str(directory)]) == 0
    listing = capsys.readouterr().out
    assert "non-finite obs" in listing and "sample() crashed" in listing
    event = _event(directory, "obs")
    assert main(["reproduce", str(directory), "--event", str(event.number), "--json",
                 "--mode", "log"]) == 0
    said = capsys.readouterr().out
    # strict JSON: the NaN it reproduced is the string "nan" (NaN is no JSON: jq, JavaScript)
    outcome = json.loads(said, parse_constant=lambda name: pytest.fail(f"{name} in --json"))
    assert outcome["reproduced"] and outcome["env_step"] == event.env_step
    assert "nan" in [str(v) for v in outcome["obs"]], outcome["obs"]
    assert main(["reproduce", str(directory), "--event", "99"]) == 2
    assert "(--event 99): the trace has" in capsys.readouterr().err  # the flag the user gave
    assert main(["reproduce", str(directory), "--event", "0"]) == 2
    assert "(--event) must be an int >= 1, got 0" in capsys.readouterr().err
    assert main(["reproduce", str(directory), "--event", "1", "--iteration", "1"]) == 2
    assert "(--iteration I [--episode E --step S])" in capsys.readouterr().err


def test_a_real_debugger_stops_in_the_env_and_at_the_replayed_step(nan_obs_run, tmp_path):
    """``rldebug reproduce DIR --event N`` under debugpy, attached over DAP as VS Code does:
    a breakpoint on the env's line that makes the NaN is hit, then the replay's stop."""
    import os
    import sys

    import replay_envs
    from dap_client import DapClient, free_port, launch_under_debugpy, line_of

    directory, _ = nan_obs_run
    event = _event(directory, "obs")
    env_file = Path(replay_envs.__file__).resolve()
    nan_line = line_of(env_file, "obs[:] = np.nan")
    stop_file = (Path(rldebug.__file__).parent / "ide" / "_stop.py").resolve()
    stop_line = line_of(stop_file, "resumed = True  # break_on stopped here")
    port, log = free_port(), tmp_path / "debuggee.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(env_file.parent), *sys.path])}
    process = launch_under_debugpy("rldebug", port, log, ["reproduce", str(directory),
                                                          "--event", str(event.number)],
                                   env=env, module=True)
    stops = []
    try:
        client = DapClient(port)
        client.attach({str(env_file): [nan_line], str(stop_file): [stop_line]})

        def look(stop):
            where = (Path(stop.top["source"]["path"]).resolve(), stop.top["line"])
            frame = stop.top
            stops.append((where, client.evaluate(
                "self.t" if where[0] == env_file else "(event.env_step, repr(obs))", frame)))

        client.drive(look)
        returncode = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert returncode == 0, log.read_text()[-3000:]
    assert [where for where, _ in stops] == [(env_file, nan_line), (stop_file, stop_line)]
    assert int(stops[0][1]) == event.env_step  # the env's own step counter at the NaN
    assert str(event.env_step) in stops[1][1] and "nan" in stops[1][1]
    assert "Reproduced" in log.read_text()


# --- envs that carry state from one episode to the next -------------------------------------

def _episode_counter_run(tmp_path, env_class):
    config = PPOConfig().environment(env_class).training(
        train_batch_size=400, minibatch_size=100, num_epochs=1)
    with pytest.raises(RuntimeError, match="probability tensor"):
        rldebug.run(config, trace="batches", reproducible=True, logdir=tmp_path,
                    stop={"training_iteration": 2}, progress=False)
    return _event(tmp_path, "obs")


@pytest.mark.parametrize("counted_by", ["env", "its gym.Wrapper"])
def test_an_env_that_counts_its_episodes_replays_from_its_recorded_state(tmp_path, counted_by):
    """The NaN comes at step 17 of the env's third episode: the replay starts from the
    env as it was before that reset (two episodes played), not from a fresh one; also
    when a user's wrapper counts (its ``unwrapped`` env keeps nothing)."""
    event = _episode_counter_run(tmp_path, NanInThirdEpisode if counted_by == "env" else
                                 NanInThirdEpisodeWrapper)
    assert event.env_step == 17
    result = reproduce(tmp_path, event=event.number, mode="log")
    result.close()
    assert result.reproduced, result.summary()
    assert result.env_step == 17 and np.isnan(result.obs).all()
    assert result.info == {"episode": 3}  # the env's own count, as in training
    assert not any("freshly built env" in note for note in result.notes)


def _first_complete_record_of_one_iteration(tmp_path, env) -> dict:
    """Train PPO on ``env`` for one traced, reproducible iteration; its first finished
    episode's record."""
    config = PPOConfig().environment(env).training(
        train_batch_size=100, minibatch_size=50, num_epochs=1)
    rldebug.run(rldebug.trace(config, out=run_trace_dir(tmp_path), reproducible=True),
                logdir=tmp_path, stop={"training_iteration": 1}, progress=False).algo.stop()
    records = read_episode_records(episode_files(run_trace_dir(tmp_path)))
    return next(r for r in records.values() if r["complete"])


def test_a_replay_that_departs_from_the_recording_is_not_called_reproduced(tmp_path):
    """An env moved by np.random's global RNG: the replay's observations are not the
    recorded ones from step 1, which the step digests show (it said "Reproduced")."""
    record = _first_complete_record_of_one_iteration(tmp_path, GlobalRandomWalk)
    assert len(record["digests"]) == record["env_steps"] + 1  # the reset's and each step's
    result = reproduce(tmp_path, iteration=1, episode=record["episode_id"], step=5, mode="log")
    result.close()
    assert not result.reproduced
    assert "departs from the recording at env step 1" in result.summary()


def test_an_info_that_departs_while_the_observations_match_is_noted(tmp_path):
    """The step digests held the observation and reward only: an info built from state the
    trace cannot restore (a module global) differed from the reset on, unsaid (an audit's
    case said 'departs at env step 6' where its info had differed from step 0)."""
    from replay_envs import RunCounterInInfo

    record = _first_complete_record_of_one_iteration(tmp_path, RunCounterInInfo)
    result = reproduce(tmp_path, iteration=1, episode=record["episode_id"], step=3, mode="log")
    result.close()
    assert result.reproduced  # the observations and rewards are the recorded ones
    assert "the env's info differs from the recording's from env step 0, while its " \
        "observations and rewards match to the stop" in " ".join(result.summary().split())


def test_an_env_that_cannot_be_pickled_is_said_so_and_replays_from_fresh(tmp_path):
    event = _episode_counter_run(tmp_path, NanInThirdEpisodeWithALock)
    findings = {f.rule_id: f for f in rldebug.diagnose(tmp_path).findings}
    assert "cannot be pickled" in findings["env_not_picklable"].message
    assert "lock" in findings["env_not_picklable"].evidence["error"]
    (said,) = [e for e in reproducible_events(tmp_path) if e.column == "env_state"]
    assert said.reason.startswith("tracer: env_state: NanInThirdEpisodeWithALock cannot be "
                                  "pickled") and "a tracer record" in said.why_not  # no NaN
    result = reproduce(tmp_path, event=event.number, mode="log")
    result.close()
    assert not result.reproduced  # a fresh env is in its first episode: no NaN at 17
    assert result.info == {"episode": 1}
    assert any("ran from a freshly built env" in note for note in result.notes)


def test_a_curriculum_env_replays_at_the_level_it_was_set_to(tmp_path):
    """A callback raises the env's level after each iteration (RLlib's curriculum
    pattern); the NaN comes at level 3. The replay runs at level 3, not at level 1,
    where a fresh env starts."""
    config = (PPOConfig().environment(CurriculumCorridor).callbacks(RaiseTheLevel)
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1))
    with pytest.raises(RuntimeError, match="probability tensor"):
        rldebug.run(config, trace="batches", reproducible=True, logdir=tmp_path,
                    stop={"training_iteration": 4}, progress=False)
    event = _event(tmp_path, "obs")
    assert event.env_step == 7 and event.iteration == 3
    result = reproduce(tmp_path, event=event.number, mode="log")
    result.close()
    assert result.reproduced, result.summary()
    assert result.env_step == 7 and np.isnan(result.obs).all()
    assert result.info == {"level": 3}


def test_a_trace_whose_env_module_cannot_be_imported_says_what_to_add(tmp_path):
    """cloudpickle keeps an importable env class by reference: reproducing from another
    folder failed with a bare ModuleNotFoundError."""
    import subprocess
    import sys
    import textwrap

    project = tmp_path / "project"
    project.mkdir()
    (project / "my_envs.py").write_text("from gymnasium.envs.classic_control import "
                                        "CartPoleEnv\n\n\nclass MyCartPole(CartPoleEnv):\n"
                                        "    pass\n")
    script = textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(project)!r})
        from ray.rllib.algorithms.ppo import PPOConfig
        import rldebug
        from my_envs import MyCartPole
        rldebug.trace(PPOConfig().environment(MyCartPole), out={str(tmp_path / 'trace')!r},
                      reproducible=True)
        """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, cwd=tmp_path)
    elsewhere = subprocess.run(
        [sys.executable, "-c", ("from rldebug.tracing.replay_state import load_config; "
                                f"load_config({str(tmp_path / 'trace')!r})")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert "needs the module 'my_envs'" in elsewhere.stderr, elsewhere.stderr[-2000:]
    assert "add the folder of 'my_envs' to PYTHONPATH" in elsewhere.stderr


_SCRIPT = '''
import gymnasium as gym
import numpy as np
from ray.rllib.algorithms.ppo import PPOConfig

import rldebug


class Tank(gym.Env):
    """Defined in the training script: pickled into the trace by value."""

    observation_space = gym.spaces.Box(-10.0, 10.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        reward = float("nan") if self.t == 5 else 1.0
        return np.zeros(1, np.float32), reward, self.t >= 8, False, {"version": "recorded"}


if __name__ == "__main__":
    config = (PPOConfig().environment(Tank).env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=32, minibatch_size=16, num_epochs=1))
    rldebug.run(config, logdir=RUN, max_iterations=1, trace="batches", reproducible=True,
                progress=False)
'''


def test_a_class_the_training_script_defined_replays_as_its_current_code(tmp_path, capsys):
    """The trace pickles a class of the training script by value; a replay ran that copy
    even with the edited script given to --import (an audit's print in the env and in its
    Learner's loss never ran). With --import it runs the current code and says so; without,
    it says that edits are not used."""
    import subprocess
    import sys

    script = tmp_path / "tank_training_script.py"
    script.write_text(_SCRIPT.replace("RUN", repr(str(tmp_path / "run"))))
    subprocess.run([sys.executable, str(script)], check=True, cwd=tmp_path,
                   capture_output=True, timeout=300)
    event = next(e for e in reproducible_events(tmp_path / "run") if "rewards" in e.reason)
    script.write_text(script.read_text().replace('"version": "recorded"',
                                                 '"version": "edited"'))
    assert main(["reproduce", str(tmp_path / "run"), "--event", str(event.number),
                 "--mode", "log", "--import", str(script)]) == 0
    said = capsys.readouterr().out
    assert "'version': 'edited'" in said, said
    assert f"note: Tank: the current definition in {script}" in said
    alone = subprocess.run([sys.executable, "-m", "rldebug", "reproduce", str(tmp_path / "run"),
                            "--event", str(event.number), "--mode", "log"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300, check=False)
    assert alone.returncode == 0 and "'version': 'recorded'" in alone.stdout, alone.stdout
    assert "Tank (env) was defined in the training script and replays from the trace's copy of " \
        "that code: edits made since are not used" in " ".join(alone.stdout.split())


def test_a_crash_that_depends_on_a_mean_std_filters_statistics_reproduces(tmp_path):
    """RLlib's MeanStdFilter keeps running statistics across episodes; a user's check after
    it raised on a normalised reading of 4.6 in training, and the replay, from a fresh
    filter, saw 1.4 and did not crash ('NOT reproduced', with no reason: an audit's case).
    The trace keeps the pipelines' state at every reset; the replay restores it there."""
    from replay_envs import DriftInFourthEpisode, filter_then_guard

    config = (PPOConfig().environment(DriftInFourthEpisode)
              .env_runners(num_env_runners=0, rollout_fragment_length=60,
                           env_to_module_connector=filter_then_guard)
              .training(train_batch_size=60, minibatch_size=30, num_epochs=1)
              .debugging(seed=3))
    with pytest.raises(Exception, match="normalised observation out of range"):
        rldebug.run(config, logdir=tmp_path / "run", max_iterations=3, trace="batches",
                    reproducible=True, progress=False)
    (event,) = [e for e in reproducible_events(tmp_path / "run") if e.column == "sample"]
    recorded = float(event.reason.split("range: [")[1].split(",")[0])
    assert recorded > 4.5
    replay = reproduce(tmp_path / "run", event=event.number, mode="log")
    try:
        assert replay.reproduced, replay.summary()
        assert f"{recorded}" in replay.crash  # the same normalised reading, to the digit
        assert replay.env_step == event.env_step and replay.obs[0] > 4.0  # the raw ramp
    finally:
        replay.close()
