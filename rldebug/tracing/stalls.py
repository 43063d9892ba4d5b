"""Stalls: when an iteration runs far longer than the ones before it, the Python stacks of
the driver and of every traced actor on this machine go into the trace.

A hung ``train()`` gives the user nothing to read: the driver waits in ``ray.get`` while
one EnvRunner sits in a blocking env step or a Learner in a lock. The stall watch is a
thread in the process that runs the Algorithm. When the current iteration has run longer
than ``max(floor_s, factor x the median of the recent iterations)`` (the first one:
``factor x floor_s``, for its warm-up) it

- formats every thread of its own process (``sys._current_frames``);
- asks every traced EnvRunner and Learner for theirs, two ways:

  - on this machine, by signal: each armed :mod:`faulthandler` on ``SIGUSR1`` when the
    trace started in it (C-level, so it answers even while its main thread holds the
    GIL in a call), writing to a file of its own
    (:func:`rldebug.tracing.layout.stack_dump_file`); only processes that armed are
    signalled;
  - on any node, through the trace's relay (:mod:`rldebug.relay`, no shared filesystem):
    each remote process runs a :class:`StackAnswerer` thread that polls the relay once a
    second (one small Ray call) and, when the watch asks, sends ``sys._current_frames()``
    formatted the same way. It answers while the main thread waits in Python or in a call
    that releases the GIL (a sleep, a socket, a lock), not while C code holds the GIL;
- writes one ``stall`` event with every stack (``via`` ``"self"``, ``"signal"`` or
  ``"relay"``, and the ``host``) and the line each process was waiting at (the innermost frame of the user's
  code, else of RLlib) to the trace, and says so on the console. The doctor reports it.

One dump per stall; none while a debugger is attached to the driver (a breakpoint is not a
hang).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import statistics
import sys
import sysconfig
import threading
import time
import traceback
from collections import deque
from pathlib import Path

from rldebug.tracing.layout import stack_dump_file, stack_dump_files

logger = logging.getLogger("rldebug.trace")

RECENT = 10  # iterations whose median sets the pace
ANSWER_WAIT_S = 1.0  # how long the watch waits for the actors' stacks (by signal)
POLL_S = 1.0  # how often a remote process asks the relay whether stacks are wanted
RELAY_WAIT_S = 2.5 * POLL_S  # how long the watch waits for the answers through the relay
_armed: list = []  # [token, the open stack file] of this process: one signal, one file


def arm(token: str, role: str) -> None:
    """Let the stall watch of trace ``token`` ask this process for its stacks: by signal
    (where the OS has ``SIGUSR1``) and, in a process that is not the trace's home, through
    the relay. A process answers one trace: arming for a newer one replaces the older
    (tests and notebooks build one traced Algorithm after another in one process)."""
    if _armed and _armed[0] == token:
        return
    handle = _arm_signal(token, role)
    if _armed and _armed[1] is not None:
        if handle is None:  # the signal still points at the older trace's file
            import faulthandler

            faulthandler.unregister(signal.SIGUSR1)
        with contextlib.suppress(OSError):
            _armed[1].close()
    _armed[:] = [token, handle]
    from rldebug import relay

    if not relay.is_home(token) and relay.ray_running():
        StackAnswerer(token, role).start()


def _arm_signal(token: str, role: str):
    """Register faulthandler on ``SIGUSR1``, writing to this process's stack file; the open
    file, or None where that cannot be done."""
    if not hasattr(signal, "SIGUSR1"):
        return None
    import faulthandler

    path = stack_dump_file(token, os.getpid(), role)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")  # noqa: SIM115 - faulthandler writes to it until replaced
        faulthandler.register(signal.SIGUSR1, file=handle, all_threads=True, chain=False)
    except (OSError, RuntimeError, ValueError) as err:  # not the main thread, no tmp
        logger.debug("rldebug trace: stall stacks not armed in pid %s: %s", os.getpid(), err)
        return None
    return handle


def _host() -> str:
    """This machine's name: a pid names one process on one machine."""
    import socket

    return socket.gethostname()


