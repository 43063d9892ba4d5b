"""Where a remote actor meets the IDE, for either client, once per process.

- ``client="vscode"`` (debugpy): the actor listens on 127.0.0.1:PORT of its node and the
  IDE's attach configuration connects to it.
- ``client="pycharm"`` (pydevd-pycharm): PyCharm's "Python Debug Server" listens on
  HOST:PORT and the actor connects to it (``pydevd_pycharm.settrace``), retrying until it
  is there.

``wait_at_start`` waits for the IDE before anything runs (today's ``attach_remote``);
``wait_for_ide`` waits when something went wrong in the actor, at most ``timeout_s``,
saying on the driver's console (Ray streams an actor's prints there) which actor waits,
why and where; ``post_mortem`` then stops at the frame that raised.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass

from rldebug.shapes.errors import root_cause

logger = logging.getLogger("rldebug.ide.attach_remote")

HOST = "127.0.0.1"
DEFAULT_PORT = 5678
CLIENTS = ("vscode", "pycharm")
RETRY_S = 1.0  # between attempts to reach PyCharm's debug server

_listening_on: int | None = None  # vscode, per process: debugpy.listen may be called once
_pycharm_connected = False  # pycharm, per process: settrace connects once
_waited = False  # per process: the first event waits for the IDE, later ones stop if attached


@dataclass(frozen=True)
class Endpoint:
    """How an actor and the IDE meet: the client, the port, where PyCharm listens, how long
    to wait after a condition or an exception, and where ``attach_remote`` was called."""

    client: str = "vscode"
    port: int = DEFAULT_PORT
    ide_host: str = HOST  # pycharm: PyCharm's debug server, as the actor's node reaches it
    timeout_s: float | None = 300.0
    driver_host: str = ""  # an actor on another node says how to reach it

    @property
    def where(self) -> str:
        if self.client == "pycharm":
            return f"PyCharm's debug server on {self.ide_host}:{self.port}"
        return f"{HOST}:{self.port}"


def port_in_use(port: int, host: str = HOST) -> bool:
    """True if something already listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def is_target(runner, runner_index: int) -> bool:
    """``runner`` is the training EnvRunner (or old-stack RolloutWorker) ``runner_index``.
    Evaluation EnvRunners are numbered from 1 too: only a training runner counts."""
    if getattr(getattr(runner, "config", None), "in_evaluation", False):
        return False
    return getattr(runner, "worker_index", None) == runner_index


def _say(message: str) -> None:
    logger.debug("%s", message)
    print(message, flush=True)  # lands in the driver's console via Ray's log streaming


def forwarding_hint(endpoint: Endpoint, here: str | None = None,
                    node_ip: str | None = None) -> str:
    """How the IDE and an actor on another node than the driver reach each other: an SSH
    port forward (VS Code: to the actor's loopback listener; PyCharm: back to the IDE).
    ``node_ip``: this node's address as Ray knows it (looked up when not given)."""
    here, port = here or socket.gethostname(), endpoint.port
    if not endpoint.driver_host or here == endpoint.driver_host:
        return ""
    node_ip = node_ip if node_ip is not None else _ray_node_ip()
    node = f"node {here!r}" + (f" ({node_ip})" if node_ip else "")
    if endpoint.client == "pycharm":
        return (f" This actor runs on {node}, not on the driver's "
                f"{endpoint.driver_host!r}: it connects to {endpoint.ide_host}:{port} of its "
                f"own node; forward that port back to PyCharm, e.g. `ssh -N -R "
                f"{port}:127.0.0.1:{port} {here}` on the machine with PyCharm (or pass "
                "attach_remote(..., ide_host=<that machine's address>)).")
    return (f" This actor runs on {node}, not on the driver's {endpoint.driver_host!r}: "
            f"forward the port first, e.g. `ssh -N -L {port}:127.0.0.1:{port} {here}` on the "
            "machine with the IDE (VS Code Remote-SSH or a PyCharm SSH tunnel does the same).")


def _ray_node_ip() -> str:
    """This node's IP address as Ray knows it, or "" outside a Ray worker."""
    import ray

    return ray.util.get_node_ip_address() if ray.is_initialized() else ""


# -- VS Code: the actor listens (debugpy) ---------------------------------------------

