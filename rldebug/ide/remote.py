"""``attach_remote``: one remote EnvRunner waits for your IDE on a fixed local port —
from the start, only when a condition fires in it, or when it raises.

Ray's own route (``breakpoint()`` in a worker with ``RAY_DEBUG=1``) opens a
debugpy listener on a random port of the node's IP, announced only in that
worker's log and found by the Ray Distributed Debugger VS Code extension
through the dashboard. ``attach_remote`` instead makes the chosen EnvRunner
call ``debugpy.listen(("127.0.0.1", port))``, so the fixed "attach" launch
configuration (VS Code, Cursor, any DAP client) connects to it — or, with
``client="pycharm"``, connect to PyCharm's "Python Debug Server" on a fixed port
(``pydevd_pycharm.settrace``) — and line breakpoints in the env, the connectors and
env-side callbacks are hit:

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
import math
import numbers
import os
import socket
import threading
import warnings
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.callbacks.compose import add_callbacks, with_settings
from rldebug.ide._break_callback import DEFAULT_SPIKE_WINDOW, MIN_SPIKE_HISTORY, spiked_over
from rldebug.ide._listen import (
    CLIENTS,
    DEFAULT_PORT,
    HOST,
    Endpoint,
    is_target,
    port_in_use,
    post_mortem,
    wait_at_start,
    wait_for_ide,
)
from rldebug.inprocess.local import LocalModeWarning
from rldebug.usage import UsageError, UsageTypeError, check_bool


@dataclass(frozen=True)
class AttachRemoteSettings:
    """Which EnvRunner waits for the IDE, when, and how they meet (its endpoint)."""

    runner_index: int = 1
    endpoint: Endpoint = field(default_factory=Endpoint)
    wait: bool = True  # wait for the IDE when the env is created
    post_mortem: bool = False  # an exception in sample() waits for the IDE at its frame


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
            post_mortem(error, settings.endpoint, who)
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
            wait_at_start(settings.endpoint, f"EnvRunner {settings.runner_index}")

    def on_algorithm_init(self, *, algorithm, **kwargs) -> None:  # in the driver
        runners = int(algorithm.config.num_env_runners or 0)
        index = self.settings.runner_index
        if runners >= index:
            return
        if runners == 0:  # everything in this process: rldebug's local mode (or debug) did
            warnings.warn(  # that on purpose, and a breakpoint in the env is hit directly
                f"attach_remote(runner_index={index}): this algorithm has no remote "
                "EnvRunners (num_env_runners=0), so no runner waits for the IDE; the env "
                "steps in this process, where breakpoints in it are hit directly.",
                LocalModeWarning, stacklevel=2)
            return
        algorithm.cleanup()  # its actors, which the refusal would leave behind
        raise UsageError(
            f"attach_remote(runner_index={index}) was set up on a config with at least "
            f"{index} remote EnvRunners, but this algorithm has num_env_runners={runners}: "
            "no runner would wait for the IDE. Call attach_remote after the last "
            f"config.env_runners(num_env_runners=...), with an index in 1..{runners}.")

    def on_environment_created(self, *, env_runner, **kwargs) -> None:  # new stack
        self._prepare(env_runner)

    def on_sub_environment_created(self, *, worker, **kwargs) -> None:  # old stack
        self._prepare(worker)


@dataclass(frozen=True)
class AttachLearnerSettings:
    """Which remote Learner (its rank) waits for the IDE, when, and how they meet."""

    learner_index: int = 0
    endpoint: Endpoint = field(default_factory=Endpoint)
    wait: bool = True  # wait for the IDE when the Learner is built
    post_mortem: bool = False  # an exception in an update waits for the IDE at its frame
    non_finite: bool = False  # a minibatch's non-finite loss waits for the IDE and stops
    loss_spike: float | None = None  # ... or its loss above this factor x the running mean
    spike_window: int = DEFAULT_SPIKE_WINDOW  # minibatch updates in the running mean


def _in_an_actor() -> bool:
    """Whether this code runs in a Ray actor (a remote Learner), not in the driver."""
    import ray

    return ray.is_initialized() and ray.get_runtime_context().get_actor_id() is not None


def learner_rank() -> int:
    """This Learner's rank among the remote Learners (0 when there is one)."""
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class AttachLearnerMixin:
    """Makes the remote Learner of rank ``learner_index`` wait for the IDE: when it is
    built, when a minibatch's loss is non-finite (stopped with the batch and the loss as
    locals), or when an update raises (stopped at the raising frame). IMPALA/APPO update
    in a learner thread: its updates are guarded too."""

    settings: AttachLearnerSettings = AttachLearnerSettings()

    def _rldebug_attached_here(self) -> bool:
        return bool(getattr(self, "_rldebug_attach_here", False))

    def build(self, *args, **kwargs):
        super().build(*args, **kwargs)
        settings = self.settings
        self._rldebug_who = f"Learner {settings.learner_index}"
        if not _in_an_actor():
            # num_learners=0 (rldebug debug and local_mode set it): the Learner is in the
            # driver, where the IDE's debugger is already; a listener would wait forever
            self._rldebug_attach_here = False
            warnings.warn(f"attach_remote(learner_index={settings.learner_index}): the "
                          "Learner runs in this process (num_learners=0), where your "
                          "debugger already is: no listener is opened; set breakpoints in "
                          "the Learner directly.", LocalModeWarning, stacklevel=2)
            return
        self._rldebug_attach_here = learner_rank() == settings.learner_index
        if not self._rldebug_attach_here:
            return
        self._rldebug_losses = defaultdict(lambda: deque(maxlen=settings.spike_window))
        thread = getattr(self, "_learner_thread", None)
        if settings.post_mortem and thread is not None and hasattr(thread, "_update_method"):
            thread._update_method = self._rldebug_post_mortem(thread._update_method)
        if settings.wait:
            wait_at_start(settings.endpoint, self._rldebug_who)

    def _rldebug_post_mortem(self, method):
        """The learner thread's update method, stopping at the raising frame; then the
        exception goes to the next ``update()`` in the actor's main thread. Raised in the
        thread it would end it, and RLlib's ``update()`` would wait for it forever."""
        settings = self.settings

        @functools.wraps(method)
        def update_or_wait_for_ide(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - handed to the next update()
                post_mortem(error, settings.endpoint, self._rldebug_who)
                self._rldebug_thread_raised = error
                event = getattr(self, "_agg_event", None)
                if event is not None:
                    event.set()  # update() may be waiting for this thread's results
                return None

        return update_or_wait_for_ide

    def _rldebug_raise_thread_error(self) -> None:
        error = getattr(self, "_rldebug_thread_raised", None)
        if error is not None:
            self._rldebug_thread_raised = None
            raise RuntimeError(
                f"{self._rldebug_who}'s learner thread raised {type(error).__name__}: "
                f"{error} (after the post-mortem stop); the original traceback is chained "
                "below.") from error

    def update(self, *args, **kwargs):
        if not (self._rldebug_attached_here() and self.settings.post_mortem):
            return super().update(*args, **kwargs)
        self._rldebug_raise_thread_error()  # the learner thread's, already stopped at
        try:
            result = super().update(*args, **kwargs)
        except Exception as error:
            post_mortem(error, self.settings.endpoint, self._rldebug_who)
            raise
        self._rldebug_raise_thread_error()
        return result

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        loss = super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)
        settings = self.settings
        if (settings.non_finite or settings.loss_spike) and self._rldebug_attached_here():
            self._rldebug_check_loss(module_id, loss, batch, fwd_out)
        return loss

    def _rldebug_check_loss(self, module_id, loss, batch, fwd_out) -> None:
        """Stop on a non-finite minibatch loss, or one above ``loss_spike`` times the mean
        of the module's last ``spike_window`` finite minibatch losses (absolute values, at
        least 3 of them)."""
        import math

        from rldebug.ide._stop import BreakEvent, catch

        settings = self.settings
        value = float(loss.detach().float().mean()) if hasattr(loss, "detach") else float(loss)
        if not math.isfinite(value):
            if not settings.non_finite:
                return
            kind, reason = "non_finite_loss", f"{module_id}: non-finite loss {value}"
        else:
            recent = self._rldebug_losses[module_id]
            mean = spiked_over(recent, value, settings.loss_spike)
            recent.append(value)
            if mean is None:
                return
            kind = "loss_spike"
            reason = (f"{module_id}: loss {value:.6g} is {abs(value) / mean:.1f}x the mean "
                      f"|loss| {mean:.6g} of its last {len(recent) - 1} minibatch updates")
        reason += f" in {self._rldebug_who}"
        attached = wait_for_ide(settings.endpoint, self._rldebug_who, reason)
        event = BreakEvent(kind=kind, reason=reason, pid=os.getpid(),
                           module_id=str(module_id), value=value)
        catch(event, "break" if attached else "log", token=f"attach_remote:{os.getpid()}",
              max_stops=None, context={"batch": batch, "stats": {
                  "module_id": module_id, "loss": loss, "fwd_out": fwd_out}})


