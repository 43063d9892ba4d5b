"""The debugpy listener a remote actor opens for the IDE: once per process, on 127.0.0.1.

``listen`` opens it (and, with ``wait``, blocks until a client attached, as today's
``attach_remote``); ``wait_for_ide`` opens it when something went wrong in the actor and
waits at most ``timeout_s`` for the IDE, saying on the driver's console (Ray streams an
actor's prints there) which actor waits, why, and on which port.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading

from rldebug.shapes.errors import root_cause

logger = logging.getLogger("rldebug.ide.attach_remote")

HOST = "127.0.0.1"
DEFAULT_PORT = 5678

_listening_on: int | None = None  # per process: debugpy.listen may be called once
_waited = False  # per process: the first event waits for the IDE, later ones stop if attached


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


def forwarding_hint(port: int, driver_host: str | None, here: str | None = None) -> str:
    """How to reach this actor's loopback listener when it runs on another node than the
    driver (the listener binds 127.0.0.1 of its own node): an SSH port forward."""
    here = here or socket.gethostname()
    if not driver_host or here == driver_host:
        return ""
    return (f" This actor runs on node {here!r}, not on the driver's {driver_host!r}: forward "
            f"the port first, e.g. `ssh -N -L {port}:127.0.0.1:{port} {here}` on the machine "
            "with the IDE (VS Code Remote-SSH or a PyCharm SSH tunnel does the same).")


def listen(port: int, who: str, wait: bool, why: str = "",
           driver_host: str | None = None) -> None:
    """Open the debugpy listener of this process on ``HOST:port`` (once per process)."""
    global _listening_on
    if _listening_on is not None:
        return
    import debugpy  # noqa: T100

    try:
        debugpy.listen((HOST, port))  # noqa: T100
    except Exception as error:
        raise RuntimeError(
            f"attach_remote: {who} (pid {os.getpid()}) could not listen on {HOST}:{port}: "
            f"{error}. Another process took the port after the config was built; pick "
            "another port and update the attach configuration.") from error
    _listening_on = port
    _say(f"rldebug attach_remote: {who} (pid {os.getpid()}) listens on {HOST}:{port}"
         + (f" because {why}" if why else "")
         + ("; waiting for the debugger to attach." if wait else ".")
         + forwarding_hint(port, driver_host))
    if wait:
        debugpy.wait_for_client()  # noqa: T100


def ide_connected() -> bool:
    """A debugpy client (the IDE) is attached to this process."""
    import debugpy  # noqa: T100

    return _listening_on is not None and debugpy.is_client_connected()


def wait_for_ide(port: int, who: str, why: str, timeout_s: float | None,
                 driver_host: str | None = None) -> bool:
    """Listen on ``port`` (if not yet) and wait up to ``timeout_s`` for the IDE to attach —
    the first time only: after that (the IDE came and went, or never came) later events
    stop only while it is attached, so a run nobody debugs waits once, not at every event.

    :returns: True when the IDE is attached (the caller stops there), False if not.
    """
    global _waited
    if ide_connected():
        return True
    if _waited:
        return False
    _waited = True
    listen(port, who, wait=False, why=why, driver_host=driver_host)
    import debugpy  # noqa: T100

    limit = "until it does" if timeout_s is None else f"for up to {timeout_s:g} s"
    _say(f"rldebug attach_remote: {who} (pid {os.getpid()}) waits {limit} for the debugger "
         f"on {HOST}:{port}: {why}. Attach with the IDE's \"rldebug: attach to remote "
         f"EnvRunner\" configuration (port {port}).")
    waiter = threading.Thread(target=debugpy.wait_for_client, daemon=True,
                              name="rldebug-wait-for-ide")
    waiter.start()
    waiter.join(timeout_s)
    if waiter.is_alive():
        debugpy.wait_for_client.cancel()
        _say(f"rldebug attach_remote: no debugger attached to {who} (pid {os.getpid()}) "
             f"within {timeout_s:g} s; it goes on.")
        return False
    return True


def _innermost_line(traceback) -> str:
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}"


def post_mortem(error: BaseException, port: int, who: str, timeout_s: float | None,
                driver_host: str | None = None) -> None:
    """``error`` was raised in this actor: wait for the IDE and stop at the frame that raised
    its root cause (the caller re-raises afterwards, so RLlib handles it as usual)."""
    root = root_cause(error)
    why = (f"{type(root).__name__}: {str(root)[:200]} (raised at "
           f"{_innermost_line(root.__traceback__)}"
           + (f", re-raised as {type(error).__name__})" if root is not error else ")"))
    if wait_for_ide(port, who, why, timeout_s, driver_host):
        import debugpy  # noqa: T100

        # stops at the innermost frame of the traceback, as pdb.post_mortem does; its
        # locals are those of the raising line. Continue to let RLlib handle it.
        debugpy.trigger_exception_handler(
            (type(root), root, root.__traceback__), as_uncaught=False)