def _listen(endpoint: Endpoint, who: str, why: str = "") -> None:
    """Open the debugpy listener of this process on ``HOST:port`` (once per process)."""
    global _listening_on
    if _listening_on is not None:
        return
    import debugpy  # noqa: T100

    try:
        debugpy.listen((HOST, endpoint.port))  # noqa: T100
    except Exception as error:
        raise RuntimeError(
            f"attach_remote: {who} (pid {os.getpid()}) could not listen on {HOST}:"
            f"{endpoint.port}: {error}. Another process holds the port (one started after "
            "the config was built, or a run still waiting for its debugger); pick another "
            "port and update the attach configuration.") from error
    _listening_on = endpoint.port
    _say(f"rldebug attach_remote: {who} (pid {os.getpid()}) listens on {endpoint.where}"
         + (f" because {why}" if why else "") + "." + forwarding_hint(endpoint))


def _limit(timeout_s: float | None) -> str:
    return "until it attaches" if timeout_s is None else f"for up to {timeout_s:g} s"


def _attach_with(who: str, port: int) -> str:
    """Which of the IDE configurations ``rldebug ide-configs`` writes attaches to ``who``."""
    serves = "" if who.startswith("EnvRunner") else "; it attaches to a Learner too"
    return (f"Attach with the IDE's \"rldebug: attach to remote EnvRunner\" configuration "
            f"(port {port}{serves}).")


def _wait_for_vscode(endpoint: Endpoint, who: str, why: str) -> bool:
    _listen(endpoint, who, why)
    import debugpy  # noqa: T100

    timeout_s = endpoint.timeout_s
    _say(f"rldebug attach_remote: {who} (pid {os.getpid()}) waits {_limit(timeout_s)} for "
         f"the debugger on {endpoint.where}"
         + (f": {why}" if why else "") + ". " + _attach_with(who, endpoint.port))
    waiter = threading.Thread(target=debugpy.wait_for_client, daemon=True,
                              name="rldebug-wait-for-ide")
    waiter.start()
    waiter.join(timeout_s)
    if waiter.is_alive():
        debugpy.wait_for_client.cancel()
        _say_gone_on(who, timeout_s)
        return False
    return True


def _say_gone_on(who: str, timeout_s: float) -> None:
    _say(f"rldebug attach_remote: no debugger attached to {who} (pid {os.getpid()}) within "
         f"{timeout_s:g} s; it goes on without one.")


# -- PyCharm: the IDE listens, the actor connects (pydevd-pycharm) ----------------------

def _connect_to_pycharm(endpoint: Endpoint, who: str, why: str) -> bool:
    """Connect to PyCharm's debug server, retrying every second until it is there (at most
    ``endpoint.timeout_s``). Breakpoints PyCharm holds are set before this returns."""
    global _pycharm_connected
    if _pycharm_connected:
        return True
    import pydevd_pycharm

    timeout_s = endpoint.timeout_s
    _say(f"rldebug attach_remote: {who} (pid {os.getpid()}) waits {_limit(timeout_s)} for "
         f"{endpoint.where}" + (f": {why}" if why else "") + ". Start the \"rldebug: "
         f"remote actor (Python Debug Server, port {endpoint.port})\" configuration in "
         "PyCharm." + forwarding_hint(endpoint))
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        refused = io.StringIO()
        stdin = sys.stdin  # pydevd replaces it once connected
        try:
            # pydevd prints a traceback for every refused attempt: kept for the last one
            with contextlib.redirect_stderr(refused), _answered_within(_handshake_s(
                    deadline)) as silent:
                pydevd_pycharm.settrace(endpoint.ide_host, port=endpoint.port, suspend=False)
            if silent.is_set():  # something listens there, but not PyCharm's debug server
                _disconnect(stdin)
                _say(f"rldebug attach_remote: {who} (pid {os.getpid()}) reached "
                     f"{endpoint.ide_host}:{endpoint.port}, but what listens there did not "
                     "answer as PyCharm's debug server does (another program on that "
                     "port?); it goes on without the debugger.")
                return False
            _pycharm_connected = True
            _say(f"rldebug attach_remote: {who} (pid {os.getpid()}) is connected to "
                 f"{endpoint.where}.")
            return True
        except (ConnectionError, OSError):
            if deadline is not None and time.monotonic() + RETRY_S > deadline:
                logger.debug("last attempt to reach PyCharm: %s", refused.getvalue())
                _say_gone_on(who, timeout_s)
                return False
            time.sleep(RETRY_S)


#: how long PyCharm's debug server may take to answer once the actor reached its port (it
#: sends its breakpoints and "run" at once); something else listening there never does.
#: At most the time left of ``timeout_s``, but never less than HANDSHAKE_MIN_S (a server
#: reached on the last retry still gets time to answer).
HANDSHAKE_S, HANDSHAKE_MIN_S = 30.0, 5.0


def _handshake_s(deadline: float | None) -> float:
    if deadline is None:
        return HANDSHAKE_S
    return max(HANDSHAKE_MIN_S, min(HANDSHAKE_S, deadline - time.monotonic()))


