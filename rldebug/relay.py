"""Records made in remote Ray actors (EnvRunners, Learners) reach the driver through Ray.

A tool that records in remote processes (the trace, ``break_on``) names a relay by a
token. The process that runs the Algorithm (its callbacks get ``on_algorithm_init``)
becomes the *home* of the token and starts a small relay actor (0 CPUs, owned by the
home, ended by :func:`end_at_stop` when the Algorithm stops, and named for the token
and the home's pid: Tune trials of one traced config each have their own) and
:func:`announce` tells the Algorithm's
remote EnvRunners and Learners its name (again for a recreated EnvRunner). Every
other process buffers its records and pushes them to the relay in batches (one call
per ``sample()`` or update), and the home drains the relay once per iteration. No
process but the home touches the files: nodes need no shared filesystem.

In one process (local mode, ``rldebug debug``) the home is that process and no
actor is started.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

logger = logging.getLogger("rldebug.relay")

PUSH_TIMEOUT_S = 30.0
_homes: set[str] = set()
_handles: dict[str, Any] = {}
_names: dict[str, str] = {}  # token -> the relay this process sends to (announced by home)
_lock = threading.Lock()


class _Relay:
    """The actor: a list of pushed items, handed over (and emptied) by ``drain``; and the
    stall watch's channel for stacks: a request counter the actors poll, and the stacks
    they answer with."""

    def __init__(self):
        self._items: list = []
        self._stack_requests = 0
        self._stacks: list = []

    def push(self, items: list) -> int:
        self._items.extend(items)
        return len(self._items)

    def drain(self) -> list:
        items, self._items = self._items, []
        return items

    def request_stacks(self) -> int:
        self._stack_requests += 1
        self._stacks = []
        return self._stack_requests

    def stack_requests(self) -> int:
        return self._stack_requests

    def answer_stacks(self, entry: dict) -> None:
        self._stacks.append(entry)

    def take_stacks(self) -> list:
        stacks, self._stacks = self._stacks, []
        return stacks


def relay_name(token: str, home_pid: int) -> str:
    return f"rldebug_relay_{token}_{home_pid}"


def ray_running() -> bool:
    try:
        import ray

        return ray.is_initialized()
    except ImportError:
        return False


def make_home(token: str, remote_actors: bool = True) -> None:
    """Make this process the home of ``token``: it writes, and (with Ray running and
    ``remote_actors`` to hear from) it owns the relay they push to."""
    with _lock:
        _homes.add(token)
        if token in _handles or not remote_actors or not ray_running():
            return
    import os

    import ray

    actor = ray.remote(num_cpus=0, max_concurrency=4)(_Relay)
    name = relay_name(token, os.getpid())
    handle = actor.options(name=name, get_if_exists=True).remote()
    with _lock:
        _handles[token] = handle
        _names[token] = name


def _learn_name(token: str, name: str) -> None:
    """Run in a remote process: from now on it sends ``token``'s records to ``name``."""
    with _lock:
        if _names.get(token) != name:
            _names[token] = name
            _handles.pop(token, None)


def announce(token: str, algorithm, runner_indices=None) -> None:
    """At the home: tell the Algorithm's remote EnvRunners (all, or ``runner_indices``)
    and remote Learners which relay to send ``token``'s records to."""
    name = _names.get(token)
    if name is None:
        return

    def learn(actor, _token=token, _name=name):
        from rldebug.relay import _learn_name

        _learn_name(_token, _name)

    for group in (getattr(algorithm, "env_runner_group", None),
                  getattr(algorithm, "eval_env_runner_group", None)):
        if group is not None and group.num_remote_env_runners() > 0:
            group.foreach_env_runner(learn, local_env_runner=False,
                                     remote_worker_ids=runner_indices,
                                     timeout_seconds=PUSH_TIMEOUT_S)
    learners = getattr(algorithm, "learner_group", None)
    if learners is not None and not learners.is_local and runner_indices is None:
        learners.foreach_learner(learn, timeout_seconds=PUSH_TIMEOUT_S)


def is_home(token: str) -> bool:
    return token in _homes


def _handle(token: str):
    with _lock:
        if token in _handles:
            return _handles[token]
    name = _names.get(token)
    if name is None or not ray_running():
        return None  # not told yet where home is: the caller keeps its records
    import ray

    try:
        handle = ray.get_actor(name)
    except ValueError:  # gone: its home has ended
        return None
    with _lock:
        _handles[token] = handle
    return handle


