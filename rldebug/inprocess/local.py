"""In-process mode: the replacement for the removed ``ray.init(local_mode=True)``.

``local_mode(config)`` rewrites any RLlib ``AlgorithmConfig`` (both API stacks)
so that sampling, learning and evaluation all run in the calling process: no
EnvRunner, Learner, aggregator or evaluation actors. Breakpoints in the env,
the RLModule/model, the loss and callbacks are then hit in an IDE.

An in-process Algorithm needs no Ray instance: RLlib only ``ray.put``s and
``ray.get``s its own objects (the config at build, one dict per iteration), and
``ray.put`` would start Ray for that. :func:`ray_for` gives such a config an
in-process object store instead (while Ray is not running, ``ray.put`` keeps the
value in this process and ``ray.get`` hands it back; once Ray runs, both are Ray's
own), and starts Ray, on loopback and as lightly as possible (:func:`start_ray`),
only for a config with remote actors.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import warnings
import weakref
from dataclasses import dataclass, field

from rldebug.usage import UsageError, UsageTypeError, check_bool

# Settings that place RLlib work in other processes, and their in-process value.
_IN_PROCESS_SETTINGS = {
    "num_env_runners": 0,
    "num_learners": 0,
    "num_aggregator_actors_per_learner": 0,
    "evaluation_num_env_runners": 0,
    "evaluation_parallel_to_training": False,
    "num_offline_eval_runners": 0,
    "offline_evaluation_parallel_to_training": False,
    "gym_env_vectorize_mode": "sync",
    "remote_worker_envs": False,
}


class LocalModeWarning(UserWarning):
    """Something in the config will still run user code outside this process."""


@dataclass
class LocalModeChanges:
    """What ``local_mode`` changed, and what it could not bring in-process."""

    changed: dict[str, tuple] = field(default_factory=dict)
    still_remote: list[str] = field(default_factory=list)


def _require_config(config, caller: str):
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(
            f"rldebug.{caller} expects an RLlib AlgorithmConfig (for example "
            "PPOConfig().environment(...) or rldebug.arena_ppo_config()), got "
            f"{type(config).__name__}: {config!r:.120}. For a built Algorithm pass "
            "algo.config.copy(copy_frozen=False); for a dict use "
            "AlgorithmConfig.from_dict(d)."
        )


def _current(config, name):
    value = getattr(config, name, None)
    return getattr(value, "value", value)  # gymnasium's VectorizeMode enum -> str


def local_mode_changes(config) -> LocalModeChanges:
    """Report what :func:`local_mode` would change in ``config`` (which stays untouched)."""
    _require_config(config, "local_mode_changes")
    report = LocalModeChanges()
    for name, wanted in _IN_PROCESS_SETTINGS.items():
        current = _current(config, name)
        if hasattr(config, name) and current != wanted:
            report.changed[name] = (current, wanted)
    if "evaluation_parallel_to_training" in report.changed and \
            getattr(config, "evaluation_duration", None) == "auto":
        # RLlib refuses "auto" (as long as training takes) for evaluation that does not
        # run beside training: RLlib's default duration (10 episodes) instead, or in
        # timesteps as many as one training iteration samples
        from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

        duration = AlgorithmConfig().evaluation_duration
        if getattr(config, "evaluation_duration_unit", "episodes") == "timesteps":
            duration = int(getattr(config, "total_train_batch_size", None)
                           or config.train_batch_size or duration)
        report.changed["evaluation_duration"] = ("auto", duration)
    if config.is_offline:
        report.still_remote.append(
            f"offline input ({config.input_!r}) is read by Ray Data tasks in other "
            "processes; breakpoints in the reading code are not hit"
        )
    from rldebug.callbacks.compose import configured_callbacks

    for cls in configured_callbacks(config.callbacks_class):
        if getattr(cls, "requires_remote_env_runners", False):
            report.still_remote.append(
                f"{cls.__name__} needs a remote EnvRunner (rldebug.attach_remote), which "
                "local mode removes: it will not open its debugger listener")
    if getattr(config, "offline_evaluation_interval", None):
        report.still_remote.append(
            "offline evaluation (offline_evaluation_interval) uses Ray Data tasks"
        )
    return report


_RE_REGISTERED = r"(?s).*Overriding environment rllib-(single|multi)-agent-env-v0 already in"


def local_mode(config, warn: bool = True, check_env: bool = True):
    """Return a copy of ``config`` that runs everything in the calling process.

    Sets ``num_env_runners``, ``num_learners``, aggregator actors and
    evaluation/offline-evaluation runners to 0 (evaluation then runs in the
    local EnvRunner), vectorised envs to ``sync`` and, on the old stack,
    ``remote_worker_envs`` to False. Anything that still runs outside the
    process (offline data read through Ray Data) is reported with a
    :class:`LocalModeWarning`; :func:`local_mode_changes` lists the changes.

    :param config: any RLlib ``AlgorithmConfig`` (new or old API stack).
    :param warn: emit the :class:`LocalModeWarning` for what stays remote.
    :param check_env: add :class:`rldebug.envcheck.PassiveEnvCheck`, which checks every
        ``reset``/``step`` result of your env and names the first violation with its
        step and agent (False to leave it out).
    :raises TypeError: if ``config`` is not an ``AlgorithmConfig``.
    """
    warn = check_bool(warn, "local_mode(warn=...)")
    check_env = check_bool(check_env, "local_mode(check_env=...)")
    _require_config(config, "local_mode")
    # Every EnvRunner registers RLlib's env wrapper with gymnasium under one id; a second
    # one in this process (evaluation's, the next trial's) re-registers it, and gymnasium
    # warns as if the user's env were replaced.
    warnings.filterwarnings("ignore", message=_RE_REGISTERED)
    report = local_mode_changes(config)
    local = config.copy(copy_frozen=False)
    for name, (_, wanted) in report.changed.items():
        setattr(local, name, wanted)
    if check_env:
        from rldebug.callbacks.compose import add_callbacks, configured_callbacks
        from rldebug.envcheck.passive import PassiveEnvCheck

        if not any(isinstance(c, type) and issubclass(c, PassiveEnvCheck)  # or a partial
                   for c in configured_callbacks(local.callbacks_class)):
            local = add_callbacks(local, PassiveEnvCheck)
    # what it was given, for a checkpoint saved under rldebug debug (as_given)
    _GIVEN[local] = {**{name: was for name, (was, _) in report.changed.items()},
                     "callbacks_class": config.callbacks_class, **_GIVEN.get(config, {})}
    if warn:
        for reason in report.still_remote:
            warnings.warn(f"rldebug.local_mode: {reason}.", LocalModeWarning, stacklevel=2)
    return local


# local_mode's configs -> the settings it changed, as they were given
_GIVEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def given_settings(config) -> dict | None:
    """The settings :func:`local_mode` changed in ``config`` (or in the config it is a
    copy of: ``build_algo()`` builds from a deep copy), as the caller gave them (its
    EnvRunners, Learners, callbacks); None for a config local_mode did not make."""
    if config in _GIVEN:
        return _GIVEN[config]
    for made, settings in list(_GIVEN.items()):
        try:
            if made.to_dict() == config.to_dict():
                return settings
        except Exception:  # noqa: BLE001, S112 - values that do not compare (arrays)
            continue
    return None


def as_given(config, settings: dict):
    """A copy of ``config`` with ``settings`` (:func:`given_settings`) put back."""
    restored = config.copy(copy_frozen=False)
    for name, value in settings.items():
        setattr(restored, name, value)
    return restored


def is_local(config) -> bool:
    """True when ``config`` creates no EnvRunner, Learner or evaluation actors."""
    _require_config(config, "is_local")
    return not local_mode_changes(config).changed


def cpus_needed(config) -> int:
    """Logical CPUs Ray needs for ``config`` built directly: main process + runners + learners."""
    _require_config(config, "cpus_needed")
    per_runner = _whole_cpus(config.num_cpus_per_env_runner)
    per_learner = _whole_cpus(getattr(config, "num_cpus_per_learner", 1))
    return (1 + (config.num_env_runners + config.evaluation_num_env_runners) * per_runner
            + config.num_learners * per_learner)


def _whole_cpus(value) -> int:
    """CPUs one actor asks for, rounded up; RLlib's ``"auto"`` and None count as 1."""
    if value in (None, "auto"):
        return 1
    return max(1, math.ceil(float(value)))


