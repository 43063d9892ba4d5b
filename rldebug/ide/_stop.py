"""Where ``break_on`` stops: one small function whose locals are the event's context.

Whether it stops or only logs is decided per event:

- ``mode="log"``: never stop, only record and log.
- ``mode="break"``: always stop: in a connected debugger, else through the breakpoint
  hook, ``PYTHONBREAKPOINT`` as the user set it (``ray.init`` replaces it in every Ray
  process by Ray's own hook, which waits for a Ray Distributed Debugger client: rldebug
  keeps the user's value in ``RLDEBUG_PYTHONBREAKPOINT`` for Ray's workers, and uses pdb
  in a driver where the user set none). A Ray worker with no debugger attached and no
  hook of the user's cannot stop: the event is logged, with a warning, not waited on.
- ``mode="auto"`` (default): stop when a debugger is attached (a debugpy client
  is connected, or a debugger such as PyCharm's or pdb is tracing) or stdin is a
  terminal (pdb can ask for commands); otherwise (CI, Ray workers) record and
  log, so an unattended run never blocks.

Every event is recorded in an in-memory list (:func:`break_records`) and
logged on the ``rldebug.ide.break_on`` logger, whether it stopped or not.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from rldebug.breakpoint_hook import RAY_HOOKS, users_breakpoint_hook

logger = logging.getLogger("rldebug.ide.break_on")

MODES = ("auto", "break", "log")
MAX_RECORDS = 10_000

_records: deque = deque(maxlen=MAX_RECORDS)
_stops_by_token: dict[str, int] = {}
_lock = threading.Lock()


@dataclass
class BreakEvent:
    """One RL event that ``break_on`` caught (a stop or, headless, a log line)."""

    kind: str
    reason: str
    pid: int
    agent_id: str | None = None
    module_id: str | None = None
    episode_id: str | None = None
    env_step: int | None = None
    iteration: int | None = None
    value: float | None = None
    action: Any = None
    reward: float | None = None
    info: dict | None = None
    stopped: bool = False
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def where(self) -> str:
        """Where it happened, for a log line: `` [episode ID, env step N]`` for an env step,
        `` [iteration N]`` for an update ('' when unknown)."""
        parts = [f"episode {self.episode_id}" if self.episode_id else "",
                 "" if self.env_step is None else f"env step {self.env_step}",
                 "" if self.iteration is None else f"iteration {self.iteration}"]
        return f" [{', '.join(p for p in parts if p)}]" if any(parts) else ""


def break_records() -> list[BreakEvent]:
    """The events caught in this process so far (oldest first, at most the last 10 000)."""
    with _lock:
        return list(_records)


def clear_break_records() -> None:
    """Forget the recorded events and the per-``break_on`` stop counts of this process."""
    with _lock:
        _records.clear()
        _stops_by_token.clear()


def record_remote(event: BreakEvent) -> None:
    """Add an event another process caught (a remote EnvRunner's, sent through Ray)."""
    with _lock:
        _records.append(event)
    logger.warning("break_on (pid %s, remote): %s%s (%s)", event.pid, event.reason,
                   event.where(), "stopped there" if event.stopped else "logged there, not stopped")


def _debugpy_connected() -> bool:
    debugpy = sys.modules.get("debugpy")
    try:
        return bool(debugpy is not None and debugpy.is_client_connected())
    except Exception:  # noqa: BLE001 - a half-initialised debugpy counts as not connected
        return False


def _debugger_tracing() -> bool:
    """A debugger's tracer is installed: pydevd (PyCharm, debugpy) or pdb/bdb.

    Other tracers (coverage) are not debuggers: stopping under them would block.
    """
    tracer = sys.gettrace()
    if tracer is None:
        return False
    import bdb

    return "pydevd" in sys.modules or isinstance(getattr(tracer, "__self__", None), bdb.Bdb)


def debugger_attached() -> bool:
    """True if a debugpy client is connected or a debugger (PyCharm, pdb) is tracing."""
    return _debugpy_connected() or _debugger_tracing()


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached stdin
        return False


def _pydevd_debugging() -> bool:
    """PyCharm's debugger (pydevd, not debugpy's copy of it) runs this process."""
    pydevd = sys.modules.get("pydevd")
    try:
        return pydevd is not None and pydevd.get_global_debugger() is not None
    except Exception:  # noqa: BLE001 - a half-initialised pydevd counts as none
        return False


def _how_to_stop(hook: str | None = None) -> str:
    """How this process stops, for the user's breakpoint hook ``hook`` (None: this
    process's, :func:`users_breakpoint_hook`): "debugpy", "pycharm" (attach_remote
    connected it), "pydevd" (PyCharm's debugger runs it), "hook" (``breakpoint()``, as
    Python calls it), "users hook" (the user's, which Ray replaced), "pdb" (Ray replaced
    Python's default in a driver), or "" when it cannot stop (``PYTHONBREAKPOINT=0``, or
    a Ray worker with no debugger attached and no hook of the user's, where Ray's hook
    would wait for a Ray Distributed Debugger client)."""
    from rldebug.ide._listen import pycharm_connected

    hook = users_breakpoint_hook() if hook is None else hook
    if hook == "0":
        return ""
    if _debugpy_connected() and not hook:
        return "debugpy"
    if pycharm_connected():  # attach_remote(client="pycharm") connected this process
        return "pycharm"
    current = os.environ.get("PYTHONBREAKPOINT", "")
    if current not in RAY_HOOKS and hook == current:
        return "hook"
    if hook:
        return "users hook"
    if _pydevd_debugging():
        return "pydevd"
    return "pdb" if current == RAY_HOOKS[1] else ""


def will_stop(mode: str, hook: str | None = None) -> bool:
    """Whether an event caught now in this process stops (True) or is only logged."""
    return _stops(mode, _how_to_stop(hook) if mode != "log" else "")


def _stops(mode: str, how: str) -> bool:
    """:func:`will_stop` for a route :func:`_how_to_stop` has already found."""
    if mode == "log" or not how:
        return False
    return mode == "break" or debugger_attached() or _stdin_is_terminal()


_said_cannot_stop = False


def _say_cannot_stop(hook: str | None) -> None:
    global _said_cannot_stop
    if _said_cannot_stop or (hook if hook is not None else users_breakpoint_hook()) == "0":
        return
    _said_cannot_stop = True
    import warnings

    warnings.warn(
        f"break_on(mode='break') in a Ray worker (pid {os.getpid()}) with no debugger "
        "attached: Ray's breakpoint hook would wait here for a Ray Distributed Debugger "
        "client, unseen, so the events are logged instead. To stop in a remote EnvRunner "
        "use rldebug.attach_remote(config, runner_index=N, when={...}), or set "
        "PYTHONBREAKPOINT before calling break_on.", RuntimeWarning, stacklevel=3)


def _why_not_stopped(mode: str, how: str, budget_left: bool, may_stop: bool,
                     max_stops: int | None, hook: str | None) -> str:
    """What the log line of an event that did not stop says about why."""
    if not may_stop:
        return " (the same env step stopped for the event above: logged)"
    if mode == "log":
        return " (mode='log': logged)"
    if not budget_left:
        return f" (max_stops={max_stops} reached: logged, not stopped)"
    if (hook if hook is not None else users_breakpoint_hook()) == "0":
        return " (PYTHONBREAKPOINT=0: logged, not stopped)"
    return " (no debugger attached: logged, not stopped)"


def catch(event: BreakEvent, mode: str, token: str, max_stops: int | None,
          context: dict[str, Any], hook: str | None = None,
          may_stop: bool = True) -> BreakEvent:
    """Record and log ``event``; stop in :func:`stop_here` if the mode and budget allow.
    ``hook``: the user's breakpoint hook as ``break_on`` found it where it was called
    (None: this process's). ``may_stop=False``: an env step already stopped for another
    event (one stop per step), so this one is recorded and logged only."""
    how = _how_to_stop(hook) if mode != "log" else ""
    if mode == "break" and not how:
        _say_cannot_stop(hook)
    with _lock:
        stops_so_far = _stops_by_token.get(token, 0)
        budget_left = max_stops is None or stops_so_far < max_stops
        event.stopped = may_stop and budget_left and _stops(mode, how)
        if event.stopped:
            _stops_by_token[token] = stops_so_far + 1
        _records.append(event)
    logger.warning("break_on: %s%s%s", event.reason, event.where(), "" if event.stopped else
                   _why_not_stopped(mode, how, budget_left, may_stop, max_stops, hook))
    if event.stopped:
        try:
            stop_here(event=event, how=how, hook=hook or users_breakpoint_hook(), **context)
        except (ImportError, AttributeError) as err:  # as Python's own hook: said, not fatal
            if how != "users hook":
                raise
            logger.warning("break_on: the breakpoint hook %r cannot be imported here (%s); "
                           "the event is logged, not stopped.", hook, err)
            event.stopped = False
    return event


class _without_env:
    """The environment without ``name`` for a ``with`` block."""

    def __init__(self, name: str):
        self.name, self.value = name, None

    def __enter__(self):
        self.value = os.environ.pop(self.name, None)

    def __exit__(self, *exc):
        if self.value is not None:
            os.environ[self.name] = self.value


def _imported(dotted: str):
    """The callable a PYTHONBREAKPOINT value names (``"ipdb.set_trace"``)."""
    import importlib

    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module or "builtins"), name)


