"""The trace's RLlibCallback: sampling records in every EnvRunner, iteration marks in the driver.

On the old stack it also records each ``learn_on_batch`` minibatch (batch stats,
clip fraction) and, per iteration, each policy's learner stats. A reproducible
trace (new stack) also tapes every episode and keeps the weights of recent
iterations (:mod:`rldebug.tracing.replay_state`).
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug import relay
from rldebug.relay import has_remote_actors
from rldebug.shapes.env_meta import sub_envs, sub_envs_elsewhere
from rldebug.shapes.episodes import (
    agent_returns,
    env_t,
    episode_id,
    is_old_stack,
    old_stack_agent_indices,
    old_stack_ending,
    sub_env_failed,
)
from rldebug.shapes.errors import root_cause
from rldebug.shapes.results import get_path, is_new_stack_result, learner_stats
from rldebug.shapes.reward_terms import (
    episode_terms,
    held_terms,
    watch_unobserved_terms,
)
from rldebug.shapes.timers import SectionClock
from rldebug.tracing import stalls
from rldebug.tracing.layout import TRIAL_ENV
from rldebug.tracing.memory import GrowingSites, rss_mb, stop_tracing
from rldebug.tracing.replay_state import (
    EpisodeRecorder,
    WeightsRing,
    prune_episode_rings,
    save_trial_config,
)
from rldebug.tracing.sampling import (
    runner_identity,
    sample_record_new_stack,
    sample_record_old_stack,
)
from rldebug.tracing.settings import TraceSettings
from rldebug.tracing.sink import TraceSink, sink_for
from rldebug.tracing.stats import describe, first_non_finite, scalar
from rldebug.tracing.step_events import env_step_events
from rldebug.tracing.writer import TraceWriter


class TraceCallbacks(RLlibCallback):
    """Writes trace records, as its :class:`TraceSettings` say (set on a subclass by
    :func:`rldebug.trace`). Records of remote EnvRunners reach the driver through Ray (see
    :mod:`rldebug.tracing.sink`): only the process running the Algorithm writes files."""

    runs_last = True  # after break_on and the doctor: their iteration's output is traced
    settings: TraceSettings = TraceSettings()

    def __init__(self):
        super().__init__()
        self._recorder: EpisodeRecorder | None = None  # EnvRunners of a reproducible trace
        self._weights: WeightsRing | None = None  # the driver of a reproducible trace
        self._events_seen = 0
        self._findings = 0
        self._info_counts: dict[tuple, int] = defaultdict(int)
        self._pending: dict[int, list[dict]] = {}  # env index -> events of its last step
        self._break_records_written = 0
        self._writers: dict[str, TraceWriter] = {}
        self._returns: dict[str, list[float]] = defaultdict(list)
        self._terms: dict[str, list[dict]] = defaultdict(list)  # per finished episode
        # old stack: its SampleBatch rows name agents by index and end per agent
        self._old_agents: dict = {}  # episode id -> {agent_index: agent id}
        self._old_ended: dict = {}  # episode id -> (how it ended, env steps), this sample
        self._samples = 0
        self._sample_started: float | None = None
        self._learn_calls = 0
        self._seen_bad: set = set()
        self._step_columns: set = set()  # non-finite columns written at their env step
        self._sites: GrowingSites | None = None  # trace(memory=True), in EnvRunners
        self._stall_watch: stalls.StallWatch | None = None  # where the Algorithm runs
        self._env_s = 0.0  # seconds in the env's reset()/step() since the last sample() end
        self._reset_s = 0.0  # ... of which in reset()
        self._sections = SectionClock()  # RLlib's timed connector and forward sections

    @property
    def sink(self) -> TraceSink:
        """This process's sink of the trace (shared with its Learner and recorder)."""
        return sink_for(self.settings.token, self.settings.dir)

    def writer(self, role: str) -> TraceWriter:
        """This process's writer for ``role`` (driver, runner<i>, learner): one file set each."""
        if role not in self._writers:
            self._writers[role] = TraceWriter(self.sink, role=role)
        return self._writers[role]

    # -- faults: an env that raises, an EnvRunner that RLlib recreates ----------

    def on_environment_created(self, *, env_runner=None, env, **kwargs) -> None:
        if self.settings.reproducible and env_runner is not None:
            self._start_taping(env_runner, env)
        if env_runner is not None:
            self._wrap_sample(env_runner)
            self._arm_stall_stacks(env_runner)
        for env_index, sub_env in enumerate(sub_envs(env)):
            self._record_env_crashes(sub_env, env_runner, env_index)
        watch_unobserved_terms(env)  # a turn-based env's terms RLlib drops with their info
        if sub_envs_elsewhere(env):
            self.writer(f"runner{runner_identity(env_runner)['runner_index']}").write(
                "events", {"source": "tracer", "column": "sub_envs",
                           "message": "the sub-envs run in their own processes "
                                      "(gym_env_vectorize_mode='async')"})

    def on_sub_environment_created(self, *, worker=None, sub_environment, env_context=None,
                                   **kwargs) -> None:
        index = getattr(env_context, "vector_index", 0) or 0
        if worker is not None:
            self._wrap_sample(worker)
            self._arm_stall_stacks(worker)
        self._record_env_crashes(sub_environment, worker, index)

    def _arm_stall_stacks(self, env_runner) -> None:
        if self.settings.stall_factor is not None:
            role = f"runner{runner_identity(env_runner)['runner_index']}"
            stalls.arm(self.settings.token, role)

    def _record_env_crashes(self, env, runner, env_index: int = 0) -> None:
        """Wrap the env's reset/step so an exception is written before it propagates
        (and takes a remote EnvRunner down with it), and a step's events are noted for
        ``on_episode_step``."""
        identity = runner_identity(runner)
        for name in ("reset", "step"):
            method = getattr(env, name)

            def recorded(*args, _method=method, _name=name, **kwargs):
                started = time.perf_counter()
                try:
                    result = _method(*args, **kwargs)
                    took = time.perf_counter() - started
                    self._env_s += took  # this sample()'s env time
                    if _name == "reset":
                        self._reset_s += took
                    if _name == "step":  # its events are written at this step
                        self._note_step(env_index, result)
                    return result
                except Exception as err:
                    event = {"column": f"env.{_name}", "error": type(err).__name__,
                             "message": str(err)[:500]}
                    if self._recorder is not None:
                        event.update(self._recorder.where(env_index))
                        if _name == "step":  # keep the episode whose env raised
                            self._recorder.on_events(env_index, [dict(event)])
                    self.writer(f"runner{identity['runner_index']}").write("events", {
                        "source": "env", **identity, "sample_call": self._samples + 1,
                        **event})
                    self.sink.flush(wait=True)  # the exception may take this actor down
                    raise

            setattr(env, name, recorded)

    def on_env_runners_recreated(self, *, algorithm, env_runner_indices, is_evaluation=False,
                                 **kwargs) -> None:
        # A recreated EnvRunner is a new process: tell it where to send its records.
        relay.announce(self.settings.token, algorithm, list(env_runner_indices))
        self.writer("driver").write("events", {
            "source": "driver", "column": "env_runner_restarted",
            "runner_indices": [int(i) for i in env_runner_indices],
            "evaluation": bool(is_evaluation), "iteration": int(algorithm.iteration) + 1,
            "lost": "the records a restarted EnvRunner made after its last completed "
                    "sample() (unless it raised: those were sent first)"})

    # -- taping episodes for rldebug.reproduce (new stack) -----------------------

    def _start_taping(self, env_runner, env) -> None:
        """Seed and tape every sub-env."""
        if not getattr(env_runner.config, "enable_env_runner_and_connector_v2", False):
            return  # the old stack's RolloutWorker: not reproducible
        identity = runner_identity(env_runner)
        role = f"runner{identity['runner_index']}"
        if self._recorder is None:
            self._recorder = EpisodeRecorder(self.sink, role, identity, self.settings.keep,
                                             seed=getattr(env_runner.config, "seed", None),
                                             runner=env_runner)
        for env_index, sub_env in enumerate(sub_envs(env)):
            self._recorder.wrap(sub_env, env_index)

    def _wrap_sample(self, env_runner) -> None:
        """Time every ``sample()`` call from its start (RLlib has no ``on_sample_start``),
        with RLlib's timed sections in it; write a crashing ``sample()`` (with the episodes
        in play, when taping) before the exception leaves the EnvRunner, at every level."""
        if getattr(env_runner, "_rldebug_sample_recorded", False) or \
                not callable(getattr(env_runner, "sample", None)):
            return
        identity = runner_identity(env_runner)
        role = f"runner{identity['runner_index']}"
        sample = env_runner.sample

        def recorded_sample(*args, **kwargs):
            self._sections.watch(env_runner)
            if self._sample_started is None:
                self._sample_started = time.perf_counter()
            try:
                return sample(*args, **kwargs)
            except Exception as err:
                self._sample_started = None
                root = root_cause(err)  # RLlib re-raises an env's exception bare
                event = {"source": "sampling", "column": "sample", **identity,
                         "sample_call": self._samples + 1, "error": type(err).__name__,
                         "message": (str(err) if root is err else
                                     f"{err} (from {type(root).__name__}: {root})".strip()
                                     )[:500]}
                if self._recorder is not None:
                    event["episodes_in_play"] = self._recorder.on_crash(err)
                self.writer(role).write("events", event)
                self.sink.flush(wait=True)  # before RLlib restarts (kills) this EnvRunner
                raise

        env_runner.sample = recorded_sample
        env_runner._rldebug_sample_recorded = True

    def on_episode_start(self, *, episode, env_index=0, **kwargs) -> None:
        if self._recorder is not None:
            self._recorder.on_episode_start(episode, env_index)

    # -- sampling (EnvRunner / RolloutWorker) ----------------------------------

    def _note_step(self, env_index: int, result) -> None:
        try:
            events = env_step_events(result, self.settings.info_events)
        except Exception:  # noqa: BLE001 - an unexpected step result must not stop training
            return  # RLlib itself rejects a malformed step result with its own error
        if events:
            self._pending[env_index] = events

    def on_episode_step(self, *, episode=None, env_runner=None, worker=None, env_index=0,
                        **kwargs) -> None:
        env_runner = env_runner or worker  # the old stack passes its RolloutWorker so
        # Where sample() is not wrapped, the first env step of a call marks its start.
        if self._sample_started is None:
            self._sample_started = time.perf_counter()
        if episode is not None and is_old_stack(episode):
            known = self._old_agents.get(episode.episode_id)
            if known is None or len(known) != len(episode.get_agents()):  # one joined
                self._old_agents[episode.episode_id] = old_stack_agent_indices(episode)
        pending = self._pending.pop(env_index, None)
        if not pending or episode is None:
            return
        where = {"episode_id": episode_id(episode), "env_step": env_t(episode)}
        events = [{**e, **where} for e in pending if self._new_step_event(e)]
        if not events:
            return
        if self._recorder is not None:
            self._recorder.on_events(env_index, events)
        identity = runner_identity(env_runner)
        writer = self.writer(f"runner{identity['runner_index']}")
        self._step_columns.update(e["column"] for e in events)
        for event in events:
            # Written now, not at on_sample_end: the next step may crash the sampler.
            writer.write("events", {"source": "sampling", **identity,
                                    "sample_call": self._samples + 1, **event})

    def _new_step_event(self, event: dict) -> bool:
        """The first non-finite value per agent and column; the first ``max_events``
        occurrences of each info event per agent."""
        key = (event["agent_id"], event["column"])
        if not event["column"].startswith("info."):
            if key in self._seen_bad:
                return False
            self._seen_bad.add(key)
            return True
        self._info_counts[key] += 1
        return self._info_counts[key] <= self.settings.max_events

    def on_episode_end(self, *, episode, prev_episode_chunks=None, env_index=0,
                       **kwargs) -> None:
        if sub_env_failed(episode):  # the env's exception is recorded where it raised
            return
        if self._recorder is not None:
            self._recorder.on_episode_end(episode, env_index)
        if is_old_stack(episode):
            self._old_agents[episode.episode_id] = old_stack_agent_indices(episode)
            self._old_ended[episode.episode_id] = (old_stack_ending(episode),
                                                   int(episode.length))
        for agent_id, value in agent_returns(episode, prev_episode_chunks).items():
            self._returns[agent_id].append(value)
        holder = held_terms(kwargs.get("env"), env_index)
        unobserved = holder.episode_terms() if holder is not None else {}
        for agent_id, terms in episode_terms(episode, prev_episode_chunks,
                                             unobserved).items():
            self._terms[agent_id].append(terms)

    def on_sample_end(self, *, samples, env_runner=None, worker=None, metrics_logger=None,
                      **kwargs) -> None:
        runner = env_runner or worker
        identity = runner_identity(runner)
        writer = self.writer(f"runner{identity['runner_index']}")
        self._samples += 1
        if isinstance(samples, list):
            record, events = sample_record_new_stack(samples, self.settings.level)
        else:
            record, events = sample_record_old_stack(samples, self.settings.level,
                                                     self._old_agents, self._old_ended)
            for ended in self._old_ended:
                self._old_agents.pop(ended, None)
            self._old_ended = {}
        started, self._sample_started = self._sample_started, None
        record.update(identity, sample_call=self._samples,
                      sample_time_s=time.perf_counter() - started if started else None,
                      episode_returns={k: list(v) for k, v in self._returns.items()},
                      rss_mb=rss_mb())
        record["env_time_s"], self._env_s = self._env_s, 0.0  # in reset() and step()
        record["env_reset_time_s"], self._reset_s = self._reset_s, 0.0  # of it, in reset()
        sections = self._sections.take()  # new stack: connectors and forward, as RLlib times
        for name, seconds in (sections or {}).items():
            record[f"{name}_time_s"] = seconds
        if self.settings.memory:
            if self._sites is None:
                self._sites = GrowingSites()
            record["grown_sites"] = self._sites.grown()
        if self._terms:
            record["episode_reward_terms"] = {k: list(v) for k, v in self._terms.items()}
        self._returns.clear()
        self._terms.clear()
        if self._recorder is not None:
            self._recorder.on_sample_end()
        writer.write("samples", record)
        for event in events:
            if event["column"] in self._step_columns:
                continue  # already written at its env step, with its episode
            key = (event.get("agent_id") or event.get("module_id"), event["column"])
            if key not in self._seen_bad:
                self._seen_bad.add(key)
                writer.write("events", {"source": "sampling", **identity,
                                        "sample_call": self._samples, **event})
        self.sink.flush()  # remote: one push per sample() call; home: nothing left
        if metrics_logger is not None:
            metrics_logger.log_value(("rldebug_trace", "env_steps"), record["env_steps"],
                                     reduce="sum")
            metrics_logger.log_value(("rldebug_trace", "sample_calls"), 1, reduce="sum")

    # -- learning, old stack (learn_on_batch) ------------------------------------

    def on_learn_on_batch(self, *, policy, train_batch, result, **kwargs) -> None:
        writer = self.writer("learner")
        self._learn_calls += 1
        policy_id = _policy_id(policy)
        record = {"stage": "learn_on_batch", "update": self._learn_calls,
                  "module_id": policy_id, "train_batch_size": int(train_batch.count),
                  "rss_mb": rss_mb()}
        if self.settings.level != "summary":
            for column in ("advantages", "value_targets", "action_logp"):
                if column in train_batch:
                    stats = describe(train_batch[column])
                    record[f"{column}_stats"] = stats
                    if stats.get("non_finite") and (policy_id, column) not in self._seen_bad:
                        self._seen_bad.add((policy_id, column))
                        writer.write("events", {"source": "learner", "module_id": policy_id,
                                                "column": column, "update": self._learn_calls,
                                                "index_in_batch":
                                                    first_non_finite(train_batch[column])})
            record["clip_fraction"] = _old_stack_clip_fraction(policy, train_batch)
            result["rldebug_clip_fraction"] = record["clip_fraction"]
        writer.write("updates", record)

    # -- driver ------------------------------------------------------------------

    def _write_break_records(self, writer, iteration) -> None:
        """``break_on``'s events since the last iteration, those of remote EnvRunners too."""
        records = _break_records()
        if len(records) < self._break_records_written:
            self._break_records_written = 0  # cleared (clear_break_records) or rolled over
        for event in records[self._break_records_written:]:
            writer.write("events", {
                "source": "break_on", "column": event.kind, "reason": event.reason,
                "from_pid": event.pid, "agent_id": event.agent_id,
                "module_id": event.module_id, "episode_id": event.episode_id,
                "env_step": event.env_step, "stopped": event.stopped, "iteration": iteration})
        self._break_records_written = len(records)

    def on_algorithm_init(self, *, algorithm, **kwargs) -> None:
        # This process runs the Algorithm: it writes the trace; remote actors send to it.
        remote = has_remote_actors(algorithm.config)
        self.sink.become_home(remote_actors=remote, trial=_trial_of(algorithm))
        self._watch_stalls(algorithm)
        if remote:
            relay.announce(self.settings.token, algorithm)
            self._drain_at_stop(algorithm)
        if self.settings.memory:  # in-process EnvRunners traced allocations in this process
            stop = algorithm.stop

            def stop_tracing_allocations(*args, **kwargs):
                try:
                    return stop(*args, **kwargs)
                finally:
                    stop_tracing()

            algorithm.stop = stop_tracing_allocations
        if self.settings.reproducible and algorithm.config.enable_rl_module_and_learner:
            self._weights = WeightsRing(self.sink.store, self.settings.keep)
            self._weights.save(algorithm, 0)
            if _trial_of(algorithm):  # a Tune trial: its own values, where Tune searched
                save_trial_config(self.sink.store, algorithm.config)

    def _watch_stalls(self, algorithm) -> None:
        """Start the stall watch of this trace in this process (it runs the Algorithm)."""
        settings = self.settings
        if settings.stall_factor is None or self._stall_watch is not None:
            return
        writer = self.writer("driver")
        self._stall_watch = stalls.StallWatch(
            settings.token, lambda record: writer.write("events", record),
            factor=settings.stall_factor, floor_s=settings.stall_floor_s)
        self._stall_watch.start()
        stop, watch = algorithm.stop, self._stall_watch

        def stop_watching(*args, **kwargs):
            watch.stop()
            return stop(*args, **kwargs)

        algorithm.stop = stop_watching

    def _drain_at_stop(self, algorithm) -> None:
        """Write what remote actors sent after the last iteration and while they stopped;
        then the relay ends with the Algorithm."""
        relay.end_at_stop(self.settings.token, algorithm, self.sink.drain_relay)

    def _keep_weights(self, algorithm, result, iteration: int) -> None:
        """Save this iteration's weights; mark it if it had a trace event or a finding."""
        events = self.sink.events_written
        findings = int((result.get("doctor") or {}).get("findings", 0))
        if events > self._events_seen or findings > self._findings:
            self._weights.mark(iteration)
        self._events_seen, self._findings = events, findings
        self._weights.save(algorithm, iteration)
        self._weights.prune()
        prune_episode_rings(self.sink.store, self.settings.keep)

    def on_train_result(self, *, algorithm, result, **kwargs) -> None:
        if self._stall_watch is not None:
            self._stall_watch.progress(result.get("training_iteration"),
                                       scalar(result.get("time_this_iter_s")))
        self.sink.drain_relay()  # what remote EnvRunners and Learners sent this iteration
        writer = self.writer("driver")
        iteration = result.get("training_iteration")
        self._write_break_records(writer, iteration)
        if self._weights is not None and iteration is not None:
            self._keep_weights(algorithm, result, int(iteration))
        # New stack reports these under env_runners/, the old stack at the top level.
        # the iteration's own length: where the driver's first iteration began (profile)
        record = {"iteration": iteration, "rss_mb": rss_mb(),
                  "time_this_iter_s": scalar(result.get("time_this_iter_s"))}
        for key in ("num_env_steps_sampled", "num_env_steps_sampled_lifetime"):
            record[key] = scalar(get_path(result, f"env_runners/{key}", get_path(result, key)))
        learners = result.get("learners") or {}
        record["num_module_steps_trained"] = {
            mid: scalar(stats.get("num_module_steps_trained"))
            for mid, stats in learners.items()
            if isinstance(stats, dict) and "num_module_steps_trained" in stats}
        if isinstance(result.get("doctor"), dict):  # DoctorCallback's counts this iteration
            record["doctor"] = dict(result["doctor"])
        if isinstance(result.get("break_on"), dict):
            record["break_on"] = dict(result["break_on"])
        writer.write("iterations", record)
        if not is_new_stack_result(result):
            for policy_id, stats in learner_stats(result).items():
                writer.write("updates", {
                    "stage": "iteration", "iteration": iteration, "module_id": policy_id,
                    "rss_mb": record["rss_mb"], **{name: stat.value for name, stat in stats.items()}})


