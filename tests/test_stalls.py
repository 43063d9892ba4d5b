"""A stalled iteration: the trace's stall watch takes the stacks of the driver and of every
traced actor, and the doctor names the line a blocking env step waited at."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dap_client import line_of

import rldebug
from rldebug.tracing.stalls import format_own_stacks, waiting_at

ENVS = Path(__file__).parent / "event_envs.py"


def _config(env_config):
    from event_envs import WalkThatBlocks
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig().environment(WalkThatBlocks, env_config=env_config)
            .env_runners(num_env_runners=2, num_envs_per_env_runner=1,
                         rollout_fragment_length=50)
            .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
            .debugging(seed=0))


def _train(config, iterations):
    algo = config.build_algo()
    try:
        for _ in range(iterations):
            algo.train()
    finally:
        algo.stop()


def _stalls(trace_dir):
    return [json.loads(line) for path in sorted(Path(trace_dir).glob("events-*.jsonl"))
            for line in path.read_text().splitlines()
            if json.loads(line).get("column") == "stall"]


def test_a_blocking_env_step_is_named_with_its_line_from_a_runner_on_either_filesystem(
        tmp_path):
    """Both runners block 15 s at their 150th step: in the second iteration (100 steps
    each), far past 2x the first iteration's few seconds even on a loaded machine; the
    first iteration is the clean control (no stall written for it). Runner 1 shares the
    driver's temp dir and answers the signal; runner 2 writes its files under its own,
    which the driver does not read (as on another machine): its stack reaches the stall
    watch through the trace's relay. Each points at the blocking line."""
    run = tmp_path / "run"
    elsewhere = tmp_path / "other-machine-tmp"
    elsewhere.mkdir()
    config = rldebug.trace(_config({"block_at": 150, "block_s": 15.0, "block_runner": [1, 2],
                                    "own_tmpdir": str(elsewhere), "own_tmpdir_runners": [2]}),
                           out=run / "trace", level="summary", stall_factor=2.0,
                           stall_floor_s=5.0)
    _train(config, 2)
    stalls = _stalls(run / "trace")
    assert len(stalls) == 1, stalls  # one dump per stall
    stall = stalls[0]
    assert stall["iteration"] == 2 and stall["waited_s"] >= 5.0
    by_role = {s["role"]: s for s in stall["stacks"]}
    assert set(by_role) >= {"driver", "runner1", "runner2"}, by_role.keys()
    assert (by_role["driver"]["via"], by_role["runner1"]["via"], by_role["runner2"]["via"]) \
        == ("self", "signal", "relay")
    block_line = line_of(ENVS, "# BLOCK-LINE")
    for runner in ("runner1", "runner2"):
        assert by_role[runner]["waiting_at"] == f"{ENVS}:{block_line} in step", runner
        assert by_role[runner]["pid"] != by_role["driver"]["pid"]
    assert "waiting_at" not in by_role["driver"] or \
        "time.sleep" not in by_role["driver"]["waiting_at"]  # the driver waits elsewhere
    assert list(elsewhere.glob("rldebug-stacks-*/*-runner2.txt"))  # armed there, unread
    assert not list(elsewhere.glob("rldebug-stacks-*/*-runner1.txt"))

    from rldebug.doctor.traces import read_trace_report

    report = read_trace_report(run)
    found = [f for f in report.findings if f.rule_id == "stalled_iteration"]
    assert len(found) == 1 and f"event_envs.py:{block_line} in step" in found[0].fix
    assert found[0].began_at_iteration == 2


def test_stacks_answered_both_ways_keep_the_signals_unless_it_is_empty():
    from rldebug.tracing.stalls import merge_stacks

    signalled = [{"host": "a", "pid": 7, "via": "signal", "text": "T"},
                 {"host": "a", "pid": 8, "via": "signal", "text": ""}]
    answered = [{"host": "a", "pid": 7, "via": "relay", "text": "R"},
                {"host": "a", "pid": 8, "via": "relay", "text": "R8"},
                {"host": "b", "pid": 7, "via": "relay", "text": "B"}]
    merged = {(s["host"], s["pid"]): s["via"] for s in merge_stacks(signalled, answered)}
    assert merged == {("a", 7): "signal", ("a", 8): "relay", ("b", 7): "relay"}


def test_waiting_at_prefers_the_users_frame():
    import threading

    text = ('Thread 0x1 (most recent call first):\n'
            f'  File "{threading.__file__}", line 320 in wait\n'
            '  File "/home/me/my_env.py", line 42 in step\n'
            '  File "/x/site-packages/ray/rllib/env/single_agent_env_runner.py", line 9 in sample\n')
    assert waiting_at(text) == "/home/me/my_env.py:42 in step"
    library_only = text.replace("/home/me/my_env.py", "/x/site-packages/gymnasium/core.py")
    assert waiting_at(library_only) == "/x/site-packages/gymnasium/core.py:42 in step"
    own = format_own_stacks()
    assert waiting_at(own).startswith(__file__)  # this test's own frame is the user's


@pytest.mark.parametrize("kwargs, match", [
    ({"stall_factor": 1.0}, "stall_factor"), ({"stall_factor": "10"}, "stall_factor"),
    ({"stall_floor_s": 0}, "stall_floor_s"), ({"stall_floor_s": True}, "stall_floor_s")])
def test_bad_stall_settings_are_rejected(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        rldebug.trace(_config({}), out=tmp_path / "t", **kwargs)
