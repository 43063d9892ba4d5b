"""What a reproducible trace keeps so that ``rldebug.reproduce`` can re-run a step or update.

Three parts, each written where it happens:

- :class:`EpisodeRecorder`, in every EnvRunner: gives every env reset an explicit
  seed (``reset(seed=...)``, the one thing gymnasium promises makes an episode
  repeatable), snapshots the env object as it was just before that reset (what it
  carries across episodes: counters, curricula, RNGs; :func:`env_snapshot`) and the
  EnvRunner's connector pipelines' state then (a ``MeanStdFilter``'s running statistics:
  :func:`connector_snapshot`), and tapes the actions each env received, with a short
  digest of what it returned
  (:func:`step_digest`), by which a replay knows whether it follows the recording. A
  finished episode goes to a ring of the last few ``sample()`` calls; an episode with an event (a non-finite
  observation or reward, a named info event, an env that raised, a ``sample()`` that
  crashed) is kept for good, and written the moment the event happens, so a crash that follows
  cannot lose it. Replaying the seed and the taped actions re-runs the episode
  exactly, whatever the policy's sampling did (several envs per runner share one
  batched forward pass, so the torch RNG alone could not).
- :class:`WeightsRing`, in the driver: each iteration's module weights, the last
  ``keep`` of them plus every iteration with a trace event or a doctor finding
  (and the one before it, whose weights sampled it).
- :func:`learner_snapshot` / :func:`write_update_snapshot`, in the Learner: its
  state, RNG states and inputs before every update, held in memory and written
  only when that update has an event (a non-finite loss or gradient).

Records are JSON lines (actions as :func:`encode` writes them); weights and
snapshots are pickles. :mod:`rldebug.tracing.layout` names the files.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import random
import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np

from rldebug.shapes.episodes import episode_id
from rldebug.tracing.layout import (
    episode_ring_file,
    episode_rings_dir,
    file_name,
    kept_episodes_file,
    replay_config_file,
    update_snapshot_file,
    weights_file,
)
from rldebug.usage import UsageError

DEFAULT_KEEP = 3  # iterations of weights / sample() calls of episodes kept in the rings


# -- actions as JSON ------------------------------------------------------------


def encode(value: Any) -> Any:
    """An action (int, numpy scalar or array, dict, tuple) as JSON that :func:`decode`
    turns back into the same values and dtypes (floats round-trip exactly)."""
    if isinstance(value, dict):
        return {"m": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"t": [encode(v) for v in value]}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return value
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    return {"a": array.tolist(), "d": array.dtype.str, "s": list(array.shape)}


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "m" in value:
            return {k: decode(v) for k, v in value["m"].items()}
        if "t" in value:
            return tuple(decode(v) for v in value["t"])
        array = np.asarray(value["a"], dtype=np.dtype(value["d"]))
        return array.reshape(value["s"]) if value["s"] else array[()]
    return value


def decode_env_action(value: Any, agent_keys: dict | None) -> Any:
    """A taped env action; a multi-agent dict gets the env's own agent ids back
    (JSON keys are strings; ``agent_keys`` maps them to the env's ids)."""
    action = decode(value)
    if agent_keys and isinstance(action, dict):
        return {agent_keys.get(k, k): v for k, v in action.items()}
    return action


def step_digest(obs: Any, reward: Any = None) -> str:
    """Eight hex digits of what the env returned at one step (its observation and reward;
    ``reset``'s observation with no reward): a replay that gets other values from the
    same seed and actions has left the recorded episode, which these show without
    storing the observations."""
    import hashlib

    digest = hashlib.blake2b(digest_size=4)
    _feed(digest, obs)
    _feed(digest, reward)
    return digest.hexdigest()


def _feed(digest, value: Any) -> None:
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            digest.update(f"<{key}>".encode())
            _feed(digest, value[key])
        return
    if isinstance(value, (tuple, list)):
        digest.update(b"(")
        for part in value:
            _feed(digest, part)
        digest.update(b")")
        return
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == object:  # its repr may hold a memory address: only its type is fed
        digest.update(type(value).__name__.encode())
    else:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())


