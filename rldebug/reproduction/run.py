"""Rebuild the traced algorithm in this process and hand it to the episode/update replay."""

from __future__ import annotations

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


def _base_config(recorded: RecordedTrace):
    """The traced config, in-process, one env per EnvRunner, no evaluation."""
    from rldebug.inprocess.local import local_mode

    config = load_config(recorded.directory)["config"]
    config = local_mode(config, warn=False, check_env=False)
    config.env_runners(num_envs_per_env_runner=1)
    config.evaluation_interval = None
    return config


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
    config = _base_config(recorded)
    config.env_runners(module_to_env_connector=replay_connector(
        config._module_to_env_connector, target, outcome, bool(config.normalize_actions)))
    config = add_callbacks(config, replay_callback(target, outcome))
    algorithm = _build(config)
    weights_iteration, weights = _weights_before(recorded, iteration)
    notes = []
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
                     "EnvRunner (an env that reads config.worker_index or vector_index sees 0)")
    run_episode(algorithm, target, outcome)
    if not record.get("env_state"):
        notes.append("the env's state before the episode was not recorded (it could not be "
                     "pickled): the replay ran from a freshly built env, so what the env "
                     "carried over from earlier episodes is not restored")
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
        agent_id=outcome.agent_id, env_obs=outcome.env_obs, env_action=outcome.env_action,
        algorithm=algorithm)


def replay_update(recorded: RecordedTrace, event: ReproducibleEvent, mode: str):
    from rldebug.reproduction import Reproduction

    snapshot = read_update_snapshot(update_snapshots_dir(recorded.directory) /
                                    event.snapshot)
    reason = f"event #{event.number}: {event.reason}"
    target = UpdateTarget(update=int(event.update), minibatch=int(event.minibatch or 1),
                          module_id=event.module_id, reason=f"reproduce {reason}", mode=mode,
                          column=event.column)
    outcome = UpdateOutcome()
    config = _base_config(recorded)
    config.learners(learner_class=replay_learner_class(config.learner_class, target, outcome))
    algorithm = _build(config)
    run_update(algorithm, snapshot, target, outcome)
    return Reproduction(
        kind="update", reason=reason, trace_dir=recorded.directory, event=event,
        stop=outcome.stop, problems=check_update(target, outcome), update=target.update,
        minibatch=outcome.minibatch, module_id=outcome.module_id, loss=outcome.loss,
        algorithm=algorithm)


__all__ = ["replay_episode", "replay_update"]
