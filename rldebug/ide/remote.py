"""``attach_remote``: one remote EnvRunner waits for your IDE on a fixed local port —
from the start, only when a condition fires in it, or when it raises.

Ray's own route (``breakpoint()`` in a worker with ``RAY_DEBUG=1``) opens a
debugpy listener on a random port of the node's IP, announced only in that
worker's log and found by the Ray Distributed Debugger VS Code extension
through the dashboard. ``attach_remote`` instead makes the chosen EnvRunner
call ``debugpy.listen(("127.0.0.1", port))``, so the fixed "attach" launch
configuration (VS Code, or PyCharm's debugpy-compatible client) connects to it and
line breakpoints in the env, the connectors and env-side callbacks are hit:

- by default when its env is created, waiting there until the IDE attaches;
- with ``when=``: only when one of ``break_on``'s env-step conditions fires in that
  runner (a non-finite observation or reward, a reward bound, an info event, an
  action) — it then waits for the IDE and stops in the frame where it fired, with the
  step's episode, observation, action, reward and info as locals;
- with ``post_mortem=True``: when its ``sample()`` raises (the env crashed, a NaN
  assertion, a shape error), frozen at the raising frame (``debugpy``'s post-mortem
  stop) until the IDE attaches and continues; then the exception goes on to RLlib as
  usual. ``timeout_s`` lets the run go on when nobody attaches.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass, replace

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.callbacks.compose import add_callbacks, with_settings
from rldebug.ide._listen import (
    DEFAULT_PORT,
    HOST,
    is_target,
    listen,
    port_in_use,
    wait_for_ide,
)
from rldebug.usage import UsageError, UsageTypeError


@dataclass(frozen=True)
class AttachRemoteSettings:
    """Which EnvRunner listens, on which local port, when, and how long it waits for the IDE."""

    runner_index: int = 1
    port: int = DEFAULT_PORT
    wait: bool = True  # listen when the env is created and wait there for the IDE
    post_mortem: bool = False  # an exception in sample() waits for the IDE at its frame
    timeout_s: float | None = 300.0  # of waiting after a condition or an exception


def _innermost_line(traceback) -> str:
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}"


def root_cause(error: BaseException) -> BaseException:
    """The first exception of a chain: RLlib re-raises an env's error as ``RuntimeError
    from e``, whose own traceback ends in RLlib; the original's reaches the env's frame."""
    seen = {id(error)}
    while (cause := error.__cause__ or error.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        error = cause
    return error


def _guard_sample(runner, settings: AttachRemoteSettings) -> None:
    """Make ``runner.sample`` wait for the IDE at the raising frame when it raises."""
    sample = runner.sample
    if getattr(sample, "rldebug_post_mortem", False):
        return
    who = f"EnvRunner {settings.runner_index}"

    @functools.wraps(sample)
    def sample_or_wait_for_ide(*args, **kwargs):
        try:
            return sample(*args, **kwargs)
        except Exception as error:
            root = root_cause(error)
            why = (f"{type(root).__name__}: {str(root)[:200]} (raised at "
                   f"{_innermost_line(root.__traceback__)}"
                   + (f", re-raised as {type(error).__name__})" if root is not error else ")"))
            if wait_for_ide(settings.port, who, why, settings.timeout_s):
                import debugpy  # noqa: T100

                # stops at the innermost frame of the traceback, as pdb.post_mortem does;
                # its locals are those of the raising line. Continue to let RLlib handle it.
                debugpy.trigger_exception_handler(
                    (type(root), root, root.__traceback__), as_uncaught=False)
            raise

    sample_or_wait_for_ide.rldebug_post_mortem = True
    runner.sample = sample_or_wait_for_ide


class AttachRemoteCallback(RLlibCallback):
    """Opens the debugpy listener in the EnvRunner whose index is ``runner_index`` (when its
    env is created), or makes its ``sample()`` wait for the IDE when it raises."""

    #: rldebug.local_mode warns: it removes the remote EnvRunner this callback targets.
    requires_remote_env_runners = True

    settings: AttachRemoteSettings = AttachRemoteSettings()

    def _prepare(self, runner) -> None:
        settings = self.settings
        if not is_target(runner, settings.runner_index):
            return
        if settings.post_mortem:
            _guard_sample(runner, settings)
        if settings.wait:
            listen(settings.port, f"EnvRunner {settings.runner_index}", wait=True)

    def on_environment_created(self, *, env_runner, **kwargs) -> None:  # new stack
        self._prepare(env_runner)

    def on_sub_environment_created(self, *, worker, **kwargs) -> None:  # old stack
        self._prepare(worker)


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


def _check_timeout(timeout_s) -> float | None:
    if timeout_s is None:
        return None
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, numbers.Real) or \
            not timeout_s > 0:
        raise UsageError(f"attach_remote(timeout_s=...) must be seconds > 0 or None (wait "
                         f"until the IDE attaches), got {timeout_s!r}.")
    return float(timeout_s)


def attach_remote(config, runner_index: int = 1, port: int = DEFAULT_PORT,
                  wait: bool | None = None, *, when=None, post_mortem: bool = False,
                  timeout_s: float | None = 300.0):
    """Return a copy of ``config`` whose remote EnvRunner ``runner_index`` waits for a debugger.

    By default, when that EnvRunner creates its env it calls ``debugpy.listen(("127.0.0.1",
    port))`` and ``debugpy.wait_for_client()``: building the algorithm blocks until the
    IDE's attach configuration connects (VS Code: "rldebug: attach to remote EnvRunner").
    Breakpoints in the env, connectors and env-side callbacks are then hit in that process.

    With ``when`` or ``post_mortem`` the runner trains normally and waits for the IDE only
    when something happens in it, at most ``timeout_s`` seconds, announcing on the driver's
    console which runner waits, why and on which port:

    - ``when={...}``: :func:`rldebug.break_on`'s env-step conditions (``events``,
      ``reward_below``, ``reward_above``, ``non_finite``, ``agent_action``, ``agent_ids``),
      checked after every env step in that runner only. When one fires the IDE stops in
      ``stop_here`` with the step's ``event``, ``episode``, ``agent_id``, ``obs``,
      ``action``, ``reward`` and ``info`` as locals; later events stop too while the IDE
      stays attached.
    - ``post_mortem=True``: an exception out of the runner's ``sample()`` (the env's
      ``step`` or ``reset``, a connector, the module's forward pass) stops the IDE at the
      frame that raised it, with that frame's locals (``debugpy``'s post-mortem stop);
      after you continue, the exception goes on to RLlib (which fails or restarts the
      runner as the config says).

    After ``timeout_s`` without an IDE the run goes on (the event is logged; the exception
    is raised). The runner must be on this machine (Ray's local cluster). Old and new API
    stack.

    :param config: an RLlib ``AlgorithmConfig`` with ``num_env_runners >= 1``.
    :param runner_index: which remote EnvRunner, 1..num_env_runners.
    :param port: the local port to listen on; checked to be free now.
    :param wait: listen when the env is created and block until a client attaches; default
        True without ``when``/``post_mortem``, False with them.
    :param when: a dict of env-step conditions (see above).
    :param post_mortem: wait for the IDE at the raising frame when ``sample()`` raises.
    :param timeout_s: seconds to wait for the IDE after a condition or an exception (None:
        until it attaches).
    :raises TypeError: if ``config`` is not an ``AlgorithmConfig``.
    :raises ValueError: for a missing runner index, a port in use, an unknown condition.
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from rldebug.ide._break_callback import BreakOnCallback
    from rldebug.ide.breakpoints import env_step_settings

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(f"attach_remote expects an RLlib AlgorithmConfig, got "
                             f"{type(config).__name__}: {config!r:.120}.")
    if wait is not None and not isinstance(wait, bool):
        raise UsageTypeError(f"attach_remote(wait=...) must be True or False, got {wait!r}.")
    if not isinstance(post_mortem, bool):
        raise UsageTypeError(f"attach_remote(post_mortem=...) must be True or False, got "
                             f"{post_mortem!r}.")
    conditional = when is not None or post_mortem
    settings = AttachRemoteSettings(
        runner_index=_check_runner_index(config, runner_index), port=_check_port(port),
        wait=(not conditional) if wait is None else wait, post_mortem=post_mortem,
        timeout_s=_check_timeout(timeout_s))
    config = add_callbacks(config, with_settings(AttachRemoteCallback, settings,
                                                 name="AttachRemote"))
    if when is not None:
        conditions = replace(env_step_settings(config, when, "attach_remote"),
                             attach=settings)
        config = add_callbacks(config, with_settings(BreakOnCallback, conditions,
                                                     name="AttachRemoteWhen"))
    return config


__all__ = ["DEFAULT_PORT", "HOST", "AttachRemoteCallback", "AttachRemoteSettings",
           "attach_remote", "port_in_use"]