def _trial_of(algorithm) -> str | None:
    """The Tune trial this Algorithm trains (its trace goes to ``<out>/<trial>``, kept
    apart from the other trials of the config): Tune's trial folder name, or the in-process
    trial rldebug debug names in :data:`~rldebug.tracing.layout.TRIAL_ENV`."""
    # Tune gives a trial's Trainable its storage, named for the trial's folder (RLlib
    # drops the trial info Tune puts in the config dict when it builds its config)
    storage = getattr(algorithm, "_storage", None)
    name = getattr(storage, "trial_dir_name", None)
    return str(name) if name else (os.environ.get(TRIAL_ENV) or None)


def _break_records() -> list:
    """``break_on``'s records in this process (remote EnvRunners' included), if it is used."""
    if "rldebug.ide" not in sys.modules:
        return []
    return sys.modules["rldebug.ide"].break_records()


def _policy_id(policy) -> str:
    """The id an old-stack policy was registered under (``config["__policy_id"]``)."""
    return str(policy.config.get("__policy_id") or policy.__class__.__name__)


def _old_stack_clip_fraction(policy, train_batch) -> float | None:
    """Fraction of samples whose PPO ratio leaves [1-clip, 1+clip] (computed, not reported)."""
    import torch

    try:
        clip = policy.config["clip_param"]
        with torch.no_grad():
            batch = policy._lazy_tensor_dict(train_batch.copy(shallow=True))
            logits, _ = policy.model(batch)
            if not bool(torch.isfinite(logits).all()):
                return None  # the weights are already non-finite; no ratio to compute
            dist = policy.dist_class(logits, policy.model)
            ratio = torch.exp(dist.logp(batch["actions"]) - batch["action_logp"])
            return float((torch.abs(ratio - 1.0) > clip).float().mean())
    except (KeyError, AttributeError, RuntimeError, TypeError, ValueError):
        return None  # a tracer must never stop training


__all__ = ["TraceCallbacks"]
