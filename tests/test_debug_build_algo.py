"""``rldebug debug`` on a script that builds its Algorithms itself, without Tune: the
script sees what it sees plain (tests/debug_scripts/build_algo_semantics.py prints it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_debug_tune_semantics import _run, _seen

SCRIPT = Path(__file__).parent / "debug_scripts" / "build_algo_semantics.py"


def _debugged(tmp_path) -> subprocess.CompletedProcess:
    return _run(["-m", "rldebug", "debug", str(SCRIPT), str(tmp_path / "debugged")])


@pytest.mark.slow  # the plain run starts Ray and remote actors; the test below asserts its values
def test_a_build_algo_script_sees_under_rldebug_debug_what_it_sees_plain(tmp_path):
    # plain, the script's Algorithms start a Ray instance of their own
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",
                                                            "RLDEBUG_RAY_ADDRESS")}
    plain = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "plain")], env=env,
                           capture_output=True, text=True, timeout=600, check=False)
    assert _seen(_debugged(tmp_path)) == _seen(plain)


def test_a_build_algo_script_under_rldebug_debug_sees_what_ray_and_rllib_do(tmp_path):
    # the values plain RLlib and Ray 2.60 give (the slow test above checks that both
    # agree), so that the two cannot agree by both doing nothing
    debugged = _debugged(tmp_path)
    ours = _seen(debugged)
    assert ours["partial_callbacks"] == "partial"  # issubclass() refused the partial
    # the script's own ray.put gives an ObjectRef (it was the value itself) that
    # ray.wait and a remote task take
    assert ours["own_put"] == "ObjectRef" and ours["own_wait"] == 1
    assert ours["own_remote_and_get"][0] == ours["own_remote_and_get"][1] > 0
    # a checkpoint keeps the script's EnvRunner and callbacks (it kept 0 and the env check)
    assert ours["new_stack_checkpoint"] == [1, "Tagged"]
    assert ours["old_stack_checkpoint"] == [1, "RLlibCallback"]
    assert ours["tune_checkpoint"] == [1, "RLlibCallback"]  # a Tune trial's too
    assert ours["eval_refused"].startswith("`evaluation_parallel_to_training` can only be")
    assert ours["init_twice"].startswith("Maybe you called ray.init twice")
    assert ours["init_twice_ignored"] == "RayContext"
    err = debugged.stderr
    assert err.count("remote EnvRunners would have been restarted") == 1, err[-3000:]
