"""A small Debug Adapter Protocol client: what VS Code does when it attaches to debugpy.

Enough of the protocol to prove that a breakpoint is hit in a given process:
``initialize`` → ``attach`` (``connect`` to a debugpy server) → ``setBreakpoints``
→ ``configurationDone``, then wait for ``stopped`` events, read frames and
locals (``stackTrace``, ``scopes``, ``variables``, ``evaluate``) and
``continue``. The ``process`` event carries the debuggee's pid.

Messages are ``Content-Length: N\\r\\n\\r\\n`` + JSON; one reader thread sorts them
into responses (by ``request_seq``) and an event queue.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


class DapError(RuntimeError):
    """The adapter answered a request with success=false, or did not answer."""


@dataclass
class Stop:
    """One ``stopped`` event with its top frames."""

    thread_id: int
    reason: str
    frames: list[dict] = field(default_factory=list)

    @property
    def top(self) -> dict:
        return self.frames[0]

    def frame_named(self, name: str) -> dict | None:
        return next((f for f in self.frames if f["name"] == name), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connect(port: int, timeout: float) -> socket.socket:
    """Connect to 127.0.0.1:PORT, retrying until something listens there.

    No probe connection first: a debugpy adapter takes the first client that connects.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


class DapClient:
    """One DAP session over TCP with a debugpy adapter."""

    def __init__(self, port: int, connect_timeout: float = 60.0):
        self.sock = connect(port, connect_timeout)
        self.sock.settimeout(None)
        self._seq = 0
        self._lock = threading.Lock()
        self._responses: dict[int, queue.Queue] = {}
        self.events: queue.Queue = queue.Queue()
        self.all_events: list[dict] = []
        self.process_id: int | None = None
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # -- wire ------------------------------------------------------------------

    def _read_exactly(self, n: int, buffer: bytearray) -> bytes:
        while len(buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            buffer.extend(chunk)
        data = bytes(buffer[:n])
        del buffer[:n]
        return data

    def _read_loop(self) -> None:
        buffer = bytearray()
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise EOFError
                    buffer.extend(chunk)
                header, _, rest = bytes(buffer).partition(b"\r\n\r\n")
                buffer[:] = rest
                length = int(dict(
                    line.split(": ", 1) for line in header.decode().split("\r\n"))["Content-Length"])
                message = json.loads(self._read_exactly(length, buffer))
                self._dispatch(message)
        except (EOFError, OSError):
            self.closed.set()
            self.events.put({"type": "event", "event": "_closed"})

    def _dispatch(self, message: dict) -> None:
        if message["type"] == "response":
            self._responses.setdefault(message["request_seq"], queue.Queue()).put(message)
        elif message["type"] == "event":
            if message["event"] == "process":
                self.process_id = message["body"].get("systemProcessId")
            self.all_events.append(message)
            self.events.put(message)

    def send(self, command: str, **arguments) -> int:
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._responses.setdefault(seq, queue.Queue())
            body = json.dumps({"seq": seq, "type": "request", "command": command,
                               "arguments": arguments}).encode()
            self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return seq

    def response(self, seq: int, timeout: float = 60.0) -> dict:
        try:
            message = self._responses.setdefault(seq, queue.Queue()).get(timeout=timeout)
        except queue.Empty:
            raise DapError(f"no response to request {seq} within {timeout} s") from None
        if not message.get("success"):
            raise DapError(f"{message['command']} failed: {message.get('message')}")
        return message.get("body") or {}

    def request(self, command: str, timeout: float = 60.0, **arguments) -> dict:
        return self.response(self.send(command, **arguments), timeout)

    def wait_event(self, name: str, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {name!r} event within {timeout} s")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event["event"] == name:
                return event
            if event["event"] == "_closed":
                raise EOFError(f"connection closed while waiting for {name!r}")

    # -- session ---------------------------------------------------------------

    def attach(self, breakpoints: dict[str | Path, list[int]], **options) -> None:
        """The VS Code handshake for a debugpy server: attach, breakpoints, configurationDone."""
        self.request("initialize", clientID="rldebug-tests", adapterID="debugpy",
                     pathFormat="path", linesStartAt1=True, columnsStartAt1=True,
                     supportsVariableType=True, supportsRunInTerminalRequest=False)
        attach_seq = self.send("attach", justMyCode=False, subProcess=False,
                               connect={"host": "127.0.0.1"}, **options)
        self.wait_event("initialized", timeout=60)
        for path, lines in breakpoints.items():
            # a line, or (line, condition) for a conditional breakpoint
            body = self.request("setBreakpoints", source={"path": str(path)},
                                breakpoints=[{"line": line} if isinstance(line, int) else
                                             {"line": line[0], "condition": line[1]}
                                             for line in lines])
            if len(body.get("breakpoints", [])) != len(lines):
                raise DapError(f"setBreakpoints for {path} answered {body}")
        self.request("configurationDone")
        self.response(attach_seq)

    def next_stop(self, timeout: float = 120.0) -> Stop | None:
        """The next ``stopped`` event with its stack, or None if the debuggee ended."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no stop within {timeout} s")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event["event"] in ("terminated", "exited", "_closed"):
                return None
            if event["event"] == "stopped":
                thread_id = event["body"]["threadId"]
                frames = self.request("stackTrace", threadId=thread_id, startFrame=0,
                                      levels=30)["stackFrames"]
                return Stop(thread_id, event["body"].get("reason", ""), frames)

    def locals_of(self, frame: dict) -> dict[str, str]:
        """``{name: repr}`` of the frame's Locals scope."""
        scopes = self.request("scopes", frameId=frame["id"])["scopes"]
        scope = next(s for s in scopes if s["name"].lower().startswith("locals"))
        variables = self.request("variables", variablesReference=scope["variablesReference"])
        return {v["name"]: v["value"] for v in variables["variables"]}

    def evaluate(self, expression: str, frame: dict) -> str:
        return self.request("evaluate", expression=expression, frameId=frame["id"],
                            context="repl")["result"]

    def resume(self, stop: Stop) -> None:
        self.request("continue", threadId=stop.thread_id)

    def drive(self, on_stop, timeout: float = 240.0) -> None:
        """Until the debuggee ends: ``on_stop(stop)`` at every stop, then continue."""
        while (stop := self.next_stop(timeout=timeout)) is not None:
            on_stop(stop)
            self.resume(stop)

    def disconnect(self) -> None:
        with contextlib.suppress(DapError, OSError):
            self.request("disconnect", timeout=10, terminateDebuggee=False)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def launch_under_debugpy(script: Path | str, port: int, output: Path, args: list[str] = (),
                         env: dict | None = None, module: bool = False) -> subprocess.Popen:
    """``python -m debugpy --listen 127.0.0.1:PORT --wait-for-client [-m] SCRIPT ARGS``
    (``module``: SCRIPT is a module name, run as ``-m SCRIPT``).

    Output goes to the file ``output``, not a pipe: Ray's daemons inherit the
    debuggee's stdout and would keep a pipe open after the debuggee exits.
    """
    with open(output, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "debugpy", "--listen", f"127.0.0.1:{port}",
             "--wait-for-client", *(["-m"] if module else []), str(script), *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def line_of(path: Path | str, text: str, after: str | None = None) -> int:
    """1-based number of the first line containing ``text`` (after the line containing ``after``)."""
    lines = Path(path).read_text().splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line) + 1
    for i in range(start, len(lines)):
        if text in lines[i]:
            return i + 1
    raise ValueError(f"{text!r} not found in {path}")