def _endpoint(client, port, ide_host, timeout_s) -> Endpoint:
    """The checked meeting point: a free local port for VS Code's attach; for PyCharm, its
    debug server's address (it listens there: not checked to be free) and pydevd-pycharm."""
    if client not in CLIENTS:
        raise UsageError(f"attach_remote(client=...) must be one of {CLIENTS}, got {client!r}.")
    if isinstance(port, bool) or not isinstance(port, numbers.Integral) or not 1 <= port <= 65535:
        raise UsageError(f"attach_remote(port=...) must be an int in 1..65535, got {port!r}.")
    if client == "vscode":
        if ide_host is not None:
            raise UsageError("attach_remote(ide_host=...) is where PyCharm's debug server "
                             "listens (client='pycharm'); VS Code attaches to the actor's "
                             f"{HOST}:{port} instead: leave ide_host out.")
        if port_in_use(int(port)):
            raise UsageError(
                f"attach_remote: port {port} on {HOST} is already in use (another debug "
                f"session, or a run still waiting for its debugger?). Pass a free port, e.g. "
                f"attach_remote(config, port={port + 1}), and use the same port in the IDE's "
                "attach configuration.")
    else:
        import importlib.util

        if importlib.util.find_spec("pydevd_pycharm") is None:
            raise UsageError(
                "attach_remote(client='pycharm') connects the actor to PyCharm with "
                "pydevd-pycharm, which is not installed: pip install 'rldebug[pycharm]' (or "
                "the pydevd-pycharm version PyCharm's Python Debug Server configuration names) "
                "on every node.")
        if ide_host is not None and (not isinstance(ide_host, str) or not ide_host.strip()):
            raise UsageError(f"attach_remote(ide_host=...) must be a host name or address "
                             f"(where PyCharm's debug server listens), got {ide_host!r}.")
    return Endpoint(client=client, port=int(port), ide_host=ide_host or HOST,
                    timeout_s=_check_timeout(timeout_s), driver_host=socket.gethostname())