class StackAnswerer(threading.Thread):
    """In a remote process: answers the stall watch's requests for this process's stacks
    through the relay of trace ``token`` (see the module's docstring), until the process
    is armed for another trace."""

    def __init__(self, token: str, role: str, poll_s: float = POLL_S):
        super().__init__(name="rldebug-stack-answerer", daemon=True)
        self.token, self.role, self.poll_s = token, role, poll_s

    def run(self) -> None:
        from rldebug import relay

        seen = None
        while _armed and _armed[0] == self.token and not relay.is_home(self.token):
            time.sleep(self.poll_s)
            asked = relay.stack_requests(self.token, timeout_s=2 * self.poll_s)
            if asked is None:
                continue  # the home has not announced its relay yet, or it is gone
            if seen is not None and asked > seen:
                text = format_own_stacks(skip=threading.get_ident())
                relay.answer_stacks(self.token, {
                    "pid": os.getpid(), "role": self.role, "host": _host(),
                    "via": "relay", "text": text, **_where(text)})
            seen = asked


def disarm_all(token: str) -> None:
    """Forget trace ``token``'s stack files on this machine (its Algorithm stopped)."""
    import shutil

    for path in stack_dump_files(token)[:1]:
        shutil.rmtree(path.parent, ignore_errors=True)


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>.+)$')
_LIBRARY_ROOTS = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                        sysconfig.get_paths()["platlib"]})
_OWN_ROOT = str(Path(__file__).resolve().parents[1])


def _kind_of(path: str) -> str:
    if path.startswith(_OWN_ROOT):
        return "rldebug"
    if "site-packages" in path or path.startswith(_LIBRARY_ROOTS) or path.startswith("<"):
        return "library"
    return "user"


def _waiting_frame(stack_text: str):
    """The frame a process waited in and its kind ("user" or "library"), or None."""
    threads, current = [], []
    for line in stack_text.splitlines():
        match = _FRAME.match(line)
        if match:
            current.append(match)
        elif current:
            threads.append(current)
            current = []
    if current:
        threads.append(current)
    for frames in threads:
        for match in frames:
            if _kind_of(match["file"]) == "user":
                return match, "user"
    for frames in threads:
        for match in frames:
            if _kind_of(match["file"]) == "library" and "threading.py" not in match["file"]:
                return match, "library"
    return None


def waiting_at(stack_text: str) -> str | None:
    """Where a process waited: the innermost frame of user code in any thread (faulthandler
    and :func:`format_own_stacks` list the innermost frame first), else the innermost
    library frame of the first thread, as ``file:line in func``."""
    found = _waiting_frame(stack_text)
    if found is None:
        return None
    match, _ = found
    return f"{match['file']}:{match['line']} in {match['func']}"


def _where(stack_text: str) -> dict:
    """A stack entry's ``waiting_at`` and whether that line is the user's own code."""
    found = _waiting_frame(stack_text)
    return {"waiting_at": waiting_at(stack_text),
            "in_user_code": found is not None and found[1] == "user"}


