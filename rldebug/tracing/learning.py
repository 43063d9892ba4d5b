"""What each Learner update did (new stack), recorded by a Learner mixin, for every family.

RLlib 2.60 runs no callback inside ``Learner.update``, so the trace subclasses
the config's Learner class (set through ``config.learners(learner_class=...)``)
and wraps the steps every algorithm's update goes through, in whichever thread
runs it (IMPALA and APPO update in a ``_LearnerThread``):

- ``before/after_gradient_based_update``: one record per module and update, with
  every learner statistic RLlib logged under its normalised name
  (:mod:`rldebug.shapes.results`) and the parameter-update norm;
- ``compute_loss_for_module``: per minibatch, the family's own diagnostics
  (:func:`rldebug.shapes.outputs.train_diagnostics`: PPO's clip fraction,
  IMPALA/APPO's importance ratios, DQN/SAC's Q-values) and batch column stats;
- ``compute_gradients``: the gradient norm per module and non-finite gradients.

In a reproducible trace the Learner's state, RNG states and inputs are pickled
before each update and written when that update has an event, for
``rldebug.reproduce`` to re-run it (synchronous Learners; IMPALA's and APPO's
learner thread updates from a queue and is not snapshotted).

A tracer never changes what RLlib computes, and its own failure is recorded as
an event instead of stopping training. An exception raised by the update itself
in IMPALA's/APPO's learner thread is handed to the driver thread, so
``algo.train()`` fails with it instead of waiting forever.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import numpy as np

from rldebug.shapes.outputs import train_diagnostics
from rldebug.shapes.results import STAT_KEYS, normalise_stats, raw_stat_keys
from rldebug.tracing import stalls
from rldebug.tracing.memory import rss_mb
from rldebug.tracing.replay_state import learner_snapshot, write_update_snapshot
from rldebug.tracing.settings import TraceSettings
from rldebug.tracing.sink import sink_for
from rldebug.tracing.stats import describe, first_non_finite, scalar
from rldebug.tracing.writer import RAW_ROWS, TraceWriter

BATCH_COLUMNS = ("advantages", "value_targets", "action_logp", "rewards")
# The raw new-stack keys read after each update (the tracer's own ones excluded).
_RAW_KEYS = tuple(sorted(k for k in raw_stat_keys(new_stack=True) if not k.startswith("rldebug_")))
_TRACER_STATS = ("grad_norm", "clip_fraction")  # computed by the tracer itself
# The raw keys of the statistics RLlib's compute_loss_for_module logs: each minibatch's
# are there when the tracer sees the minibatch (coefficients, lr, gradients and counts
# come later in the update; read mid-update they can be NaN placeholders)
_LOSS_RAW_KEYS = tuple(sorted(key for name in (
    "policy_loss", "value_loss", "value_loss_unclipped", "q_loss", "q_twin_loss", "entropy",
    "kl", "explained_variance", "td_error_mean", "q_mean", "q_max", "q_min", "alpha_loss",
    "log_prob", "importance_ratio_mean", "importance_ratio_var")
    for key in STAT_KEYS[name][0]))
_ABSENT = object()  # MetricsLogger.peek raises KeyError when its default is None


class LearnerThreadError(RuntimeError):
    """The Learner's update failed in RLlib's learner thread (IMPALA, APPO)."""


class TracingLearnerMixin:
    """Mixin for a TorchLearner that writes trace records, as its :class:`TraceSettings`
    say (set on a subclass by :func:`traced_learner_class`)."""

    settings: TraceSettings = TraceSettings()

    # -- RLlib hooks ---------------------------------------------------------

    def build(self, *args, **kwargs):
        super().build(*args, **kwargs)
        self._trace_sink = sink_for(self.settings.token, self.settings.dir)
        self._trace_writer = TraceWriter(self._trace_sink, role="learner")
        if self.settings.stall_factor is not None:
            stalls.arm(self.settings.token, "learner")  # a stall asks it for its stacks
        self._rldebug_updates = 0
        self._rldebug_seen_bad: set = set()
        self._rldebug_acc = defaultdict(lambda: defaultdict(list))
        self._rldebug_minibatch = 0
        self._rldebug_before = None
        self._rldebug_thread_error = None
        self._rldebug_current = 1
        self._rldebug_snapshot: bytes | None = None
        self._rldebug_snapshots = self.settings.reproducible
        self._rldebug_parts = defaultdict(float)  # seconds per part of this update
        self._rldebug_last_end: float | None = None
        thread = getattr(self, "_learner_thread", None)
        if thread is not None and hasattr(thread, "_update_method"):
            thread._update_method = self._guarded_thread_update(thread._update_method)
            self._rldebug_snapshots = False  # updates run from a queue in that thread

    def update(self, *args, **kwargs):
        self._raise_thread_error()
        self._rldebug_epochs = kwargs.get("num_epochs") or 1
        self._rldebug_snapshot, self._rldebug_snapshot_file = None, None
        if self._rldebug_snapshots:
            self._trace_safely(self._take_snapshot, args, kwargs)
        result = super().update(*args, **kwargs)
        self._trace_sink.flush()  # a remote Learner sends its records home
        self._raise_thread_error()
        return result

    def before_gradient_based_update(self, *, timesteps):
        super().before_gradient_based_update(timesteps=timesteps)
        self._trace_safely(self._trace_begin_update)

    def after_gradient_based_update(self, *, timesteps):
        super().after_gradient_based_update(timesteps=timesteps)
        self._trace_safely(self._trace_end_update, timesteps)

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        loss = super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)
        self._trace_safely(self._trace_minibatch, module_id, config, batch, fwd_out, loss)
        return loss

    # Each minibatch's _update (TorchLearner._uncompiled_update) runs the module's
    # forward_train, compute_losses, compute_gradients (backward), then
    # postprocess_gradients and apply_gradients (the optimizer step): its parts are timed
    # between these hooks, the tracer's own work left out.

    def _update(self, *args, **kwargs):
        self._rldebug_minibatch += 1  # one call per minibatch, for all modules
        parts = self._rldebug_parts
        started, traced = time.perf_counter(), parts["trace"]
        self._rldebug_mark = started
        try:
            return super()._update(*args, **kwargs)
        finally:
            ended = time.perf_counter()
            parts["minibatches"] += ended - started
            parts["optimizer"] += ended - self._rldebug_mark
            parts["trace_in_minibatches"] += parts["trace"] - traced

    def compute_losses(self, *args, **kwargs):
        started = time.perf_counter()
        self._rldebug_parts["forward"] += started - getattr(self, "_rldebug_mark", started)
        traced_before = self._rldebug_parts["trace"]
        try:
            return super().compute_losses(*args, **kwargs)
        finally:
            self._rldebug_mark = time.perf_counter()
            self._rldebug_parts["loss"] += (self._rldebug_mark - started
                                            - (self._rldebug_parts["trace"] - traced_before))

    def compute_gradients(self, loss_per_module, **kwargs):
        started = time.perf_counter()
        gradients = super().compute_gradients(loss_per_module, **kwargs)
        self._rldebug_parts["backward"] += time.perf_counter() - started
        if self.settings.level != "summary" and gradients:
            self._trace_safely(self._trace_gradients, gradients)
        self._rldebug_mark = time.perf_counter()
        return gradients

    # -- the learner thread ---------------------------------------------------

    def _guarded_thread_update(self, update_method):
        """``update_method`` that hands its exception to the driver and wakes it up, and
        sends the update's records home (``update()`` only queues the thread's work: the
        records of the updates after its last call were never sent, the run's last two
        in an independent user's APPO runs)."""
        def guarded(**kwargs):
            try:
                return update_method(**kwargs)
            except Exception as err:  # noqa: BLE001 - re-raised in the driver thread
                self._rldebug_thread_error = (err, threading.current_thread().name)
                event = getattr(self, "_agg_event", None)
                if event is not None:
                    event.set()  # the driver waits on it in update()
                return None
            finally:
                self._trace_safely(self._trace_sink.flush)

        return guarded

    def _raise_thread_error(self) -> None:
        failure = getattr(self, "_rldebug_thread_error", None)
        if failure is None:
            return
        self._rldebug_thread_error = None
        err, thread = failure
        raise LearnerThreadError(
            f"The Learner's update raised {type(err).__name__}: {err} in RLlib's learner "
            f"thread {thread!r} (IMPALA/APPO update there). Without rldebug's trace RLlib "
            "would wait for that thread forever; the original traceback is chained below."
        ) from err

    # -- recording -----------------------------------------------------------

    def _trace_safely(self, fn, *args) -> None:
        """Run a recording step; a failure of the tracer is recorded, never raised."""
        started = time.perf_counter()
        try:
            fn(*args)
        except Exception as err:  # noqa: BLE001 - a tracer must never stop training
            key = ("tracer", fn.__name__)
            if key not in self._rldebug_seen_bad:
                self._rldebug_seen_bad.add(key)
                self._trace_writer.write("events", {
                    "source": "tracer", "column": fn.__name__,
                    "update": getattr(self, "_rldebug_current", self._rldebug_updates + 1),
                    "error": f"{type(err).__name__}: {err}"})
        finally:
            self._rldebug_parts["trace"] += time.perf_counter() - started

    def _take_snapshot(self, args, kwargs) -> None:
        self._rldebug_snapshot = learner_snapshot(self, args, kwargs)

    def _trace_begin_update(self) -> None:
        self._rldebug_update_started = time.perf_counter()
        self._rldebug_parts = defaultdict(float)
        self._rldebug_current = self._rldebug_updates + 1
        self._rldebug_acc = defaultdict(lambda: defaultdict(list))
        self._rldebug_minibatch = 0
        self._rldebug_before = None
        if self.settings.level != "summary":
            self._rldebug_before = {
                mid: [p.detach().clone() for p in self.get_parameters(self.module[mid])]
                for mid in self.module.keys()}

    def _logged(self, module_id, keys: tuple[str, ...] = _RAW_KEYS) -> dict[str, float]:
        """This update's learner statistics of a module, as RLlib logged them under
        ``keys``, by name."""
        raw = {}
        for key in keys:
            value = self.metrics.peek((module_id, key), default=_ABSENT)
            if value is not _ABSENT:
                raw[key] = scalar(value)
        return {name: stat.value for name, stat in normalise_stats(raw, new_stack=True).items()
                if name not in _TRACER_STATS}

    def _trace_end_update(self, timesteps) -> None:
        started = getattr(self, "_rldebug_update_started", None)
        ended = time.perf_counter()
        update_time_s = ended - started if started is not None else None
        timing = self._update_parts(started, ended)
        self._rldebug_updates += 1
        epochs = getattr(self, "_rldebug_epochs", 1) or 1
        for mid in self.module.keys():
            acc = self._rldebug_acc.get(mid, {})
            sizes = acc.get("train_batch_size", [])
            # trained_steps sums every epoch's minibatches, like RLlib's
            # num_module_steps_trained; train_batch_size is the module's batch.
            record = {"update": self._rldebug_updates, "module_id": str(mid),
                      "minibatches": len(sizes), "trained_steps": int(sum(sizes)),
                      "train_batch_size": int(sum(sizes) / epochs),
                      # IMPALA/APPO update in RLlib's learner thread, fed from a queue
                      "learner_thread": threading.current_thread() is
                      getattr(self, "_learner_thread", None)}
            for name, value in self._logged(mid).items():
                record[name] = value
                self._trace_check_finite(mid, name, value)
            for key, series in acc.items():
                if key == "train_batch_size":
                    continue
                if key in record:  # RLlib logged a number of this name too: keep both
                    record[f"rllib_{key}"] = record.pop(key)
                if key.endswith("_stats"):
                    record[key] = _merge_stats(series)
                elif series:
                    finite = [v for v in series if np.isfinite(v)]
                    record[key] = float(np.mean(finite)) if finite else float("nan")
            lag = self._target_update_lag(mid, timesteps)
            if lag is not None:
                record["target_update_lag"] = lag
            if self._rldebug_before is not None and mid in self._rldebug_before:
                after = self.get_parameters(self.module[mid])
                squares = sum(float(((a.detach() - b) ** 2).sum())
                              for a, b in zip(after, self._rldebug_before[mid]))
                record["param_update_norm"] = squares ** 0.5
            record["rss_mb"] = rss_mb()
            record["update_time_s"] = update_time_s  # every minibatch of every module
            record.update(timing)  # the same for every module: parts of the one update
            self._trace_writer.write("updates", record)

    def _update_parts(self, started: float | None, ended: float) -> dict[str, float]:
        """Where this update's seconds went (``<part>_time_s``) and how long this Learner
        waited since its last update (``wait_time_s``: for a local Learner, the rest of
        the iteration; in IMPALA/APPO's learner thread, the wait for data)."""
        parts = self._rldebug_parts
        timing = {f"{part}_time_s": parts[part]
                  for part in ("forward", "loss", "backward", "optimizer")}
        if started is not None:
            # the learner connector, the minibatch iterator, RLlib's metrics: the update's
            # time outside its minibatches' steps and the tracer's records
            outside = ended - started - parts["minibatches"]
            timing["batch_time_s"] = max(
                outside - (parts["trace"] - parts["trace_in_minibatches"]), 0.0)
            if self._rldebug_last_end is not None:
                timing["wait_time_s"] = max(started - self._rldebug_last_end, 0.0)
        timing["trace_time_s"] = parts["trace"]
        self._rldebug_last_end = time.perf_counter()
        return timing

    def _target_update_lag(self, module_id, timesteps) -> int | None:
        """Env steps since the module's target network was last updated (DQN, SAC, APPO)."""
        last = self.metrics.peek((module_id, "last_target_update_ts"), default=_ABSENT)
        now = (timesteps or {}).get("num_env_steps_sampled_lifetime")
        if last is _ABSENT or now is None:
            return None
        last, now = scalar(last), scalar(now)
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in (last, now)):
            return None  # no target update yet
        return int(now) - int(last)

    def _trace_minibatch(self, module_id, config, batch, fwd_out, loss) -> None:
        acc = self._rldebug_acc[module_id]
        loss_value = float(loss.detach())
        self._trace_check_finite(module_id, "total_loss", loss_value)
        # RLlib's own loss terms, as logged so far in this update: a term's first NaN is
        # placed at its minibatch (read once per update, they were all placed at the last)
        for name, value in self._logged(module_id, _LOSS_RAW_KEYS).items():
            self._trace_check_finite(module_id, name, value)
        size = next((len(v) for k, v in batch.items() if k in ("obs", "actions")), 0)
        acc["train_batch_size"].append(size)
        if self.settings.level == "summary":
            return
        diagnostics = train_diagnostics(self.module[module_id], config, batch, fwd_out)
        for key, value in diagnostics.items():
            acc[key].append(value)
        if "clip_fraction" in diagnostics:
            # Also into RLlib's own results, so TensorBoard shows it next to the losses.
            self.metrics.log_value((module_id, "rldebug_clip_fraction"),
                                   diagnostics["clip_fraction"], reduce="mean")
        for column in BATCH_COLUMNS:
            if column in batch:
                stats = describe(batch[column])
                acc[f"{column}_stats"].append(stats)
                if stats.get("non_finite"):
                    self._trace_event(module_id, column, first_non_finite(batch[column]))
        if self.settings.level == "full":
            self._trace_writer.write("minibatches", {
                "update": self._rldebug_updates + 1, "minibatch": self._rldebug_minibatch,
                "module_id": str(module_id), "total_loss": loss_value, "size": size,
                **diagnostics,
                "raw_rows": {c: batch[c][:RAW_ROWS].detach().cpu().numpy().tolist()
                             for c in ("actions", "advantages", "value_targets", "rewards")
                             if c in batch}})

    def _trace_gradients(self, gradients) -> None:
        for mid in self.module.keys():
            squares = 0.0
            for param in self.get_parameters(self.module[mid]):
                grad = gradients.get(self.get_param_ref(param))
                if grad is None:
                    continue
                squares += float((grad.detach() ** 2).sum())
            self._rldebug_acc[mid]["grad_norm"].append(squares ** 0.5)
            self.metrics.log_value((mid, "rldebug_grad_norm"), squares ** 0.5, reduce="mean")
            if not np.isfinite(squares):
                self._trace_event(mid, "gradients", None)

    def _trace_check_finite(self, module_id, column, value) -> None:
        try:
            finite = np.isfinite(float(value))
        except (TypeError, ValueError):
            return
        if not finite:
            self._trace_event(module_id, column, None, value=float(value))

    def _trace_event(self, module_id, column, index, value=None) -> None:
        key = (str(module_id), column)
        if key in self._rldebug_seen_bad:
            return  # the first NaN/Inf per module and column is the one that matters
        self._rldebug_seen_bad.add(key)
        record = {"source": "learner", "module_id": str(module_id), "column": column,
                  "update": self._rldebug_current, "minibatch": self._rldebug_minibatch,
                  "index_in_batch": index, "value": value}
        if self._rldebug_snapshot is not None:
            path = write_update_snapshot(self._trace_sink, "learner", self._rldebug_current,
                                         self._rldebug_snapshot)
            self._rldebug_snapshot = None  # one file per update
            self._rldebug_snapshot_file = path.name
        if getattr(self, "_rldebug_snapshot_file", None):
            record["snapshot"] = self._rldebug_snapshot_file
        self._trace_writer.write("events", record)


def _merge_stats(series: list[dict]) -> dict:
    """Combine per-minibatch describe() results into one (min of mins, mean of means...)."""
    usable = [s for s in series if s.get("n")]
    if not usable:
        return {"n": 0}
    merged = {"n": sum(s["n"] for s in usable),
              "non_finite": sum(s.get("non_finite", 0) for s in usable)}
    with_values = [s for s in usable if "mean" in s]
    if with_values:
        merged.update(min=min(s["min"] for s in with_values),
                      max=max(s["max"] for s in with_values),
                      mean=float(np.average([s["mean"] for s in with_values],
                                            weights=[s["n"] for s in with_values])))
    return merged


def traced_learner_class(base: type, settings: TraceSettings) -> type:
    """A subclass of ``base`` (the config's Learner class) that writes trace records."""
    from rldebug.callbacks.compose import with_settings

    return with_settings(TracingLearnerMixin, settings, learner=base,
                         name=f"Traced{base.__name__}")


__all__ = ["LearnerThreadError", "TracingLearnerMixin", "traced_learner_class"]