def _attached(config) -> list[tuple[str, Endpoint]]:
    """``(who, endpoint)`` of every actor an earlier ``attach_remote`` on ``config`` made
    wait for the IDE (its callbacks and Learner class hold their settings)."""
    from rldebug.callbacks.compose import callback_classes

    found = []
    for cls in callback_classes(config):
        settings = getattr(cls, "settings", None)
        if isinstance(settings, AttachRemoteSettings):
            found.append((f"runner_index={settings.runner_index}", settings.endpoint))
    learner = getattr(config, "_learner_class", None)
    settings = getattr(learner, "settings", None)
    if isinstance(settings, AttachLearnerSettings):
        found.append((f"learner_index={settings.learner_index}", settings.endpoint))
    return found


def _check_not_taken(config, endpoint: Endpoint, who: str) -> None:
    """Refuse what an earlier ``attach_remote`` on this config makes impossible: another
    actor on the same VS Code port (each listens on its own; PyCharm's one debug server
    takes every actor, but not beside a VS Code listener on its port), the same actor met
    on another port or client (it meets the IDE once per process), or a Learner attached
    twice."""
    for other, earlier in _attached(config):
        if other == who:
            if who.startswith("learner_index") or (earlier.client, earlier.port) != (
                    endpoint.client, endpoint.port):
                raise UsageError(
                    f"attach_remote({who}): an earlier attach_remote on this config "
                    f"already makes that actor meet the IDE ({earlier.client}, port "
                    f"{earlier.port}); an actor meets it once. Call attach_remote once for "
                    "it, with every condition (when=, post_mortem=) in that call, on the "
                    "config you had before.")
        elif earlier.port == endpoint.port and "vscode" in (earlier.client, endpoint.client):
            raise UsageError(
                f"attach_remote({who}): port {endpoint.port} is already the port of "
                f"{other}, which an earlier attach_remote on this config set up; each "
                f"actor listens on a port of its own: pass port={endpoint.port + 1} and "
                "attach to each port from the IDE.")


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
    """Seconds to wait, or None (until the IDE attaches; also what an infinite timeout
    means: Python's waits take at most ``threading.TIMEOUT_MAX``)."""
    if timeout_s is None:
        return None
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, numbers.Real) or \
            not timeout_s > 0:
        raise UsageError(f"attach_remote(timeout_s=...) must be seconds > 0 or None (wait "
                         f"until the IDE attaches), got {timeout_s!r}.")
    if math.isinf(timeout_s):
        return None
    if timeout_s > threading.TIMEOUT_MAX:
        raise UsageError(f"attach_remote(timeout_s={timeout_s!r}) is longer than Python can "
                         f"wait ({threading.TIMEOUT_MAX:.0f} s); pass None to wait until the "
                         "IDE attaches.")
    return float(timeout_s)