def _relpath(path: Path) -> str:
    """A layout path made with an empty trace directory, as the sink's relative path."""
    return path.as_posix()


def _write_line(sink, path: Path, record: dict) -> None:
    sink.append(_relpath(path), json.dumps(record, default=repr) + "\n")


# -- the config ----------------------------------------------------------------


def save_config(trace_dir: str | Path, config, level: str) -> None:
    """Pickle the config as the user gave it (before tracing), for the replay to rebuild."""
    import cloudpickle

    from rldebug.tracing.store import TraceStore

    try:
        data = cloudpickle.dumps({"config": config, "level": level, "time": time.time()})
    except Exception as err:
        raise UsageError(
            f"rldebug.trace(reproducible=True) must save the config to replay it, but it "
            f"cannot be pickled: {type(err).__name__}: {err}. Ray pickles configs the same "
            "way to start remote EnvRunners; make the env, callbacks and mapping function "
            "importable (module-level) objects.") from err
    TraceStore(trace_dir).write_bytes(_relpath(replay_config_file("")), data)


def save_trial_config(sink, config) -> None:
    """In a Tune trial's process: the values its Algorithm was built with (``config``'s
    dict, the search space resolved), for the replay of an event of this trial. The
    config the trace saved was the one given to Tune, whose searched values are
    ``{"grid_search": [...]}`` or sampling domains that no Algorithm builds with."""
    import cloudpickle

    from rldebug.tracing.layout import trial_config_file

    try:
        data = cloudpickle.dumps(config.to_dict())
    except Exception:  # noqa: BLE001 - it was pickled once to reach this trial
        return
    sink.write_bytes(_relpath(trial_config_file("")), data)


def _is_searched(value) -> bool:
    """A Tune search space value: ``tune.grid_search(...)`` or a sampling domain."""
    if isinstance(value, dict):
        return "grid_search" in value or any(_is_searched(v) for v in value.values())
    return type(value).__module__.startswith("ray.tune.search")


def load_config(trace_dir: str | Path) -> dict:
    """What the trace saved to replay: ``{"config": ..., "level": ...}``; for a Tune
    trial's trace, the config with the trial's own values where Tune searched."""
    import cloudpickle

    from rldebug.tracing.layout import trial_config_file

    path = replay_config_file(trace_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(trace_dir)!r} is not a reproducible trace (no {path.name}). Trace with "
            "rldebug.trace(config, reproducible=True) (or rldebug.run(..., trace=..., "
            "reproducible=True)) to record what a replay needs.")
    try:
        saved = _unpickled(path, cloudpickle.load)
    except ModuleNotFoundError as err:  # the user's env or callbacks, by reference
        raise UsageError(
            f"The traced config in {str(path)!r} needs the module {err.name!r}, which "
            "this Python cannot import: run from the folder the training ran in, or add "
            f"the folder of {err.name!r} to PYTHONPATH.") from None
    trial = trial_config_file(trace_dir)
    if trial.is_file():
        values = _unpickled(trial, cloudpickle.load)
        config = saved["config"].copy(copy_frozen=False)
        searched = {key: values[key] for key, value in config.to_dict().items()
                    if key in values and _is_searched(value)}
        saved["config"] = config.update_from_dict(searched)
    return saved


# -- the env's own state across episodes -------------------------------------------

# Attributes rldebug's wrappers (and the passive checker) set on an env instance, and
# gymnasium's registration record (``spec``, set again by every ``gym.make``).
_NOT_STATE = frozenset({"reset", "step", "spec", "_cached_spec"})


def _user_env(env: Any) -> Any:
    return getattr(env, "unwrapped", env)


