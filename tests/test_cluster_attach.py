"""attach_remote across nodes: VS Code reaches a remote EnvRunner on another node through
a port forward, and only through it.

The worker node runs in its own network and UTS namespaces (its own loopback and hostname,
``rldebug-worker-node``), joined to the head's network by a veth pair, as a second machine
on a LAN would be; the head has no CPUs, so the runner lands on the worker node. The
runner listens on its node's 127.0.0.1, which the driver's machine cannot reach; the
runner prints the ``ssh -N -L`` forward, and the test sets up the same forward with two
relays where ssh has its two ends (tests/port_forward.py; this machine has no sshd), then
attaches as VS Code does and stops at a breakpoint in the env's ``step`` on that node.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from dap_client import DapClient, line_of
from test_cluster import free_ports
from test_cluster_traces import _node_ports, _stop

TESTS = Path(__file__).parent
RAY = Path(sys.executable).parent / "ray"
WORKER_HOST = "rldebug-worker-node"
ENV_STEP = (TESTS / "event_envs.py",
            line_of(TESTS / "event_envs.py", "self.position += 1 if int(action) == 1 else -1"))

pytestmark = pytest.mark.slow  # ~90 s: a two-node Ray cluster of its own


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=False, capture_output=True, text=True)


class WorkerNetwork:
    """A network namespace (and hostname) for the worker node, wired to this one."""

    def __init__(self):
        suffix = f"{random.randrange(16 ** 4):04x}"
        self.subnet = f"10.231.{random.randrange(1, 250)}"
        self.head_ip, self.node_ip = f"{self.subnet}.1", f"{self.subnet}.2"
        self.host_side, self.node_side = f"rldh{suffix}", f"rldw{suffix}"
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--uts", "sh", "-c", f"hostname {WORKER_HOST} && exec sleep 3600"],
            start_new_session=True, stderr=subprocess.PIPE, text=True)

    def wire(self) -> str | None:
        """Connect the namespace; None, or why it could not be done here."""
        pid = str(self.holder.pid)
        ours = os.readlink("/proc/self/ns/net")
        for _ in range(50):
            if self.holder.poll() is not None:
                return f"unshare --net --uts failed: {self.holder.stderr.read().strip()[:200]}"
            if os.readlink(f"/proc/{pid}/ns/net") != ours:
                break
            time.sleep(0.1)
        steps = [
            ("ip", "link", "add", self.host_side, "type", "veth", "peer", "name", self.node_side),
            ("ip", "link", "set", self.node_side, "netns", pid),
            ("ip", "addr", "add", f"{self.head_ip}/24", "dev", self.host_side),
            ("ip", "link", "set", self.host_side, "up"),
            *[("nsenter", "-t", pid, "-n", *step) for step in (
                ("ip", "addr", "add", f"{self.node_ip}/24", "dev", self.node_side),
                ("ip", "link", "set", self.node_side, "up"),
                ("ip", "link", "set", "lo", "up"))]]
        for step in steps:
            done = _run(*step)
            if done.returncode != 0:
                return f"`{' '.join(step)}` failed: {done.stderr.strip()[:200]}"
        return None

    def inside(self, *command: str) -> list[str]:
        """``command`` run in the worker node's network and UTS namespaces."""
        return ["nsenter", "-t", str(self.holder.pid), "--net", "--uts", *command]

    def close(self) -> None:
        _run("ip", "link", "del", self.host_side)
        self.holder.kill()
        self.holder.wait()


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError:
        return True
    return False


def _lines(process: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _line_with(lines: queue.Queue, text: str, timeout: float, seen: list,
               start: bool = False) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            line = lines.get(timeout=max(deadline - time.time(), 0.1))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if line.startswith(text) if start else text in line:
            return line
    raise AssertionError(f"no line with {text!r} in {timeout} s:\n" + "".join(seen[-40:]))


def test_vscode_attaches_to_a_runner_on_another_node_through_the_printed_forward():
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "nsenter", "ip")):
        pytest.skip("needs root and unshare, nsenter and ip (util-linux, iproute2) for a "
                    "worker node with its own network")
    network = WorkerNetwork()
    processes: list[subprocess.Popen] = []
    try:
        why_not = network.wire()
        if why_not:
            pytest.skip(f"no network namespace for the worker node: {why_not}")
        gcs, client_port, port, node_end, ide_end = free_ports(5)
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0",
               "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent),
                                              os.environ.get("PYTHONPATH", "")])}
        env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)  # a real cluster: not loopback
        ray_temp = tempfile.mkdtemp(prefix="rldbg_", dir="/tmp")
        processes.append(subprocess.Popen(
            [str(RAY), "start", "--head", "--block", f"--port={gcs}",
             f"--node-ip-address={network.head_ip}", f"--temp-dir={ray_temp}", "--num-cpus=0",
             "--include-dashboard=false", f"--ray-client-server-port={client_port}",
             "--disable-usage-stats", *_node_ports()],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        time.sleep(3)
        processes.append(subprocess.Popen(
            network.inside(str(RAY), "start", f"--address={network.head_ip}:{gcs}", "--block",
                           f"--node-ip-address={network.node_ip}", "--num-cpus=4",
                           "--disable-usage-stats", *_node_ports()),
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        time.sleep(5)
        driver = subprocess.Popen(
            [sys.executable, "-u", str(TESTS / "cluster_attach_driver.py"),
             "--address", f"{network.head_ip}:{gcs}", "--port", str(port)],
            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        processes.append(driver)
        lines, seen = _lines(driver), []

        # The runner, on the worker node, says where it waits and how to forward its port.
        hint = _line_with(lines, "ssh -N -L", 180, seen)
        assert f"ssh -N -L {port}:127.0.0.1:{port} {WORKER_HOST}" in hint
        assert network.node_ip in hint
        # Its listener is on that node's loopback: not reachable from here, directly or
        # through the node's address.
        assert _refused("127.0.0.1", port) and _refused(network.node_ip, port)

        # The forward ssh would make: the node's end reaches its own 127.0.0.1.
        for relay in (network.inside(sys.executable, str(TESTS / "port_forward.py"),
                                     network.node_ip, str(node_end), "127.0.0.1", str(port)),
                      [sys.executable, str(TESTS / "port_forward.py"), "127.0.0.1",
                       str(ide_end), network.node_ip, str(node_end)]):
            processes.append(subprocess.Popen(relay, start_new_session=True,
                                              stdout=subprocess.DEVNULL))
        client = DapClient(ide_end, connect_timeout=60)
        client.attach({str(ENV_STEP[0]): [ENV_STEP[1]]})
        stop = client.next_stop(timeout=120)
        assert stop is not None and stop.top["line"] == ENV_STEP[1]
        stopped_in = {"pid": int(client.evaluate("__import__('os').getpid()", stop.top)),
                      "host": client.evaluate("__import__('socket').gethostname()", stop.top)}
        client.request("setBreakpoints", source={"path": str(ENV_STEP[0])}, breakpoints=[])
        client.resume(stop)
        client.disconnect()

        result = json.loads(_line_with(lines, "RESULT ", 240, seen, start=True)[len("RESULT "):])
        assert driver.wait(timeout=60) == 0, "".join(seen[-40:])
        assert result["runner_node"] != result["driver_node"]
        assert result["runner_host"] == WORKER_HOST
        assert stopped_in == {"pid": result["runner_pid"], "host": f"'{WORKER_HOST}'"}
        assert result["env_steps"] >= 100
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                _stop(process)
        network.close()