_FIRST_RUNNER = 1


def _check_learner_index(config, learner_index) -> int:
    learners = int(getattr(config, "num_learners", 0) or 0)
    if not config.enable_rl_module_and_learner:
        raise UsageError("attach_remote(learner_index=...) targets a Learner of RLlib's new API "
                         "stack; this config uses the old stack, whose policies learn in the "
                         "driver (debug it directly).")
    if learners < 1:
        raise UsageError(
            "attach_remote(learner_index=...): the config has no remote Learners "
            "(num_learners=0), so the Learner already runs in this process: set breakpoints "
            "in the loss directly, or set config.learners(num_learners=1) to attach to a "
            "remote one.")
    if (isinstance(learner_index, bool) or not isinstance(learner_index, numbers.Integral)
            or not 0 <= learner_index < learners):
        raise UsageError(
            f"attach_remote(learner_index={learner_index!r}) does not exist: with "
            f"num_learners={learners} the remote Learners are {list(range(learners))}.")
    return int(learner_index)


def _attach_learner(config, learner_index, endpoint, wait, when, post_mortem):
    non_finite, loss_spike, spike_window = False, None, DEFAULT_SPIKE_WINDOW
    if when is not None:
        from collections.abc import Mapping

        from rldebug.ide.breakpoints import check_spike, said_in_when

        takes = {"non_finite", "loss_spike", "spike_window"}
        if not isinstance(when, Mapping) or set(when) - takes:
            raise UsageError(
                f"attach_remote(learner_index=..., when=...) takes a dict of "
                f"{sorted(takes)} (a minibatch's loss NaN/inf, or above loss_spike times its "
                f"running mean over spike_window minibatch updates), got {when!r:.100}; KL "
                "spikes are checked on the driver after each iteration: use rldebug.break_on.")
        non_finite = check_bool(when.get("non_finite", False),
                                "attach_remote(when={'non_finite': ...})")
        try:
            loss_spike = check_spike("loss_spike", when.get("loss_spike"))
        except UsageError as error:
            raise said_in_when(error, "attach_remote") from None
        if not non_finite and loss_spike is None:
            raise UsageError(
                f"attach_remote(learner_index=..., when={when!r:.80}) gives the Learner no "
                "condition to stop on: pass {'non_finite': True} or {'loss_spike': 3.0} (or "
                "leave when= out to wait for the IDE from the start).")
        spike_window = when.get("spike_window", spike_window)
        if isinstance(spike_window, bool) or not isinstance(spike_window, numbers.Integral) \
                or spike_window < MIN_SPIKE_HISTORY:
            raise UsageError(
                f"attach_remote(when={{'spike_window': ...}}) must be an int >= "
                f"{MIN_SPIKE_HISTORY} (minibatch updates in the running mean), got "
                f"{spike_window!r}.")
    learner_index = _check_learner_index(config, learner_index)
    _check_not_taken(config, endpoint, f"learner_index={learner_index}")
    settings = AttachLearnerSettings(
        learner_index=learner_index, endpoint=endpoint,
        wait=(when is None and not post_mortem) if wait is None else wait,
        post_mortem=post_mortem, non_finite=non_finite, loss_spike=loss_spike,
        spike_window=int(spike_window))
    attached = config.copy(copy_frozen=False)
    base = attached.learner_class
    attached.learners(learner_class=with_settings(
        AttachLearnerMixin, settings, learner=base, name=f"AttachRemote{base.__name__}"))
    return attached


