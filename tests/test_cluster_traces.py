"""Traces and break records from a two-node Ray cluster whose nodes share no filesystem.

The head (no CPUs) and a worker node run on this machine; the worker node runs in its
own mount namespace with an empty tmpfs over the test's output folder, so a file a
remote EnvRunner wrote there would exist only on that node, as on a real cluster
without shared storage. The driver script (tests/cluster_trace_driver.py) trains with
two remote EnvRunners (one crashing), traced to a ``file://`` URI and watched by
``break_on``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_cluster import free_ports

from rldebug import load_trace

# ~65 s, most of it the two-node cluster's start. The same records travel through the
# driver on one node by default: test_trace_transport (a remote runner's records, a
# file:// URI), test_stalls (a runner with its own temp dir answers through the relay),
# test_break_on (a remote runner's events reach the driver).
pytestmark = pytest.mark.slow

TESTS = Path(__file__).parent
RAY = Path(sys.executable).parent / "ray"


def _can_unshare_mounts(folder: Path) -> str | None:
    """None if this process may give a child its own tmpfs over ``folder``, else why not."""
    if shutil.which("unshare") is None:
        return "the unshare tool is missing (util-linux)"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            f"mount -t tmpfs tmpfs {folder}"], check=False,
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot mount in a private mount namespace: {probe.stderr.strip()[:200]}"
    return None


def _node_ports() -> list[str]:
    node_manager, object_manager, runtime_env, agent_grpc, metrics, agent_http = free_ports(6)
    return [f"--node-manager-port={node_manager}", f"--object-manager-port={object_manager}",
            f"--runtime-env-agent-port={runtime_env}",
            f"--dashboard-agent-grpc-port={agent_grpc}", f"--metrics-export-port={metrics}",
            f"--dashboard-agent-listen-port={agent_http}"]


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    unshared = root / "out"  # the worker node sees its own empty tmpfs here
    unshared.mkdir()
    why_not = _can_unshare_mounts(unshared)
    if why_not:
        pytest.skip(f"no private filesystem for the worker node: {why_not}")
    gcs, client = free_ports(2)
    ray_temp = tempfile.mkdtemp(prefix="rldbg_", dir="/tmp")  # Ray's sockets need short paths
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent),
                                          os.environ.get("PYTHONPATH", "")])}
    head = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", f"--port={gcs}",
         "--node-ip-address=127.0.0.1", f"--temp-dir={ray_temp}", "--num-cpus=0",
         "--include-dashboard=false", f"--ray-client-server-port={client}",
         "--disable-usage-stats", *_node_ports()],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    worker = None
    try:
        time.sleep(3)
        start_worker = " ".join([str(RAY), "start", f"--address=127.0.0.1:{gcs}", "--block",
                                 "--node-ip-address=127.0.0.1", "--num-cpus=4",
                                 "--disable-usage-stats", *_node_ports()])
        worker = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             f"mount -t tmpfs tmpfs {unshared} && exec {start_worker}"],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        time.sleep(5)
        out_uri = f"file://{unshared / 'trace'}"
        run = subprocess.run(
            [sys.executable, str(TESTS / "cluster_trace_driver.py"),
             "--address", f"127.0.0.1:{gcs}", "--out", out_uri, "--look", str(unshared)],
            check=False, env=env, capture_output=True, text=True, timeout=420)
        assert run.returncode == 0, run.stderr[-4000:]
        line = next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))
        yield json.loads(line[len("RESULT "):]), out_uri, unshared / "trace"
    finally:
        for process in (worker, head):
            if process is not None:
                _stop(process)
        time.sleep(1)


def test_remote_runners_ran_on_the_node_that_cannot_see_the_trace(cluster_run):
    seen, _, _ = cluster_run
    assert seen["worker_node"] != seen["driver_node"]
    # Nothing was written on the worker node: its view of the output folder is empty.
    assert seen["files_seen_by_worker_node"] == []


def test_the_driver_alone_wrote_every_remote_record(cluster_run):
    seen, out_uri, local = cluster_run
    trace = load_trace(out_uri)  # read back through the file:// URI
    remote = trace.samples[trace.samples.runner == "remote"]
    # Runner 2 samples; runner 1's env crashes every 10 steps, before any sample() ends.
    assert set(remote.runner_index) == {2}
    assert seen["driver_pid"] not in set(remote.pid)
    # Every record RLlib counted arrived: the trace's env steps equal RLlib's.
    assert int(trace.samples.env_steps.sum()) == seen["env_steps_lifetime"]
    assert all(p.name.endswith(".jsonl") for p in local.iterdir())


def test_a_crashing_remote_runner_leaves_its_crash_and_restart(cluster_run):
    _, out_uri, _ = cluster_run
    events = load_trace(out_uri).events
    crashes = events[events["source"] == "env"]
    assert len(crashes) >= 2 and set(crashes["runner_index"]) == {1}
    assert crashes["message"].str.contains("Simulated env crash").all()
    restarts = events[(events["source"] == "driver")
                      & (events["column"] == "env_runner_restarted")]
    assert len(restarts) >= 1


def test_break_on_events_of_remote_runners_reach_the_driver(cluster_run):
    seen, out_uri, _ = cluster_run
    remote = [r for r in seen["break_records"] if r["pid"] != seen["driver_pid"]]
    assert remote and {r["kind"] for r in remote} == {"info_event"}
    assert seen["break_on_result"]["remote_events_lifetime"] >= len(remote)
    assert seen["break_on_result"]["remote_events"] <= \
        seen["break_on_result"]["remote_events_lifetime"]
    events = load_trace(out_uri).events
    assert (events["source"] == "break_on").sum() >= len(remote)
