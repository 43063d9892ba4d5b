"""Ray started by rldebug listens on loopback only; plain ``ray.init()`` (the control) does not.

Each case runs in its own process (a fresh Ray, not the test session's) and lists
the listening sockets of that process and its descendants: Ray's GCS, raylet,
agents, the worker of a remote EnvRunner. Then it connects to every port through
each of this host's other addresses.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rldebug.inprocess.local import is_loopback

SCRIPT = Path(__file__).parent / "ray_listeners_script.py"


def listeners_of(mode: str, tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run([sys.executable, str(SCRIPT), mode, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_real_rldebug_run_listens_on_loopback_only(tmp_path):
    seen = listeners_of("rldebug", tmp_path)
    names = {name for _, name, _, _ in seen["listeners"]}
    assert {"gcs_server", "raylet"} <= names and len(seen["listeners"]) >= 4, seen
    exposed = [entry for entry in seen["listeners"] if not is_loopback(entry[2])]
    assert exposed == []
    if not seen["probes"]:
        pytest.skip("this host has no non-loopback address to connect through")
    assert [probe for probe in seen["probes"] if probe[2]] == []  # every connection refused


@pytest.mark.slow  # ~7 s: the control (plain Ray's exposure), not a claim about rldebug
def test_the_control_plain_ray_init_listens_beyond_loopback(tmp_path):
    seen = listeners_of("plain", tmp_path)
    if not seen["probes"]:
        pytest.skip("this host has no non-loopback address: nothing to be exposed on")
    assert [entry for entry in seen["listeners"] if not is_loopback(entry[2])]
    assert [probe for probe in seen["probes"] if probe[2]]  # reachable from elsewhere


def test_an_in_process_run_starts_no_ray_instance_at_all(tmp_path):
    seen = listeners_of("local", tmp_path)
    assert seen["ray_started"] is False
    assert seen["listeners"] == []  # no GCS, no raylet, no worker: nothing listens
