"""Rebuild the traced algorithm in this process and hand it to the episode/update replay."""

from __future__ import annotations

import inspect
from typing import Any

from rldebug.reproduction.episode import (
    EpisodeOutcome,
    EpisodeTarget,
    check_outcome,
    replay_callback,
    replay_connector,
    run_episode,
)
from rldebug.reproduction.listing import RecordedTrace, ReproduceError, ReproducibleEvent
from rldebug.reproduction.update import (
    UpdateOutcome,
    UpdateTarget,
    check_update,
    replay_learner_class,
    run_update,
)
from rldebug.tracing.layout import update_snapshots_dir
from rldebug.tracing.replay_state import load_config, read_update_snapshot, read_weights


def _base_config(recorded: RecordedTrace) -> tuple[Any, list[str], int]:
    """The traced config, in-process, one env per EnvRunner, no evaluation, with the
    current code of what the training script defined where it can be found; notes on
    what is replayed from the trace's copy; and the envs per EnvRunner it recorded with."""
    from rldebug.inprocess.local import local_mode

    config = load_config(recorded.directory)["config"]
    recorded_envs = int(config.num_envs_per_env_runner or 1)
    config = local_mode(config, warn=False, check_env=False)
    config.env_runners(num_envs_per_env_runner=1)
    config.evaluation_interval = None
    return config, current_code(config), recorded_envs


def _script_defined(value: Any) -> bool:
    """A class or function the training script itself defined: pickled by value (its
    code is in the trace), with ``__main__`` as its module."""
    return (isinstance(value, type) or inspect.isfunction(value)) and \
        getattr(value, "__module__", None) == "__main__"


def _current_definition(recorded: Any) -> tuple[Any, str] | None:
    """What the user's code defines now under ``recorded``'s name: in a file given to
    ``--import`` (last first), else in this process's ``__main__`` (a notebook)."""
    import sys

    from rldebug.usage import IMPORTED_FILES

    name = recorded.__qualname__
    if "<" in name:  # a lambda or a class made inside a function: no name to find it by
        return None
    for module in [*reversed(IMPORTED_FILES), sys.modules.get("__main__")]:
        current = module
        for part in name.split("."):
            current = getattr(current, part, None)
        if getattr(current, "__module__", None) != getattr(module, "__name__", None):
            continue  # not defined there (the rldebug command's own main, say): imported
        if isinstance(recorded, type) and isinstance(current, type) or \
                inspect.isfunction(recorded) and inspect.isfunction(current):
            where = getattr(module, "__file__", None) or "__main__"
            return current, where
    return None


def _listed(found: dict[str, str]) -> str:
    return ", ".join(f"{name} ({setting})" for name, setting in sorted(found.items()))


def current_code(config) -> list[str]:
    """Swap the classes and functions the training script defined (pickled by value, so
    the trace holds their code as it was) for their current definitions, found where
    :func:`_current_definition` looks, in ``config``'s settings and the specs, lists and
    dicts they hold; returns notes: what was swapped, and what replays from the copy."""
    swapped, copied = {}, {}
    setting = ""

    def current(value: Any) -> Any:
        if _script_defined(value):
            found = _current_definition(value)
            if found is None:
                copied[value.__qualname__] = setting
                return value
            if found[0] is not value:
                swapped[value.__qualname__] = found[1]
            return found[0]
        # a container is rebuilt only where something in it was swapped (a dict subclass,
        # an EnvContext, stays what it is otherwise)
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            items = [current(v) for v in value]
            changed = any(new is not old for new, old in zip(items, value))
            return type(value)(items) if changed else value
        if isinstance(value, dict):
            items = {k: current(v) for k, v in value.items()}
            return {**value, **items} if any(items[k] is not value[k] for k in value) \
                else value
        if type(value).__module__.startswith("ray.rllib.") and hasattr(value, "__dict__") \
                and not isinstance(value, type):  # an RLModuleSpec, a PolicySpec
            for key, inner in list(vars(value).items()):
                new = current(inner)
                if new is not inner:
                    setattr(value, key, new)
        return value

    for key, value in list(vars(config).items()):
        setting = key.lstrip("_")
        new = current(value)
        if new is not value:
            setattr(config, key, new)
    notes = [f"{name}: the current definition in {where} (not the trace's copy)"
             for name, where in sorted(swapped.items())]
    named = {name: where for name, where in copied.items() if "<" not in name}
    if named:
        one = len(named) == 1
        notes.append(f"{_listed(named)} {'was' if one else 'were'} defined in the training "
                     f"script and {'replays' if one else 'replay'} from the trace's copy of "
                     "that code: edits made since are not used. To replay your current code, "
                     "pass the script to --import (its training under if __name__ == "
                     "'__main__':), or in Python import it before reproduce()")
    unnamed = {name: where for name, where in copied.items() if "<" in name}
    if unnamed:
        notes.append(f"{_listed(unnamed)}: a lambda or a function made inside another, which "
                     "has no name to find its current code by: the replay runs the trace's "
                     "copy of it (give it a name at the script's top level to replay edits)")
    return notes