def in_process_put(original):
    """``ray.put`` that, while Ray is not running, returns the value itself to RLlib.

    RLlib hands what it puts to code in the same process that resolves it in one of two
    ways: ``ray.get(ref)`` (answered by :func:`in_process_get`), or ``x = ray.get(x) if
    isinstance(x, ray.ObjectRef) else x`` (IMPALA/APPO's learner thread sends the module
    state to the EnvRunner this way): only the value itself satisfies both, since no
    stand-in object can be a ``ray.ObjectRef`` without a running Ray. Your own code's
    ``ray.put`` is Ray's: it starts Ray as plain Ray does, and gives a real ObjectRef
    that ``ray.wait`` and remote tasks take."""
    @functools.wraps(original)
    def put(value, *args, **kwargs):
        import ray

        if ray.is_initialized() or args or kwargs or not called_from(sys._getframe(1), "ray.rllib"):
            return original(value, *args, **kwargs)
        return value
    put._rldebug_in_process = True
    return put


def in_process_get(original):
    """``ray.get`` that hands RLlib back what :func:`in_process_put` returned it (the
    values themselves); real ObjectRefs, and your own code's calls once Ray runs, go to
    Ray's own ``get``."""
    @functools.wraps(original)
    def get(refs, *args, **kwargs):
        import ray

        if _has_object_ref(refs, ray.ObjectRef) or (
                ray.is_initialized() and not called_from(sys._getframe(1), "ray")):
            return original(refs, *args, **kwargs)
        return refs
    get._rldebug_in_process = True
    return get


