"""Proof by PyCharm's own protocol: ``attach_remote(..., client="pycharm")`` connects a real
remote EnvRunner to a debug server that speaks pydevd's wire protocol as PyCharm's "Python
Debug Server" does (tests/pycharm_server.py), and the stops PyCharm would show arrive with
their file, line and locals, from the runner's process."""

import importlib.util
import os
import threading
from pathlib import Path

import pytest
from dap_client import line_of
from pycharm_server import CMD_ADD_EXCEPTION_BREAK, CMD_SET_BREAK_REASON, PyCharmServer

# Looked up, not imported: importing pydevd replaces sys.breakpointhook for the rest of
# this test process (its debugger's hook), and the tests after this one call breakpoint().
if importlib.util.find_spec("pydevd_pycharm") is None:
    pytest.skip("make setup installs the [pycharm] extra (pydevd-pycharm)",
                allow_module_level=True)

ENVS = Path(__file__).parent / "event_envs.py"


def _walk_config(env, env_config):
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig().environment(env, env_config=env_config)
            .env_runners(num_env_runners=1, num_envs_per_env_runner=1,
                         rollout_fragment_length=50)
            .training(train_batch_size=100, minibatch_size=50, num_epochs=1)
            .debugging(seed=0))


def _session(server: PyCharmServer, step_line: int) -> dict:
    """PyCharm's side: set a line breakpoint in the env's step, run, and look at every stop
    until the post-mortem one (resuming each)."""
    seen = {"version": server.start([(str(ENVS), step_line)], timeout=180)}
    while True:
        stop = server.next_suspend(timeout=180)
        top = stop.top
        pid = int(server.evaluate(stop, top, "__import__('os').getpid()").split()[-1])
        if stop.reason == CMD_ADD_EXCEPTION_BREAK:
            seen["exception"] = {"where": (Path(top["file"]).name, top["line"], top["name"]),
                                 "steps_taken": server.evaluate(stop, top, "steps_taken"),
                                 "pid": pid}
            server.resume(stop)
            return seen
        if top["name"] == "stop_here" and "condition" not in seen:
            seen["condition"] = {
                "reason": stop.reason, "pid": pid,
                "event": server.evaluate(stop, top, "event.reason"),
                "agent_id": server.evaluate(stop, top, "agent_id"),
                "info": server.evaluate(stop, top, "info")}
        elif top["name"] == "step" and "breakpoint" not in seen:
            seen["breakpoint"] = {"reason": stop.reason, "pid": pid,
                                  "where": (Path(top["file"]).name, top["line"])}
            server.remove_breakpoint(str(ENVS), 1)  # hit once is enough
        server.resume(stop)


def test_pycharm_stops_at_a_breakpoint_a_condition_and_the_crash_of_a_remote_runner():
    """The runner trains until its walker reaches an edge (info event ``at_edge``): only then
    does it connect to PyCharm; PyCharm's line breakpoint in the env's step is hit in that
    process, the condition stops in stop_here with the step's locals, and at the 40th step
    the env raises and PyCharm stops at the raising line (post-mortem)."""
    import ray
    from event_envs import WalkThatCrashes

    from rldebug.ide import attach_remote

    server = PyCharmServer()
    step_line = line_of(ENVS, "steps_taken = self.total_steps")
    config = attach_remote(_walk_config(WalkThatCrashes, {"crash_at": 40}), runner_index=1,
                           port=server.port, when={"events": "at_edge"}, post_mortem=True,
                           timeout_s=180, client="pycharm")
    config.fault_tolerance(restart_failed_env_runners=False)
    found, failed = {}, []

    def pycharm():
        try:
            found.update(_session(server, step_line))
        except Exception as err:  # noqa: BLE001 - reported by the assertions below
            failed.append(err)

    algo = config.build_algo()  # does not block: nothing has happened yet
    try:
        runner_pid = algo.env_runner_group.foreach_env_runner(
            lambda runner: os.getpid(), local_env_runner=False)[0]
        thread = threading.Thread(target=pycharm, daemon=True)
        thread.start()
        with pytest.raises(Exception) as raised:
            algo.train()
        thread.join(timeout=120)
    finally:
        algo.stop()
        server.close()
    assert not failed, failed
    assert found["version"]  # pydevd answered the handshake
    condition = found["condition"]
    assert condition["reason"] == CMD_SET_BREAK_REASON and condition["pid"] == runner_pid
    assert runner_pid != os.getpid()
    assert "info event 'at_edge'" in condition["event"]
    assert condition["agent_id"] == "default_agent" and "'at_edge'" in condition["info"]
    breakpoint_ = found["breakpoint"]
    assert breakpoint_["where"] == ("event_envs.py", step_line)
    assert breakpoint_["reason"] == CMD_SET_BREAK_REASON and breakpoint_["pid"] == runner_pid
    crash_line = line_of(ENVS, "# CRASH-LINE")
    assert found["exception"]["where"] == ("event_envs.py", crash_line, "step"), found
    assert found["exception"]["steps_taken"].split()[-1] == "40"
    assert found["exception"]["pid"] == runner_pid
    # then RLlib handles the error as without attach_remote
    assert isinstance(raised.value, (ray.exceptions.ActorDiedError, ray.exceptions.RayTaskError))