def _layers(env: Any) -> list:
    """The env and every wrapper inside it (``.env``), outermost first, the unwrapped env
    last: a user's ``gym.Wrapper`` keeps its own state (a counter, a curriculum) too."""
    layers, seen = [], set()
    while env is not None and id(env) not in seen:
        layers.append(env)
        seen.add(id(env))
        inner = vars(env).get("env") if hasattr(env, "__dict__") else None
        env = inner if inner is not None and inner is not env else None
    inner = _user_env(layers[0])
    if inner is not layers[-1]:
        layers.append(inner)
    return layers


def _own_state(layer: Any) -> dict:
    """A layer's own attributes: not the env it wraps, nor rldebug's methods on it."""
    return {k: v for k, v in vars(layer).items()
            if k not in _NOT_STATE and k != "env" and not k.startswith("_rldebug")}


def env_snapshot(env: Any) -> bytes:
    """The user's env object's own attributes (``vars(env.unwrapped)``, without the
    methods rldebug put on the instance) and every wrapper's around it, cloudpickled:
    what they carry from one episode to the next. Raises whatever pickling the env
    itself raises (open sockets, simulator handles, locks); what a wrapper holds that
    does not pickle is left as the replay builds it."""
    import cloudpickle

    layers = _layers(env)
    state = _own_state(layers[-1])
    try:
        inner = cloudpickle.dumps(state)
    except Exception:
        for name, value in state.items():  # name the attribute that cannot be pickled
            try:
                cloudpickle.dumps(value)
            except Exception as err:
                raise TypeError(f"attribute {name!r}: {err}") from err
        raise
    wrappers = []
    for layer in layers[:-1]:  # what a wrapper cannot pickle is left as the replay builds it
        kept = {}
        for name, value in _own_state(layer).items():
            with contextlib.suppress(Exception):  # a wrapper's state is a bonus, not the env's
                kept[name] = cloudpickle.dumps(value)
        wrappers.append((type(layer).__name__, kept))
    return cloudpickle.dumps({"env": inner, "wrappers": wrappers})


def restore_env(env: Any, snapshot: bytes) -> None:
    """Put an :func:`env_snapshot` back into a freshly built env of the same class (and
    each wrapper's state into the wrapper of the same class at the same place)."""
    import cloudpickle

    layers = _layers(env)
    saved = cloudpickle.loads(snapshot)
    if not (isinstance(saved, dict) and set(saved) == {"env", "wrappers"}):
        vars(layers[-1]).update(saved)  # a trace written before wrappers were kept
        return
    vars(layers[-1]).update(cloudpickle.loads(saved["env"]))
    for layer, (name, state) in zip(layers[:-1], saved["wrappers"]):
        if type(layer).__name__ == name:
            vars(layer).update({key: cloudpickle.loads(value) for key, value in state.items()})


# -- episodes, in the EnvRunner -------------------------------------------------


class _Tape:
    """One episode of one sub-env: its reset seed and every action the env received."""

    def __init__(self, seed: int, options, sample_call: int, env_index: int):
        self.seed = seed
        self.env_index = env_index
        self.options = options
        self.actions: list = []
        self.episode_id: str | None = None
        self.started = time.time()
        self.sample_call = sample_call
        self.events: list[dict] = []
        self.multi_agent = False
        self.env_state: str | None = None  # base64 of env_snapshot() before the reset
        self.connector_state: str | None = None  # base64 of connector_snapshot() then
        self.digests: list[str] = []  # step_digest of the reset and of every step
        self.info_digests: list[str] = []  # step_digest of the info dict of each