def called_from(frame, *packages: str) -> bool:
    """Whether the frame's code is in one of ``packages`` (``"ray.rllib"``, ``"ray"``,
    ``"rldebug"``) or their subpackages, not the user's script or notebook."""
    name = frame.f_globals.get("__name__", "") if frame is not None else ""
    return any(name == package or name.startswith(package + ".") for package in packages)


def _has_object_ref(refs, object_ref) -> bool:
    if isinstance(refs, (list, tuple)):
        return any(isinstance(r, object_ref) for r in refs)
    return isinstance(refs, object_ref)


def use_in_process_store() -> None:
    """Install :func:`in_process_put`/:func:`in_process_get` in this process (once)."""
    import ray

    if not getattr(ray.put, "_rldebug_in_process", False):
        ray.put = in_process_put(ray.put)
    if not getattr(ray.get, "_rldebug_in_process", False):
        ray.get = in_process_get(ray.get)


def ray_for(config) -> bool:
    """Make ``config`` buildable here: an in-process config gets the in-process object
    store (no Ray instance; a running one is used as it is), a config with remote actors
    gets Ray (:func:`start_ray`). Returns True if this call started Ray."""
    import ray

    if ray.is_initialized():
        return False
    if is_local(config):
        use_in_process_store()
        return False
    return start_ray(num_cpus=cpus_needed(config))


#: Ray's switch for listening beyond loopback (only "1"/"true" turn it on)
CLUSTER_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _user_wants_cluster_binding() -> bool:
    return os.environ.get(CLUSTER_SWITCH, "").lower() in ("1", "true")


def ray_listeners() -> list[tuple[int, str, str, int]]:
    """``(pid, process name, address, port)`` of every socket listening in this process
    and its descendants (Ray's GCS, raylet, agents and workers when this process started
    Ray). Processes whose sockets cannot be read are left out."""
    import psutil

    me = psutil.Process()
    listening = []
    for process in [me, *me.children(recursive=True)]:
        try:
            name = process.name()
            for conn in process.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    listening.append((process.pid, name, conn.laddr.ip, conn.laddr.port))
        except (psutil.Error, OSError):
            continue
    return listening