def test_pycharm_mode_is_refused_with_what_to_do():
    from tiny import tiny_arena_config

    from rldebug.ide import attach_remote

    config = tiny_arena_config(num_env_runners=1)
    with pytest.raises(ValueError, match=r"client=\.\.\.\) must be one of \('vscode', 'pycharm'\)"):
        attach_remote(config, client="emacs")
    with pytest.raises(ValueError, match="ide_host=.*client='pycharm'"):
        attach_remote(config, ide_host="10.0.0.5")  # VS Code attaches to the actor instead
    with pytest.raises(ValueError, match="ide_host=.*must be a host name"):
        attach_remote(config, client="pycharm", ide_host="")


@pytest.mark.slow  # ~15 s, the handshake's bound waited out (as the start-mode timeout below)
def test_a_listener_that_is_not_pycharms_debug_server_does_not_hold_the_runner(capfd):
    """Something else listening on the port (a silent TCP server): pydevd connects, then
    waits for PyCharm's "run" command with no bound; the runner hung there for ever,
    whatever timeout_s said."""
    import socket

    from event_envs import LeftRightWalk

    from rldebug.ide import attach_remote

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        config = attach_remote(_walk_config(LeftRightWalk, {}), runner_index=1, port=port,
                               client="pycharm", timeout_s=3)
        algo = config.build_algo()  # the runner connects, waits 3 s for an answer, goes on
        try:
            result = algo.train()
        finally:
            algo.stop()
    assert result["env_runners"]["num_env_steps_sampled"] >= 100
    said = "".join(capfd.readouterr())
    assert "did not answer as PyCharm's debug server does" in said, said


SILENT_THEN_PYCHARM = """
import socket
import sys
import threading

sys.path.insert(0, sys.argv[1])
from pycharm_server import PyCharmServer

from rldebug.ide._listen import Endpoint, _connect_to_pycharm

silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen()
port = silent.getsockname()[1]
print("SILENT", _connect_to_pycharm(Endpoint(client="pycharm", port=port, timeout_s=1),
                                    "EnvRunner 1", "a test"), flush=True)
server = PyCharmServer()
threading.Thread(target=server.start, args=([], 60), daemon=True).start()
print("PYCHARM", _connect_to_pycharm(Endpoint(client="pycharm", port=server.port,
                                              timeout_s=60), "EnvRunner 1", "a test"),
      flush=True)
"""


@pytest.mark.slow  # ~15 s: a subprocess that waits out the 5 s handshake
def test_after_a_listener_that_is_not_pycharm_the_process_still_reaches_pycharm(tmp_path):
    """pydevd's stoptrace leaves its module 'connected' with no debugger: the next settrace
    in the process raised AttributeError ('NoneType' ... set_trace_for_frame_and_parents).
    The silent listener, reached on a 1 s timeout, still gets the handshake's 5 s."""
    import subprocess
    import sys
    import time

    script = tmp_path / "silent_then_pycharm.py"
    script.write_text(SILENT_THEN_PYCHARM)
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script), str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=120, check=False)
    took = time.monotonic() - started
    out = done.stdout + done.stderr
    assert "SILENT False" in out and "did not answer as PyCharm's debug server" in out, out
    assert "PYCHARM True" in out and "is connected to PyCharm's debug server" in out, out
    assert took >= 5, took  # HANDSHAKE_MIN_S, not the 1 s left of the timeout


PYCHARM_DEBUGS_A_DRIVER = """
import sys
import pydevd_pycharm

pydevd_pycharm.settrace("127.0.0.1", port=int(sys.argv[1]), suspend=False)
import rldebug
rldebug.start_ray(num_cpus=1)  # ray.init: PYTHONBREAKPOINT is now Ray's driver hook
from rldebug.ide import break_here

event = break_here("a doctor error, say", mode="break")
print("STOPPED", event.stopped)
"""


def test_pycharms_debugger_stops_a_driver_where_ray_replaced_the_breakpoint_hook(tmp_path):
    """A script run in PyCharm's debugger that started Ray: break_on's stop went to pdb (or
    to Ray's hook, which waits for Ray's own debugger), not to PyCharm."""
    import subprocess
    import sys

    server = PyCharmServer()
    script = tmp_path / "driver.py"
    script.write_text(PYCHARM_DEBUGS_A_DRIVER)
    child = subprocess.Popen([sys.executable, str(script), str(server.port)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        server.start([], timeout=120)
        stop = server.next_suspend(timeout=120)
        reason = server.evaluate(stop, stop.top, "event.reason")
        server.resume(stop)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
        server.close()
    assert stop.top["name"] == "stop_here" and "a doctor error, say" in reason, stop.frames
    assert "STOPPED True" in out, err[-2000:]