def _build(config):
    from rldebug.inprocess.local import ray_for

    ray_for(config)  # in-process (the replay's config is local): no Ray instance
    try:
        return config.build_algo()
    except Exception as err:
        raise ReproduceError(
            f"Rebuilding the traced algorithm failed: {type(err).__name__}: {err}. The env, "
            "callbacks and modules must be importable as they were when the trace was "
            "recorded: an env registered with register_env (or a class) in the training "
            "script needs that script's code: rldebug reproduce ... --import FILE.py (in "
            "Python, import it before reproduce())."
            ) from err


def _weights_before(recorded: RecordedTrace, iteration: int) -> tuple[int | None, dict | None]:
    """The newest saved weights from before ``iteration`` (those that sampled it)."""
    usable = [i for i in recorded.weights if i < iteration]
    if not usable:
        return None, None
    chosen = max(usable)
    return chosen, read_weights(recorded.weights[chosen])["weights"]


def replay_episode(recorded: RecordedTrace, record: dict, step: int,
                   event: ReproducibleEvent | None, mode: str):
    from ray.rllib.core import COMPONENT_RL_MODULE

    from rldebug.callbacks.compose import add_callbacks
    from rldebug.reproduction import Reproduction

    iteration = recorded.episode_iterations.get(record["episode_id"], 1)
    reason = (f"event #{event.number}: {event.reason}" if event is not None else
              f"iteration {iteration}, episode {record['episode_id']}, env step {step}")
    column = event.column if event is not None else None
    target = EpisodeTarget(
        record=record, step=step, reason=f"reproduce {reason}",
        agent_id=event.agent_id if event is not None else None, mode=mode,
        expect_crash=column == "sample" or bool(column and column.startswith("env.")),
        expect_non_finite=column if column in ("obs", "rewards") else None,
        expect_info=column[5:] if column and column.startswith("info.") else None)
    outcome = EpisodeOutcome()
    config, code_notes, recorded_envs = _base_config(recorded)
    config.env_runners(module_to_env_connector=replay_connector(
        config._module_to_env_connector, target, outcome, bool(config.normalize_actions)))
    config = add_callbacks(config, replay_callback(target, outcome))
    algorithm = _build(config)
    weights_iteration, weights = _weights_before(recorded, iteration)
    notes = list(code_notes)
    if weights is not None:
        algorithm.env_runner.set_state({COMPONENT_RL_MODULE: weights})
        algorithm.learner_group.set_weights(weights)
        if weights_iteration != iteration - 1:
            notes.append(f"the weights of iteration {iteration - 1} were pruned; the module "
                         f"runs with those of iteration {weights_iteration} (the trajectory "
                         "is the recorded one: the actions are taped)")
    else:
        notes.append("no saved weights from before this episode; the module runs with its "
                     "initial weights (the trajectory is the recorded one)")
    if record.get("runner_index") or record.get("env_index"):
        notes.append(f"recorded in env {record.get('env_index')} of EnvRunner "
                     f"{record.get('runner_index')}; the replay's env is env 0 of the local "
                     "EnvRunner: what the env stored of its config.worker_index or "
                     "vector_index is restored with its attributes, but reading them from "
                     "its config in reset() or step() gives 0")
    run_episode(algorithm, target, outcome)
    if not record.get("env_state"):
        notes.append("the env's state before the episode was not recorded (it could not be "
                     "pickled): the replay ran from a freshly built env, so what the env "
                     "carried over from earlier episodes is not restored")
    info_at, departed = outcome.info_departed_at, outcome.departed_at
    if info_at is not None and (departed is None or info_at < departed):
        notes.append(f"the env's info differs from the recording's from env step {info_at}, "
                     "while its observations and rewards "
                     + ("match to the stop" if departed is None else f"match until step "
                        f"{departed}")
                     + ": state the trace did not restore (a global, a file), or a value that "
                       "changes every run (a time, an id)")
    if outcome.crashed_in_pipeline:
        notes.append(f"the crash came as RLlib's env-to-module pipeline read env step "
                     f"{outcome.stopped_at}'s observation, before the episode's step: the "
                     "replay stopped after it, with what the env returned at that step")
    if outcome.connectors == "not recorded":
        notes.append("a piece of the env-to-module or module-to-env pipeline keeps state across "
                     "episodes (a MeanStdFilter's running statistics) that this trace did not "
                     "record (an older rldebug): it starts fresh in the replay, so what the "
                     "module saw can differ; the env's own steps are the recorded ones")
    elif outcome.connectors == "restored" and recorded_envs > 1:
        notes.append(f"the connector pipelines' state (a MeanStdFilter's statistics) is "
                     f"restored as it was when the episode began; in training it also learned "
                     f"from the EnvRunner's {recorded_envs - 1} other env(s) during the "
                     "episode, in the replay from this one only")
    if not record.get("digests"):
        notes.append("the trace records no digest of what the env returned (it was written "
                     "by an older rldebug): whether the replay followed the recorded episode "
                     "was not checked")
    if outcome.substituted:
        notes.append(f"the module sampled a different action than recorded at "
                     f"{outcome.substituted} step(s); the recorded ones were used")
    return Reproduction(
        kind="episode", reason=reason, trace_dir=recorded.directory, event=event,
        stop=outcome.stop, problems=check_outcome(target, outcome),
        episode_id=record["episode_id"], seed=record["seed"], env_step=outcome.stopped_at,
        weights_iteration=weights_iteration, obs=outcome.obs, action=outcome.action,
        reward=outcome.reward, info=outcome.info, crash=outcome.crash, notes=notes,
        agent_id=outcome.agent_id, module_id=outcome.module_id, env_obs=outcome.env_obs,
        env_action=outcome.env_action, algorithm=algorithm)


def replay_update(recorded: RecordedTrace, event: ReproducibleEvent, mode: str):
    from rldebug.reproduction import Reproduction

    snapshot = read_update_snapshot(update_snapshots_dir(recorded.directory) /
                                    event.snapshot)
    reason = f"event #{event.number}: {event.reason}"
    target = UpdateTarget(update=int(event.update), minibatch=int(event.minibatch or 1),
                          module_id=event.module_id, reason=f"reproduce {reason}", mode=mode,
                          column=event.column)
    outcome = UpdateOutcome()
    config, notes, _ = _base_config(recorded)
    config.learners(learner_class=replay_learner_class(config.learner_class, target, outcome))
    algorithm = _build(config)
    run_update(algorithm, snapshot, target, outcome)
    return Reproduction(
        kind="update", reason=reason, trace_dir=recorded.directory, event=event,
        stop=outcome.stop, problems=check_update(target, outcome), update=target.update,
        minibatch=outcome.minibatch, module_id=outcome.module_id, loss=outcome.loss,
        notes=notes, algorithm=algorithm)


__all__ = ["replay_episode", "replay_update"]
