"""``attach_remote``: one remote EnvRunner waits for your IDE on a fixed local port.

Ray's own route (``breakpoint()`` in a worker with ``RAY_DEBUG=1``) opens a
debugpy listener on a random port of the node's IP, announced only in that
worker's log and found by the Ray Distributed Debugger VS Code extension
through the dashboard. ``attach_remote`` instead makes the chosen EnvRunner
call ``debugpy.listen(("127.0.0.1", port))`` when its env is created, and (by
default) wait there until a client attaches, so the fixed "attach" launch
configuration (VS Code, or PyCharm's debugpy-compatible client) connects to it and
line breakpoints in the env, the connectors and env-side callbacks are hit.
"""

from __future__ import annotations

import errno
import logging
import numbers
import os
import socket
from dataclasses import dataclass

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.callbacks.compose import add_callbacks, with_settings
from rldebug.usage import UsageError, UsageTypeError

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 5678

_listening_on: int | None = None  # per process: debugpy.listen may be called once


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


def _listen(port: int, wait: bool, runner_index: int) -> None:
    global _listening_on
    if _listening_on is not None:
        return
    import debugpy  # noqa: T100

    try:
        debugpy.listen((HOST, port))  # noqa: T100
    except Exception as error:
        raise RuntimeError(
            f"attach_remote: EnvRunner {runner_index} (pid {os.getpid()}) could not listen on "
            f"{HOST}:{port}: {error}. Another process took the port after the config was "
            f"built; pick another port and update the attach configuration.") from error
    _listening_on = port
    message = (f"rldebug attach_remote: EnvRunner {runner_index} (pid {os.getpid()}) listens "
               f"on {HOST}:{port}")
    logger.warning("%s%s", message, "; waiting for the debugger to attach" if wait else "")
    print(message, flush=True)  # lands in the driver's console via Ray's log streaming
    if wait:
        debugpy.wait_for_client()  # noqa: T100


@dataclass(frozen=True)
class AttachRemoteSettings:
    """Which EnvRunner listens, on which local port, and whether it waits for the IDE."""

    runner_index: int = 1
    port: int = DEFAULT_PORT
    wait: bool = True


class AttachRemoteCallback(RLlibCallback):
    """Opens the debugpy listener in the EnvRunner whose index is ``runner_index``."""

    #: rldebug.local_mode warns: it removes the remote EnvRunner this callback targets.
    requires_remote_env_runners = True

    settings: AttachRemoteSettings = AttachRemoteSettings()

    def _maybe_listen(self, runner) -> None:
        # Evaluation EnvRunners are numbered from 1 too: only a training runner listens.
        if getattr(getattr(runner, "config", None), "in_evaluation", False):
            return
        settings = self.settings
        if getattr(runner, "worker_index", None) == settings.runner_index:
            _listen(settings.port, settings.wait, settings.runner_index)

    def on_environment_created(self, *, env_runner, **kwargs) -> None:  # new stack
        self._maybe_listen(env_runner)

    def on_sub_environment_created(self, *, worker, **kwargs) -> None:  # old stack
        self._maybe_listen(worker)


def _check_port(port) -> int:
    if isinstance(port, bool) or not isinstance(port, numbers.Integral) or not 1 <= port <= 65535:
        raise UsageError(f"attach_remote(port=...) must be an int in 1..65535, got {port!r}.")
    if port_in_use(int(port)):
        raise UsageError(
            f"attach_remote: port {port} on {HOST} is already in use (another debug session, "
            f"or a run still waiting for its debugger?). Pass a free port, e.g. "
            f"attach_remote(config, port={port + 1}), and use the same port in the IDE's "
            "attach configuration.")
    return int(port)


def _check_runner_index(config, runner_index) -> int:
    runners = int(config.num_env_runners or 0)
    if runners < 1:
        raise UsageError(
            "attach_remote: the config has no remote EnvRunners (num_env_runners=0), so the "
            "env already steps in this process: debug it directly (a launch configuration, "
            "rldebug.local_mode), or set config.env_runners(num_env_runners=1) to attach to "
            "a remote one.")
    valid = range(1, runners + 1)
    if (isinstance(runner_index, bool) or not isinstance(runner_index, numbers.Integral)
            or runner_index not in valid):
        raise UsageError(
            f"attach_remote(runner_index={runner_index!r}) does not exist: with "
            f"num_env_runners={runners} the remote EnvRunners are {list(valid)} (0 is the "
            "local one in the driver, which needs no remote attach).")
    return int(runner_index)


def attach_remote(config, runner_index: int = 1, port: int = DEFAULT_PORT, wait: bool = True):
    """Return a copy of ``config`` whose remote EnvRunner ``runner_index`` waits for a debugger.

    When that EnvRunner creates its env it calls ``debugpy.listen(("127.0.0.1",
    port))`` and, with ``wait``, ``debugpy.wait_for_client()``: building the
    algorithm blocks until the IDE's attach configuration connects (VS Code:
    "rldebug: attach to remote EnvRunner"). Breakpoints in the env, connectors
    and env-side callbacks are then hit in that process. The runner must be on
    this machine (Ray's local cluster). Old and new API stack.

    :param config: an RLlib ``AlgorithmConfig`` with ``num_env_runners >= 1``.
    :param runner_index: which remote EnvRunner, 1..num_env_runners.
    :param port: the local port to listen on; checked to be free now.
    :param wait: block the EnvRunner until a client attaches (False: listen only).
    :raises TypeError: if ``config`` is not an ``AlgorithmConfig``.
    :raises ValueError: for a missing runner index or a port in use.
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(f"attach_remote expects an RLlib AlgorithmConfig, got "
                             f"{type(config).__name__}: {config!r:.120}.")
    if not isinstance(wait, bool):
        raise UsageTypeError(f"attach_remote(wait=...) must be True or False, got {wait!r}.")
    index = _check_runner_index(config, runner_index)
    settings = AttachRemoteSettings(runner_index=index, port=_check_port(port), wait=wait)
    return add_callbacks(config, with_settings(AttachRemoteCallback, settings,
                                               name="AttachRemote"))


__all__ = ["DEFAULT_PORT", "HOST", "AttachRemoteCallback", "attach_remote", "port_in_use"]