def format_own_stacks(skip: int | None = None) -> str:
    """This process's threads, innermost frame first, in faulthandler's format."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    blocks = []
    main = threading.main_thread().ident
    frames = sys._current_frames()
    for ident in sorted(frames, key=lambda i: i != main):
        if ident == skip:
            continue
        lines = [f"Thread {ident:#x} ({names.get(ident, '?')}, most recent call first):"]
        for summary in reversed(traceback.extract_stack(frames[ident])):
            lines.append(f'  File "{summary.filename}", line {summary.lineno} in {summary.name}')
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def collect_actor_stacks(token: str, wait_s: float = ANSWER_WAIT_S) -> list[dict]:
    """Signal every armed process of trace ``token`` on this machine (but this one) and read
    the stacks each wrote."""
    asked = []
    for path in stack_dump_files(token):
        pid_text, _, role = path.stem.partition("-")
        pid = int(pid_text)
        if pid == os.getpid() or not _alive(pid):
            continue
        start = path.stat().st_size
        try:
            os.kill(pid, signal.SIGUSR1)
        except OSError as err:
            asked.append({"pid": pid, "role": role, "text": "", "error": str(err)})
            continue
        asked.append({"pid": pid, "role": role, "path": path, "start": start})
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and any(
            "path" in a and a["path"].stat().st_size == a["start"] for a in asked):
        time.sleep(0.05)
    time.sleep(0.1)  # let the last writes of all threads land
    stacks = []
    for entry in asked:
        path = entry.pop("path", None)
        start = entry.pop("start", 0)
        if path is not None:
            with open(path, errors="replace") as handle:
                handle.seek(start)
                entry["text"] = handle.read()
            if not entry["text"]:
                entry["error"] = "no answer within the wait (the process may be stuck in C code)"
        entry.update(_where(entry["text"]))
        stacks.append(entry)
    return stacks


class StallWatch(threading.Thread):
    """Dumps every stack once per stall into the trace (see the module's docstring)."""

    def __init__(self, token: str, write, factor: float, floor_s: float,
                 poll_s: float = 0.5):
        super().__init__(name="rldebug-stall-watch", daemon=True)
        self.token, self.write = token, write
        self.factor, self.floor_s, self.poll_s = factor, floor_s, poll_s
        self.durations: deque[float] = deque(maxlen=RECENT)  # the recent iterations' s
        self.iteration = 0  # the last finished iteration
        self.since = time.monotonic()
        self.dumped = False
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def threshold_s(self) -> float:
        """How long the current iteration may run: ``factor`` x the recent median, at least
        ``floor_s``; before any iteration finished (warm-up), ``factor`` x ``floor_s``."""
        if not self.durations:
            return self.factor * self.floor_s
        return max(self.floor_s, self.factor * statistics.median(self.durations))

    def progress(self, iteration: int | None, duration_s: float | None) -> None:
        """An iteration finished (``on_train_result``)."""
        with self._lock:
            if duration_s is not None and duration_s > 0:
                self.durations.append(float(duration_s))
            self.iteration = int(iteration or self.iteration + 1)
            self.since = time.monotonic()
            self.dumped = False

    def stop(self) -> None:
        self._stop_event.set()
        disarm_all(self.token)

    def run(self) -> None:
        while not self._stop_event.wait(self.poll_s):
            with self._lock:
                waited = time.monotonic() - self.since
                threshold, iteration = self.threshold_s(), self.iteration + 1
                due = not self.dumped and waited > threshold
                if due:
                    self.dumped = True
            if due and not _debugger_attached():
                with contextlib.suppress(Exception):  # the watch must never break a run
                    self.dump(iteration, waited, threshold)

    def dump(self, iteration: int, waited_s: float, threshold_s: float) -> dict:
        from rldebug import relay

        asked_at = time.monotonic()
        through_relay = relay.request_stacks(self.token)
        own = format_own_stacks(skip=threading.get_ident())
        host = _host()
        stacks = [{"pid": os.getpid(), "role": "driver", "host": host, "via": "self",
                   "text": own, **_where(own)}]
        stacks += [{**entry, "host": host, "via": "signal"}
                   for entry in collect_actor_stacks(self.token)]
        if through_relay:
            time.sleep(max(0.0, asked_at + RELAY_WAIT_S - time.monotonic()))
            stacks = merge_stacks(stacks, relay.take_stacks(self.token))
        with self._lock:
            median = statistics.median(self.durations) if self.durations else None
        record = {"source": "watchdog", "column": "stall", "iteration": iteration,
                  "waited_s": round(waited_s, 2), "threshold_s": round(threshold_s, 2),
                  "recent_median_s": None if median is None else round(median, 3),
                  "stacks": stacks}
        self.write(record)
        where = "; ".join(f"{s['role']} (pid {s['pid']}) at {s['waiting_at']}"
                          for s in stacks if s.get("waiting_at"))
        logger.warning("rldebug trace: iteration %s has run %.0f s (over %.0f s): the stacks "
                       "of %d process(es) are in the trace. %s", iteration, waited_s,
                       threshold_s, len(stacks), where)
        return record


def merge_stacks(stacks: list[dict], answered: list[dict]) -> list[dict]:
    """The stacks taken by signal (or by the driver itself) plus those answered through
    the relay: a process both reached keeps its signal answer unless that came back empty
    (faulthandler's is taken even while C code holds the GIL)."""
    by_process = {(s.get("host"), s["pid"]): s for s in stacks}
    for entry in answered:
        key = (entry.get("host"), entry.get("pid"))
        known = by_process.get(key)
        if known is None or not known.get("text"):
            by_process[key] = entry
    return list(by_process.values())


def _debugger_attached() -> bool:
    from rldebug.ide import debugger_attached

    return debugger_attached()


__all__ = ["StackAnswerer", "StallWatch", "arm", "collect_actor_stacks", "disarm_all",
           "format_own_stacks", "merge_stacks", "waiting_at"]