def _disconnect(stdin) -> None:
    """Undo a connection to something that is not PyCharm's debug server: pydevd's tracing,
    thread patches, its threads and socket (``stoptrace``), and the state ``stoptrace``
    leaves (its module's ``connected`` flag, which would make the next ``settrace`` use
    the debugger it just dropped, and ``sys.stdin``)."""
    import pydevd
    import pydevd_pycharm

    pydevd_pycharm.stoptrace()
    pydevd.connected = False
    sys.stdin = stdin


@contextlib.contextmanager
def _answered_within(seconds: float):
    """Around ``pydevd_pycharm.settrace``: once connected it waits, with no bound, for the
    server's "run" command (``PyDB.ready_to_run``). After ``seconds`` without it, let it go
    on; the event yielded is then set."""
    import pydevd

    silent, done = threading.Event(), threading.Event()

    def release() -> None:
        if done.wait(seconds):
            return
        debugger = pydevd.get_global_debugger()
        if debugger is not None and not debugger.ready_to_run:
            silent.set()
            debugger.ready_to_run = True

    watchdog = threading.Thread(target=release, daemon=True, name="rldebug-pycharm-answer")
    watchdog.start()
    try:
        yield silent
    finally:
        done.set()
        watchdog.join()


def pycharm_connected() -> bool:
    """This process is connected to PyCharm's debug server through ``attach_remote``."""
    return _pycharm_connected


# -- either client ---------------------------------------------------------------------

def ide_connected(endpoint: Endpoint) -> bool:
    """The IDE is attached to this process."""
    if endpoint.client == "pycharm":
        return _pycharm_connected
    import debugpy  # noqa: T100

    return _listening_on is not None and debugpy.is_client_connected()


def wait_at_start(endpoint: Endpoint, who: str) -> bool:
    """Wait for the IDE before the actor goes on, at most ``endpoint.timeout_s``: True when
    it attached. This is the actor's one wait: later events stop only while the IDE is
    attached (see :func:`wait_for_ide`)."""
    return _wait_once(endpoint, who, "")


def wait_for_ide(endpoint: Endpoint, who: str, why: str) -> bool:
    """Wait up to ``endpoint.timeout_s`` for the IDE — the first time only: after that (the
    IDE came and went, or never came) later events stop only while it is attached, so a
    run nobody debugs waits once, not at every event.

    :returns: True when the IDE is attached (the caller stops there), False if not.
    """
    if ide_connected(endpoint):
        return True
    if _waited:
        return False
    return _wait_once(endpoint, who, why)


def _wait_once(endpoint: Endpoint, who: str, why: str) -> bool:
    """The actor's one wait for the IDE, at most ``endpoint.timeout_s``, by its client."""
    global _waited
    _waited = True
    if endpoint.client == "pycharm":
        return _connect_to_pycharm(endpoint, who, why)
    return _wait_for_vscode(endpoint, who, why)


def _innermost_line(traceback) -> str:
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}"


def post_mortem(error: BaseException, endpoint: Endpoint, who: str) -> None:
    """``error`` was raised in this actor: wait for the IDE and stop at the frame that raised
    its root cause, as ``pdb.post_mortem`` does (the caller re-raises afterwards, so RLlib
    handles it as usual)."""
    root = root_cause(error)
    why = (f"{type(root).__name__}: {str(root)[:200]} (raised at "
           f"{_innermost_line(root.__traceback__)}"
           + (f", re-raised as {type(error).__name__})" if root is not error else ")"))
    if not wait_for_ide(endpoint, who, why):
        return
    exc_info = (type(root), root, root.__traceback__)
    if endpoint.client == "pycharm":
        _pycharm_post_mortem(exc_info)
        return
    import debugpy  # noqa: T100

    # stops at the innermost frame of the traceback; continue to let RLlib handle it
    debugpy.trigger_exception_handler(exc_info, as_uncaught=False)


def _pycharm_post_mortem(exc_info) -> None:
    """Stop PyCharm at the innermost frame of ``exc_info`` (pydevd's own post-mortem stop for
    an uncaught exception), until it resumes."""
    import pydevd

    frames, traceback = [], exc_info[2]
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    # Untraced while it waits: the suspended thread would otherwise stop again at the next
    # traced line it runs (inside the debugger's own messaging), not at the raising frame.
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        pydevd.get_global_debugger().stop_on_unhandled_exception(
            threading.current_thread(), frames[-1], {id(f): f for f in frames}, exc_info)
    finally:
        sys.settrace(tracer)