class EpisodeRecorder:
    """Tapes one EnvRunner's episodes (see the module docstring)."""

    def __init__(self, sink, role: str, identity: dict, keep: int = DEFAULT_KEEP,
                 seed: int | None = None, runner: Any = None):
        self.sink = sink
        self.runner = runner  # the EnvRunner, whose connector pipelines keep state
        self.role = role
        self.pid = os.getpid()
        self.identity = identity
        self.keep = keep
        # A seeded config (debugging(seed=...)) gets the same episode seeds every run.
        self._base_seed = (secrets.randbits(30) if seed is None else
                           (int(seed) * 1_000_003 + int(identity.get("runner_index", 0)) * 7919
                            + 1) % (2 ** 30))
        self._resets = 0
        self._tapes: dict[int, _Tape] = {}  # env index -> the episode it is playing
        self._finished: list[dict] = []
        self._sample_call = 0
        self.unpicklable: str | None = None  # why the env's state cannot be snapshotted

    # wrapping the sub-envs

    def wrap(self, sub_env, env_index: int) -> None:
        """Seed every reset of ``sub_env`` and tape the actions its ``step`` receives."""
        if getattr(sub_env, "_rldebug_taped", False):
            return
        reset, step = sub_env.reset, sub_env.step

        def seeded_reset(*args, seed=None, options=None, **kwargs):
            if seed is None:
                seed = (self._base_seed + 7919 * self._resets) % (2 ** 31)
            self._resets += 1
            tape = self._tapes[env_index] = _Tape(int(seed), options,
                                                  self._sample_call + 1, env_index)
            tape.env_state = self._snapshot(sub_env)
            tape.connector_state = connector_snapshot(self.runner)
            result = reset(*args, seed=seed, options=options, **kwargs)
            if isinstance(result, tuple) and len(result) == 2:
                tape.digests.append(step_digest(result[0]))
                tape.info_digests.append(step_digest(result[1]))
            return result

        def taped_step(action, *args, **kwargs):
            tape = self._tapes.get(env_index)
            if tape is not None:
                tape.actions.append(encode(action))
                tape.multi_agent = tape.multi_agent or isinstance(action, dict)
            result = step(action, *args, **kwargs)
            if tape is not None and isinstance(result, tuple) and len(result) == 5:
                tape.digests.append(step_digest(result[0], result[1]))
                tape.info_digests.append(step_digest(result[4]))
            return result

        sub_env.reset, sub_env.step = seeded_reset, taped_step
        sub_env._rldebug_taped = True

    def _snapshot(self, sub_env) -> str | None:
        """The env's state before this reset (base64), or None once it proved unpicklable."""
        import base64

        if self.unpicklable is not None:
            return None
        try:
            return base64.b64encode(env_snapshot(sub_env)).decode("ascii")
        except Exception as err:  # noqa: BLE001 - the env is the user's; said once
            self.unpicklable = f"{type(err).__name__}: {str(err)[:300]}"
            self.sink.append(file_name("events", self.role, self.pid), json.dumps({
                "time": time.time(), "pid": self.pid, **self.identity, "source": "tracer",
                "column": "env_state", "error": self.unpicklable,
                "message": f"{type(_user_env(sub_env)).__name__} cannot be pickled: replays "
                           "start from a freshly built env"}) + "\n")
            return None

    def where(self, env_index: int) -> dict:
        """The episode ``env_index`` is playing and its env steps so far (the action of a
        step that raised included)."""
        tape = self._tapes.get(env_index)
        if tape is None:
            return {}
        return {"episode_id": tape.episode_id, "env_step": len(tape.actions)}

    # RLlib's episode callbacks

    def on_episode_start(self, episode, env_index: int) -> None:
        tape = self._tapes.get(env_index)
        if tape is not None:
            tape.episode_id = episode_id(episode)

    def on_events(self, env_index: int, events: list[dict]) -> None:
        """Keep the episode of ``env_index`` for good: these events happened in its last step."""
        tape = self._tapes.get(env_index)
        if tape is not None:
            for event in events:
                self._event(tape, event)

    def on_episode_end(self, episode, env_index: int) -> None:
        tape = self._tapes.pop(env_index, None)
        if tape is None:
            return
        record = self._record(tape, complete=True)
        self._finished.append(record)
        if tape.events:
            self._keep(record)

    def on_sample_end(self) -> None:
        """Write this ``sample()`` call's finished episodes (the home keeps the ring short)."""
        self._sample_call += 1
        self._write_finished()

    def _write_finished(self) -> None:
        path = episode_ring_file("", self.role, self.pid, self._sample_call)
        for record in self._finished:
            _write_line(self.sink, path, record)
        self._finished.clear()

    def on_crash(self, err: BaseException) -> list[str]:
        """``sample()`` raised: write the episodes it finished and keep every episode in
        play. Returns the ids of those in play."""
        self._sample_call += 1
        self._write_finished()
        kept = []
        for tape in self._tapes.values():
            if tape.episode_id is None:
                continue
            record = self._record(tape, complete=False)
            record["crash"] = f"{type(err).__name__}: {str(err)[:500]}"
            self._keep(record)
            kept.append(tape.episode_id)
        return kept

    # records

    def _event(self, tape: _Tape, event: dict) -> None:
        tape.events.append(event)
        self._keep(self._record(tape, complete=False))  # now: a crash may follow

    def _record(self, tape: _Tape, complete: bool) -> dict:
        return {"time": time.time(), "episode_id": tape.episode_id, "role": self.role,
                "pid": self.pid, **self.identity, "env_index": tape.env_index,
                "seed": tape.seed,
                "options": tape.options, "started": tape.started,
                "sample_call": tape.sample_call, "env_steps": len(tape.actions),
                "complete": complete, "multi_agent": tape.multi_agent,
                "events": list(tape.events), "actions": list(tape.actions),
                "digests": list(tape.digests), "info_digests": list(tape.info_digests),
                "env_state": tape.env_state,
                "connector_state": tape.connector_state}

    def _keep(self, record: dict) -> None:
        _write_line(self.sink, kept_episodes_file("", self.role, self.pid), record)