def attach_remote(config, runner_index: int | None = None, port: int = DEFAULT_PORT,
                  wait: bool | None = None, *, learner_index: int | None = None, when=None,
                  post_mortem: bool = False, timeout_s: float | None = 300.0,
                  client: str = "vscode", ide_host: str | None = None):
    """Return a copy of ``config`` whose remote EnvRunner ``runner_index`` (or remote Learner
    ``learner_index``) waits for a debugger.

    By default, when that EnvRunner creates its env it calls ``debugpy.listen(("127.0.0.1",
    port))`` and ``debugpy.wait_for_client()``: building the algorithm blocks until the
    IDE's attach configuration connects (VS Code: "rldebug: attach to remote EnvRunner").
    Breakpoints in the env, connectors and env-side callbacks are then hit in that process.
    With ``client="pycharm"`` it is the other way round, as PyCharm debugs remote processes:
    PyCharm's "Python Debug Server" configuration listens on ``ide_host:port`` and the
    runner connects to it (``pydevd_pycharm.settrace``), retrying every second until it is
    there; breakpoints set in PyCharm are in place before the runner goes on.

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
    is raised); waiting from the start, too, lasts at most ``timeout_s``. The runner must
    be on this machine, or its port forwarded (it says how). Old and new API stack. The returned config has ``sample_timeout_s=None``: while the IDE
    holds the runner the driver waits for it (RLlib would otherwise drop a runner stopped
    for more than 60 s from the iteration and train without it).

    With ``learner_index`` (new API stack, ``num_learners >= 1``) the same for the remote
    Learner of that rank: by default it waits for the IDE when it is built (breakpoints in
    the loss are then hit there); ``when={"non_finite": True}`` waits when a minibatch's
    loss is NaN/inf, ``when={"loss_spike": F}`` when a module's minibatch loss exceeds F
    times the mean absolute loss of its last ``spike_window`` (default 20, at least 3) finite
    minibatch updates; either stops in ``stop_here`` with the ``batch`` and ``stats``
    (module id, loss, forward outputs) as locals; ``post_mortem=True`` stops at the frame that raised in
    an update (in IMPALA/APPO's learner thread too: the error then reaches the next ``update()``).

    :param config: an RLlib ``AlgorithmConfig`` with ``num_env_runners >= 1``.
    :param runner_index: which remote EnvRunner, 1..num_env_runners (default 1).
    :param learner_index: instead of an EnvRunner, the remote Learner of this rank,
        0..num_learners-1.
    :param port: VS Code: the local port the actor listens on, checked to be free now;
        PyCharm: the port of its debug server.
    :param wait: listen when the env is created and block until a client attaches; default
        True without ``when``/``post_mortem``, False with them (``wait=False`` needs one of
        them: it would leave the actor nothing to wait for).
    :param when: a dict of env-step conditions for a runner; for a Learner ``non_finite``,
        ``loss_spike`` and ``spike_window`` (see above).
    :param post_mortem: wait for the IDE at the raising frame when ``sample()`` raises.
    :param timeout_s: seconds to wait for the IDE, from the start or after a condition or
        an exception (None or ``math.inf``: until it attaches).
    :param client: ``"vscode"`` (debugpy; VS Code, Cursor, any DAP client) or ``"pycharm"``
        (pydevd-pycharm, ``pip install 'rldebug[pycharm]'`` on every node).
    :param ide_host: ``client="pycharm"`` only: where PyCharm's debug server listens, as the
        actor's node reaches it (default 127.0.0.1: the same machine, or an ``ssh -R``
        forward from the actor's node, which the actor prints).
    :raises TypeError: if ``config`` is not an ``AlgorithmConfig``.
    :raises ValueError: for a missing runner index, a port in use, an unknown condition or
        client, or ``client="pycharm"`` without pydevd-pycharm installed.
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from rldebug.ide._break_callback import BreakOnCallback
    from rldebug.ide.breakpoints import env_step_settings

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(f"attach_remote expects an RLlib AlgorithmConfig, got "
                             f"{type(config).__name__}: {config!r:.120}.")
    if wait is not None:
        wait = check_bool(wait, "attach_remote(wait=...)")
    post_mortem = check_bool(post_mortem, "attach_remote(post_mortem=...)")
    if wait is False and when is None and not post_mortem:
        raise UsageError(
            "attach_remote(wait=False) without when= or post_mortem=True leaves the actor "
            "nothing to wait for the IDE at: give a condition (when={'non_finite': True}), "
            "post_mortem=True, or leave wait out to wait from the start.")
    if learner_index is not None:
        if runner_index is not None:
            raise UsageError("attach_remote: pass runner_index= (an EnvRunner) or "
                             "learner_index= (a Learner), not both.")
        return _attach_learner(config, learner_index,
                               _endpoint(client, port, ide_host, timeout_s), wait, when,
                               post_mortem)
    runner_index = _check_runner_index(
        config, _FIRST_RUNNER if runner_index is None else runner_index)
    endpoint = _endpoint(client, port, ide_host, timeout_s)
    _check_not_taken(config, endpoint, f"runner_index={runner_index}")
    conditional = when is not None or post_mortem
    settings = AttachRemoteSettings(
        runner_index=runner_index, endpoint=endpoint,
        wait=(not conditional) if wait is None else wait, post_mortem=post_mortem)
    config = add_callbacks(config, with_settings(AttachRemoteCallback, settings,
                                                 name="AttachRemote"))
    # A runner held in the IDE is not late: RLlib would drop it from the iteration after
    # sample_timeout_s (60 s by default) and go on without it.
    config.env_runners(sample_timeout_s=None)
    if when is not None:
        conditions = replace(env_step_settings(config, when, "attach_remote"),
                             attach=settings)
        config = add_callbacks(config, with_settings(BreakOnCallback, conditions,
                                                     name="AttachRemoteWhen"))
    return config


__all__ = ["CLIENTS", "DEFAULT_PORT", "HOST", "AttachLearnerMixin", "AttachLearnerSettings",
           "AttachRemoteCallback", "AttachRemoteSettings", "attach_remote", "port_in_use"]
