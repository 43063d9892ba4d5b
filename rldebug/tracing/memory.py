"""Memory of a traced process: its RSS at every record, and with ``trace(memory=True)``
the allocation sites (file and line, tracemalloc) that grew since its last ``sample()``.

RSS is read with psutil (tens of microseconds). tracemalloc slows a process down
noticeably, so it runs only when asked for; it keeps one frame per allocation, the
line that allocated.
"""

from __future__ import annotations

import os
import tracemalloc

#: grown sites kept per sample() call
TOP_SITES = 5

_process = None
_started_here = False  # tracemalloc was started by GrowingSites (stop_tracing stops it)


def rss_mb() -> float | None:
    """This process's resident set size in MiB (None where psutil cannot read it)."""
    global _process
    try:
        import psutil

        if _process is None or _process.pid != os.getpid():  # a forked child reads its own
            _process = psutil.Process()
        return round(_process.memory_info().rss / 2**20, 2)
    except Exception:  # noqa: BLE001 - a trace without RSS is still a trace
        return None


class GrowingSites:
    """Allocation sites whose size grew between two calls of :meth:`grown`."""

    _ignored = (tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
                tracemalloc.Filter(False, "<unknown>"))

    def __init__(self, top: int = TOP_SITES):
        global _started_here
        self.top = top
        self._previous = None
        if not tracemalloc.is_tracing():
            tracemalloc.start(1)
            _started_here = True

    def grown(self) -> list[dict]:
        """The sites that grew most since the last call (none at the first call)."""
        snapshot = tracemalloc.take_snapshot().filter_traces(self._ignored)
        previous, self._previous = self._previous, snapshot
        if previous is None:
            return []
        sites = []
        for diff in snapshot.compare_to(previous, "lineno")[:self.top]:
            if diff.size_diff <= 0:
                break
            frame = diff.traceback[0]
            sites.append({"file": frame.filename, "line": frame.lineno,
                          "growth_kb": round(diff.size_diff / 1024, 1),
                          "size_kb": round(diff.size / 1024, 1),
                          "count_growth": diff.count_diff})
        return sites


def stop_tracing() -> None:
    """Stop tracemalloc if :class:`GrowingSites` started it: it slows every allocation of
    the process down, so it must not outlive the traced Algorithm."""
    global _started_here
    if _started_here and tracemalloc.is_tracing():
        tracemalloc.stop()
    _started_here = False


__all__ = ["TOP_SITES", "GrowingSites", "rss_mb", "stop_tracing"]