def _connector_components() -> list[str]:
    from ray.rllib.core import (
        COMPONENT_ENV_TO_MODULE_CONNECTOR,
        COMPONENT_MODULE_TO_ENV_CONNECTOR,
    )

    return [COMPONENT_ENV_TO_MODULE_CONNECTOR, COMPONENT_MODULE_TO_ENV_CONNECTOR]


def _connector_state(runner: Any) -> dict:
    """The state of ``runner``'s connector pipelines where a piece keeps one."""
    if runner is None or not callable(getattr(runner, "get_state", None)):
        return {}
    components = _connector_components()
    try:
        state = runner.get_state(components=components)
    except Exception:  # noqa: BLE001 - a pipeline piece of the user's that cannot say
        return {}
    return {name: state[name] for name in components if state.get(name)}


def connector_snapshot(runner: Any) -> str | None:
    """The state of ``runner``'s connector pipelines (base64 of a pickle), the pieces that
    keep one (RLlib's ``MeanStdFilter``: its running mean and std); None when none does."""
    import base64

    kept = _connector_state(runner)
    return base64.b64encode(pickle.dumps(kept)).decode("ascii") if kept else None


def restore_connectors(runner: Any, snapshot: str) -> None:
    """Set ``runner``'s connector pipelines to a :func:`connector_snapshot`."""
    import base64

    runner.set_state(pickle.loads(base64.b64decode(snapshot)))


def connector_state_kept(runner: Any) -> bool:
    """Some piece of ``runner``'s connector pipelines keeps state across episodes."""
    return bool(_connector_state(runner))


def read_episode_records(paths) -> dict[str, dict]:
    """``{episode_id: record}``; of several records of one episode the longest wins."""
    episodes: dict[str, dict] = {}
    for path in paths:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue  # pruned by the ring while we read
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a killed process
            if not isinstance(record, dict) or not record.get("episode_id"):
                continue
            known = episodes.get(record["episode_id"])
            if known is None or (record["env_steps"], record["complete"]) >= (
                    known["env_steps"], known["complete"]):
                if known is not None and known.get("crash") and not record.get("crash"):
                    record["crash"] = known["crash"]
                episodes[record["episode_id"]] = record
    return episodes


# -- weights, in the driver ----------------------------------------------------