_inflight: dict[str, Any] = {}  # token -> this process's last push, not yet confirmed


def push(token: str, items: list, wait: bool = False) -> bool:
    """Send ``items`` to the home of ``token``. False when there is no relay to send to
    (the caller keeps them). Without ``wait`` the push is confirmed at the next one, so
    sending costs the sender almost nothing; ``wait`` (before an exception leaves the
    process) returns once the relay holds them."""
    handle = _handle(token)
    if handle is None:
        return False
    import ray

    try:
        previous = _inflight.pop(token, None)
        if previous is not None:
            ray.get(previous, timeout=PUSH_TIMEOUT_S)
        ref = handle.push.remote(items)
        if wait:
            ray.get(ref, timeout=PUSH_TIMEOUT_S)
        else:
            _inflight[token] = ref
    except Exception as err:  # noqa: BLE001 - the relay is gone (its home ended)
        logger.warning("rldebug: could not send %d record(s) to the driver: %s",
                       len(items), err)
        with _lock:
            _handles.pop(token, None)
        return False
    return True


def drain(token: str) -> list:
    """At the home: everything pushed since the last drain."""
    with _lock:
        handle = _handles.get(token)
    if handle is None:
        return []
    import ray

    return ray.get(handle.drain.remote(), timeout=PUSH_TIMEOUT_S)


def _call(token: str, method: str, *args, home: bool = False, timeout_s: float = 5.0):
    """``method`` of ``token``'s relay (the home's handle with ``home``), or None when
    there is none or it does not answer in time."""
    if home:
        with _lock:
            handle = _handles.get(token)
    else:
        handle = _handle(token)
    if handle is None:
        return None
    import ray

    try:
        return ray.get(getattr(handle, method).remote(*args), timeout=timeout_s)
    except Exception as err:  # noqa: BLE001 - the relay is gone or busy: no stacks this time
        logger.debug("relay %s: %s failed: %s", token, method, err)
        return None


def request_stacks(token: str) -> bool:
    """At the home: ask every process that answers stacks for ``token`` (see
    :func:`stack_requests`) for its stacks. False without a relay."""
    return _call(token, "request_stacks", home=True) is not None


def stack_requests(token: str, timeout_s: float = 5.0) -> int | None:
    """In a remote process: how many times the home asked for stacks so far (None before
    the home announced its relay, or without one)."""
    return _call(token, "stack_requests", timeout_s=timeout_s)


def answer_stacks(token: str, entry: dict) -> None:
    """In a remote process: send this process's stacks (``entry``) to the home."""
    _call(token, "answer_stacks", entry)


def take_stacks(token: str) -> list:
    """At the home: the stacks answered since the last request."""
    return _call(token, "take_stacks", home=True) or []


def end_at_stop(token: str, algorithm, collect) -> None:
    """At the home: when ``algorithm`` stops, ``collect()`` what its actors pushed (after
    the last iteration, and on their way out while they stop), then end the relay actor.
    A relay lives as long as the Algorithm it serves, not as long as the process: a
    notebook or test session that runs many traced Algorithms keeps no idle actor for each.
    ``collect`` failing is logged; stopping goes on."""
    stop = algorithm.stop

    def collect_safely() -> None:
        try:
            collect()
        except Exception as err:  # noqa: BLE001 - stopping must not fail for a recorder
            logger.warning("rldebug: could not collect the last remote records: %s", err)

    def stop_then_end_relay(*args, **kwargs):
        collect_safely()
        try:
            return stop(*args, **kwargs)
        finally:
            collect_safely()
            _end(token)

    algorithm.stop = stop_then_end_relay


def _end(token: str) -> None:
    with _lock:
        handle = _handles.pop(token, None)
        _names.pop(token, None)
        _inflight.pop(token, None)
    if handle is None or not ray_running():
        return
    import ray

    try:
        ray.kill(handle, no_restart=True)
    except Exception as err:  # noqa: BLE001 - already gone with its owner
        logger.debug("relay %s already ended: %s", token, err)


def has_remote_actors(config) -> bool:
    """Whether the Algorithm of ``config`` starts EnvRunner or Learner actors."""
    return any(getattr(config, name, 0) or 0 for name in (
        "num_env_runners", "evaluation_num_env_runners", "num_learners"))


__all__ = ["announce", "answer_stacks", "drain", "end_at_stop", "has_remote_actors", "is_home",
           "make_home", "push", "ray_running", "relay_name", "request_stacks", "stack_requests",
           "take_stacks"]
