"""The scaling recipe on a real Ray head started here: both remote EnvRunners reach the trace."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from rldebug import load_trace

RECIPE = Path(__file__).parent.parent / "recipes" / "scaling.py"
RAY = Path(sys.executable).parent / "ray"


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow  # ~60 s: a Ray head of its own (tests/test_cluster_traces.py runs a two-node cluster)
def test_scaling_recipe_on_a_ray_head(tmp_path):
    gcs, node_manager, object_manager, client, runtime_env, agent_grpc, metrics = free_ports(7)
    # Ray's unix sockets need a short path: keep the head's temp dir under /tmp.
    ray_temp = tempfile.mkdtemp(prefix="rldbg_", dir="/tmp")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", f"--port={gcs}",
         "--node-ip-address=127.0.0.1", f"--temp-dir={ray_temp}", "--num-cpus=4",
         "--include-dashboard=false", f"--node-manager-port={node_manager}",
         f"--object-manager-port={object_manager}", f"--ray-client-server-port={client}",
         f"--runtime-env-agent-port={runtime_env}",
         f"--dashboard-agent-grpc-port={agent_grpc}", f"--metrics-export-port={metrics}",
         "--disable-usage-stats"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        out = subprocess.run(
            [sys.executable, str(RECIPE), "--smoke", "--runners", "2",
             "--address", f"127.0.0.1:{gcs}", "--logdir", str(tmp_path)],
            env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        samples = load_trace(tmp_path / "trace").samples
        remote = samples[samples.runner == "remote"]
        assert sorted(remote.runner_index.unique()) == [1, 2]
        assert remote.pid.nunique() == 2
        # The runners ran in the head's worker processes, not in the recipe's driver.
        driver_pid = pd.read_json(next((tmp_path / "trace").glob("iterations-*.jsonl")),
                                  lines=True).pid.iloc[0]
        assert driver_pid not in set(remote.pid)
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # only the head this test started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        time.sleep(1)