def is_loopback(address: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _is_loopback_address(address: str) -> bool:
    """``address`` (``host:port``, ``ray://host:port``, ``localhost``) names this host's
    loopback. ``auto`` and other names are not assumed to."""
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return is_loopback(host)
    except ValueError:
        return False


def _say_if_exposed() -> None:
    """Warn once if a listener of the Ray just started is on another interface."""
    try:
        exposed = [entry for entry in ray_listeners() if not is_loopback(entry[2])]
    except Exception as err:  # noqa: BLE001 - a check that cannot run must not stop the run
        warnings.warn(f"rldebug could not list Ray's listening sockets ({err}); it cannot "
                      "confirm that Ray listens on loopback only.", RuntimeWarning, stacklevel=3)
        return
    if exposed:
        shown = ", ".join(f"{name} (pid {pid}) on {ip}:{port}"
                          for pid, name, ip, port in exposed[:6])
        reason = (f"{CLUSTER_SWITCH}={os.environ[CLUSTER_SWITCH]} is set"
                  if _user_wants_cluster_binding() else "Ray ignored the loopback setting")
        warnings.warn(f"Ray listens beyond loopback: {shown} ({reason}). Anyone who can reach "
                      "this host can reach these ports while the run lasts.", RuntimeWarning,
                      stacklevel=3)


def start_ray(num_cpus: int | None = None, address: str | None = None, **init_kwargs) -> bool:
    """Start (or connect to) Ray for rldebug; a no-op if Ray is already running.

    Without ``address`` it starts a light local instance: every listener on
    loopback (127.0.0.1; plain ``ray.init()`` listens on all interfaces), no
    dashboard, ``num_cpus`` logical CPUs (default 1, enough for a local-mode run;
    then no idle worker is prestarted either), and no usage-stats reporting. If a
    listener ends up on another interface anyway (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1``
    set by the user), it warns once, naming it. With ``address`` it joins that
    cluster as Ray's defaults do. Returns True if this call started or connected Ray.
    """
    import inspect

    import ray
    from ray._private import ray_constants

    known = set(inspect.signature(ray.init).parameters) - {"kwargs"}
    unknown = sorted(k for k in init_kwargs if k not in known and not k.startswith("_"))
    if unknown and "://" not in str(address or ""):  # a ray:// client takes more; said
        # whether or not Ray runs already
        raise UsageTypeError(f"start_ray passes its keywords to ray.init, which takes none "
                             f"named {unknown}; it takes {sorted(known)}.")
    if ray.is_initialized():
        return False
    if num_cpus is not None and (not isinstance(num_cpus, int) or num_cpus < 1):
        raise UsageError(f"num_cpus must be a positive int, got {num_cpus!r}.")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        # A cluster on loopback (one rldebug started) is joined on loopback; any other
        # cluster needs this host's own address, Ray's default.
        ray_constants.ENABLE_RAY_CLUSTER = (_user_wants_cluster_binding()
                                            or not _is_loopback_address(address))
        ray.init(address=address, **init_kwargs)
        return True
    init_kwargs.setdefault("include_dashboard", False)
    init_kwargs.setdefault("configure_logging", False)
    if (num_cpus or 1) == 1:
        # In-process runs start no actors: a prestarted idle worker would only
        # compete with the driver's own start-up for the CPU.
        init_kwargs.setdefault("_system_config", {"enable_worker_prestart": False})
    # Ray reads this at call time (services.get_node_ip_address): False binds every
    # server it starts (GCS, raylet, agents, workers) to 127.0.0.1.
    ray_constants.ENABLE_RAY_CLUSTER = _user_wants_cluster_binding()
    ray.init(num_cpus=num_cpus or 1, **init_kwargs)
    _say_if_exposed()
    return True


__all__ = ["LocalModeChanges", "LocalModeWarning", "cpus_needed",
           "in_process_get", "in_process_put", "is_local", "is_loopback", "local_mode",
           "local_mode_changes", "ray_for", "ray_listeners", "start_ray",
           "use_in_process_store"]
