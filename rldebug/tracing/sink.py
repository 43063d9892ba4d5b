"""One trace's records in one process: written by the home, sent home by everyone else.

Every writer of a trace in a process (the trace callbacks of the driver and of each
EnvRunner, the Learner mixin, the episode recorder) shares this process's
:class:`TraceSink`. In the home process (the one running the Algorithm; see
:mod:`rldebug.relay`) records go straight to the :class:`~rldebug.tracing.store.TraceStore`.
Elsewhere they are buffered and pushed to the relay at :meth:`TraceSink.flush`
(after each ``sample()`` and update, before an exception leaves a remote actor, on
SIGTERM before Ray's own handler ends the process, and at interpreter exit, which
SIGINT's ``KeyboardInterrupt`` reaches); a process killed outright (SIGKILL) loses
only what it had not flushed. A buffer
that outgrows :data:`MAX_BUFFERED` drops its oldest records and says so in the trace.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import threading
import time

from rldebug import relay
from rldebug.tracing.layout import file_name
from rldebug.tracing.store import TraceStore

MAX_BUFFERED = 200_000  # records held in a process that cannot reach its home

_sinks: dict[str, TraceSink] = {}
_sinks_lock = threading.Lock()


class TraceSink:
    def __init__(self, token: str, out):
        self.token = token
        self.base_out = self.out = out
        self._buffer: list[tuple[str, str, object]] = []
        self._store: TraceStore | None = None
        self._lock = threading.Lock()
        self.dropped = 0
        self.events_written = 0  # at the home: event records written (weights marking)

    @property
    def store(self) -> TraceStore:
        if self._store is None:
            self._store = TraceStore(self.out)
        return self._store

    # -- writing --------------------------------------------------------------

    def append(self, relpath: str, text: str) -> None:
        self._put(("a", relpath, text))

    def write_bytes(self, relpath: str, data: bytes) -> None:
        self._put(("b", relpath, data))

    def _put(self, item) -> None:
        with self._lock:
            if relay.is_home(self.token) and not self._buffer:
                self.apply(item)
                return
            self._buffer.append(item)
            if len(self._buffer) > MAX_BUFFERED:
                del self._buffer[0]
                self.dropped += 1

    def apply(self, item) -> None:
        """Write one item to the store (the home only)."""
        op, relpath, payload = item
        if op == "a":
            self.store.append(relpath, payload)
            if relpath.startswith("events-"):
                self.events_written += 1
        else:
            self.store.write_bytes(relpath, payload)

    # -- sending home -----------------------------------------------------------

    def flush(self, wait: bool = False) -> bool:
        """Write (home) or send (elsewhere) everything buffered; False if it could not.
        ``wait``: return only once the relay holds them (before an exception leaves)."""
        with self._lock:
            items, self._buffer = self._buffer, []
            dropped, self.dropped = self.dropped, 0
        if dropped:
            items.append(("a", file_name("events", "relay", os.getpid()), json.dumps({
                "time": time.time(), "pid": os.getpid(), "host": socket.gethostname(),
                "source": "relay", "column": "records_lost", "count": dropped,
                "message": f"{dropped} record(s) dropped: this process held more than "
                           f"{MAX_BUFFERED} it could not send to the driver"}) + "\n"))
        if not items:
            return True
        if relay.is_home(self.token):
            with self._lock:
                for item in items:
                    self.apply(item)
            return True
        if relay.push(self.token, items, wait=wait):
            return True
        with self._lock:  # no relay (yet): keep them, oldest first
            self._buffer[:0] = items
        return False

    def become_home(self, remote_actors: bool = True, trial: str | None = None) -> None:
        """This process runs the Algorithm: it writes, and owns the relay (when it has
        ``remote_actors`` to hear from). A ``trial`` (one of several Tune trials of the
        traced config) writes to ``<out>/<trial>``: the trials' traces kept apart."""
        out = self.base_out if not trial else _joined(self.base_out, trial)
        if out != self.out:
            with self._lock:
                if self._store is not None:
                    self._store.close()
                self._store, self.out = None, out
        relay.make_home(self.token, remote_actors)
        self.flush()

    def drain_relay(self) -> None:
        """At the home: write what remote processes pushed."""
        items = relay.drain(self.token)
        with self._lock:
            for item in items:
                self.apply(item)


def _flush_on_the_way_out() -> None:
    """The home writes what its relay holds; any other process sends its buffer home
    and waits for the relay to hold it."""
    log = logging.getLogger("rldebug.trace")
    for sink in list(_sinks.values()):
        home = relay.is_home(sink.token)
        try:
            if home:
                sink.drain_relay()
                sink.flush()
            else:
                sink.flush(wait=True)
        except Exception as err:  # noqa: BLE001 - exiting must not fail for the trace
            # A finished run's relay is gone with its Algorithm: nothing is lost there.
            (log.debug if home else log.warning)(
                "rldebug: the trace could not write its last records on the way out: %s", err)


def _on_sigterm(previous):
    """A SIGTERM handler that flushes first, then does what ``previous`` did. (Ray's
    workers cannot reach other actors any more once SIGTERM has become SystemExit.)"""
    def handler(signum, frame):
        _flush_on_the_way_out()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
    return handler


def _joined(out, name: str):
    """``out``/``name`` for a local path or a URI (s3://..., gs://...)."""
    from rldebug.tracing.store import is_uri

    safe = name.replace("/", "_")
    return f"{str(out).rstrip('/')}/{safe}" if is_uri(out) else str(os.path.join(out, safe))


def _flush_on_exit_and_sigterm() -> None:
    atexit.register(_flush_on_the_way_out)  # after ray.init: runs before Ray's shutdown
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm(signal.getsignal(signal.SIGTERM)))


def sink_for(token: str, out) -> TraceSink:
    """This process's sink of the trace ``token`` (one per process, shared by its writers)."""
    with _sinks_lock:
        if not _sinks:
            _flush_on_exit_and_sigterm()
        sink = _sinks.get(token)
        if sink is None:
            sink = _sinks[token] = TraceSink(token, out)
        return sink


__all__ = ["MAX_BUFFERED", "TraceSink", "sink_for"]
