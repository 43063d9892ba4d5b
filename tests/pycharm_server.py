"""PyCharm's side of pydevd's wire protocol: what its "Python Debug Server" does when a
process calls ``pydevd_pycharm.settrace(host, port)``.

The IDE listens; the debugged process connects. Every message is one line,
``<command id>\\t<sequence number>\\t<text>\\n``: the IDE sends its text as it is, pydevd
sends its text URL-quoted. A session, as PyCharm runs it: the version handshake
(``CMD_VERSION``, breakpoints by id), line breakpoints (``CMD_SET_BREAK``), then
``CMD_RUN``; pydevd reports a stop with ``CMD_THREAD_SUSPEND`` (an XML thread with its
frames: id, function, file, line), the IDE evaluates expressions in a frame
(``CMD_EVALUATE_EXPRESSION``) and resumes the thread (``CMD_THREAD_RUN``). Command ids
from pydevd's ``_pydevd_bundle/pydevd_comm_constants.py``.
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

CMD_RUN = 101
CMD_THREAD_SUSPEND = 105
CMD_THREAD_RUN = 106
CMD_SET_BREAK = 111
CMD_REMOVE_BREAK = 112
CMD_EVALUATE_EXPRESSION = 113
CMD_SET_BREAK_REASON = 111  # a line breakpoint (or settrace(suspend=True)) stopped it
CMD_ADD_EXCEPTION_BREAK = 122  # an exception stopped it (post-mortem)
CMD_VERSION = 501


@dataclass
class Suspend:
    """A ``CMD_THREAD_SUSPEND``: which thread stopped, why, and its frames (innermost first)."""

    thread_id: str
    reason: int
    frames: list[dict]  # {"id", "name", "file", "line"}

    @property
    def top(self) -> dict:
        return self.frames[0]

    def frame_named(self, name: str) -> dict:
        return next(f for f in self.frames if f["name"] == name)


class PyCharmServer:
    """A listening debug server on 127.0.0.1 and, once a process connected, its session."""

    def __init__(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self._conn: socket.socket | None = None
        self._buffer = b""
        self._seq = -1
        self._breakpoint_ids = 0
        self.received: list[tuple[int, str]] = []

    def close(self) -> None:
        for sock in (self._conn, self._listener):
            if sock is not None:
                sock.close()

    # -- the wire ------------------------------------------------------------------------

    def accept(self, timeout: float) -> None:
        self._listener.settimeout(timeout)
        self._conn, _ = self._listener.accept()

    def send(self, command: int, text: str = "") -> int:
        self._seq += 2  # the IDE numbers its requests odd
        self._conn.sendall(f"{command}\t{self._seq}\t{text}\n".encode())
        return self._seq

    def read(self, timeout: float) -> tuple[int, int, str]:
        """The next message: (command id, sequence number, unquoted text)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no message from pydevd within {timeout} s")
            self._conn.settimeout(remaining)
            chunk = self._conn.recv(65536)
            if not chunk:
                raise ConnectionError("pydevd closed the connection")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        command, seq, text = line.decode().split("\t", 2)
        self.received.append((int(command), text))
        return int(command), int(seq), unquote(text)

    def wait_for(self, command: int, timeout: float, seq: int | None = None) -> str:
        """The text of the next message ``command`` (answering ``seq``), skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            got, got_seq, text = self.read(max(deadline - time.monotonic(), 0.01))
            if got == command and (seq is None or got_seq == seq):
                return text

    # -- a session, as PyCharm runs it -----------------------------------------------------

    def start(self, breakpoints: list[tuple[str, int]], timeout: float) -> str:
        """Accept the process, shake hands, set ``breakpoints``, let it run; pydevd's version."""
        self.accept(timeout)
        version = self.wait_for(CMD_VERSION, timeout,
                                self.send(CMD_VERSION, "1.1\tUNIX\tID"))
        for path, line in breakpoints:
            self.set_breakpoint(path, line)
        self.send(CMD_RUN)
        return version

    def set_breakpoint(self, path: str, line: int) -> int:
        self._breakpoint_ids += 1
        # id, type, file, line, function (None: any), condition, expression, hit condition,
        # is logpoint, suspend policy
        self.send(CMD_SET_BREAK, "\t".join([str(self._breakpoint_ids), "python-line",
                                            str(path), str(line), "None", "None", "None",
                                            "None", "False", "NONE"]))
        return self._breakpoint_ids

    def remove_breakpoint(self, path: str, breakpoint_id: int) -> None:
        self.send(CMD_REMOVE_BREAK, f"python-line\t{path}\t{breakpoint_id}")

    def next_suspend(self, timeout: float) -> Suspend:
        thread = ET.fromstring(self.wait_for(CMD_THREAD_SUSPEND, timeout)).find("thread")
        frames = [{"id": f.get("id"), "name": f.get("name"), "file": unquote_plus(f.get("file")),
                   "line": int(f.get("line"))} for f in thread.iter("frame")]
        return Suspend(thread.get("id"), int(thread.get("stop_reason")), frames)

    def evaluate(self, suspend: Suspend, frame: dict, expression: str,
                 timeout: float = 60) -> str:
        """``expression``'s value in ``frame`` of the stopped thread, as PyCharm shows it."""
        seq = self.send(CMD_EVALUATE_EXPRESSION,
                        f"{suspend.thread_id}\t{frame['id']}\tFRAME\t{expression}\t1")
        var = ET.fromstring(self.wait_for(CMD_EVALUATE_EXPRESSION, timeout, seq)).find("var")
        return unquote_plus(var.get("value"))

    def resume(self, suspend: Suspend) -> None:
        self.send(CMD_THREAD_RUN, suspend.thread_id)