class WeightsRing:
    """Module weights after each iteration: the last ``keep`` and every marked one."""

    def __init__(self, store, keep: int = DEFAULT_KEEP):
        self.store = store
        self.keep = keep
        self.marked: set[int] = set()
        self.saved: list[int] = []

    def save(self, algorithm, iteration: int) -> None:
        weights = module_weights(algorithm)
        if weights is None:
            return
        data = pickle.dumps({"iteration": iteration, "time": time.time(),
                             "weights": weights})
        self.store.write_bytes(_relpath(weights_file("", iteration)), data)
        self.saved.append(iteration)

    def mark(self, iteration: int) -> None:
        """Keep the weights of ``iteration`` for good (and those that sampled it)."""
        self.marked.update({iteration, max(iteration - 1, 0)})

    def prune(self) -> None:
        recent = set(self.saved[-self.keep:])
        for iteration in list(self.saved):
            if iteration not in recent and iteration not in self.marked and iteration != 0:
                self.store.delete(_relpath(weights_file("", iteration)))
                self.saved.remove(iteration)


def prune_episode_rings(store, keep: int) -> None:
    """Keep the files of the last ``keep`` ``sample()`` calls of every process's ring."""
    rings = _relpath(episode_rings_dir(""))
    for ring in store.list_dir(rings):
        files = sorted(store.list_dir(f"{rings}/{ring}"))
        for name in files[:-keep]:
            store.delete(f"{rings}/{ring}/{name}")


def module_weights(algorithm) -> dict | None:
    """``{module_id: state dict of numpy arrays}`` of the Learner's modules (new stack)."""
    group = getattr(algorithm, "learner_group", None)
    if group is None:
        return None
    return group.get_weights()


def read_weights(path: str | Path) -> dict:
    return _unpickled(path, pickle.load)


# -- Learner updates -------------------------------------------------------------


def rng_states() -> dict:
    import torch

    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def set_rng_states(states: dict) -> None:
    import torch

    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


def learner_snapshot(learner, args: tuple, kwargs: dict) -> bytes:
    """The Learner's module and optimizer state, the RNG states and the update's
    inputs, pickled *before* the update (the inputs may be changed in place)."""
    import cloudpickle
    from ray.rllib.core import COMPONENT_OPTIMIZER, COMPONENT_RL_MODULE

    training_data = kwargs.get("training_data")
    if training_data is not None:
        training_data.solve_refs()  # object refs cannot be replayed in another session
    state = learner.get_state(components=[COMPONENT_RL_MODULE, COMPONENT_OPTIMIZER])
    return cloudpickle.dumps({"state": state, "rng": rng_states(), "args": args,
                              "kwargs": kwargs, "time": time.time()})


def write_update_snapshot(sink, role: str, update: int, data: bytes) -> Path:
    path = update_snapshot_file("", role, os.getpid(), update)
    sink.write_bytes(_relpath(path), data)
    return path


def read_update_snapshot(path: str | Path) -> dict:
    return _unpickled(path, pickle.load)


def _unpickled(path: str | Path, load) -> Any:
    """A file of the trace, unpickled; a truncated or damaged one is named."""
    try:
        with open(path, "rb") as handle:
            return load(handle)
    except (EOFError, pickle.UnpicklingError, UnicodeDecodeError, IndexError) as err:
        raise UsageError(f"{str(path)!r} of the trace cannot be unpickled ({type(err).__name__}: "
                         f"{err}): it is truncated or damaged (a run killed while writing "
                         "it, or a copy cut short). Replay another event, or trace the run "
                         "again.") from None


__all__ = ["DEFAULT_KEEP", "EpisodeRecorder", "WeightsRing", "connector_snapshot",
           "connector_state_kept", "decode", "decode_env_action", "encode", "env_snapshot",
           "learner_snapshot", "load_config", "module_weights", "prune_episode_rings",
           "read_episode_records", "read_update_snapshot", "read_weights",
           "restore_connectors", "restore_env", "rng_states", "save_config", "set_rng_states",
           "step_digest", "write_update_snapshot"]