def stop_here(event: BreakEvent, episode: Any = None, agent_id: str | None = None,
              obs: Any = None, action: Any = None, reward: float | None = None,
              info: dict | None = None, batch: Any = None, stats: dict | None = None,
              how: str = "hook", hook: str = "") -> None:
    """The frame ``break_on`` stops in: its locals are the event's context.

    ``event`` says what happened (``event.reason``); the other locals are the
    episode, agent, observation, action, reward and info of an env step, or
    the training batch / learner stats of a learner event (None where they do
    not apply). Continue (F5 / ``c``) to resume training.
    """
    if how == "debugpy":
        import debugpy  # noqa: T100

        debugpy.breakpoint()  # noqa: T100 - stops on the next line, in this frame
    elif how == "pycharm":
        import pydevd_pycharm

        pydevd_pycharm.settrace(suspend=True)  # connected: stops on the next line, here
    elif how == "hook":
        breakpoint()  # noqa: T100 - honours PYTHONBREAKPOINT (0 disables)
    elif how == "users hook":  # Ray replaced it: called as breakpoint() would, from here
        _imported(hook)()
    elif how == "pydevd":  # PyCharm's hook, which would hand over to Ray's PYTHONBREAKPOINT
        with _without_env("PYTHONBREAKPOINT"):
            sys.breakpointhook()  # noqa: T100 - pydevd's: suspends in this frame
    elif how == "pdb":  # Ray replaced Python's default in this driver
        import pdb  # noqa: T100

        pdb.Pdb().set_trace(sys._getframe())
    resumed = True  # break_on stopped here: look at the locals, then continue
    del resumed


__all__ = [
    "MODES",
    "BreakEvent",
    "break_records",
    "catch",
    "clear_break_records",
    "debugger_attached",
    "stop_here",
    "will_stop",
]
