"""What each Learner update did (new stack), recorded by a Learner mixin.

RLlib 2.60 runs no callback inside ``Learner.update``, so the trace subclasses
the config's Learner class (set through ``config.training(learner_class=...)``)
and wraps four of its steps: ``update`` (one record per update call, with the
parameter-update norm), ``compute_loss_for_module`` (batch stats and the clip
fraction RLlib does not report, per minibatch), ``compute_gradients`` (gradient
norm per module, non-finite gradients).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from rldebug.trace.stats import describe, first_non_finite, scalar
from rldebug.trace.writer import RAW_ROWS, TraceWriter

# The loss terms PPO logs per module (ppo_torch_learner.py) plus the learning rate.
LOSS_KEYS = ("policy_loss", "vf_loss", "vf_loss_unclipped", "entropy", "mean_kl_loss",
             "vf_explained_var", "total_loss", "curr_kl_coeff", "curr_entropy_coeff",
             "default_optimizer_learning_rate", "num_module_steps_trained")
BATCH_COLUMNS = ("advantages", "value_targets", "action_logp")


class TracingLearnerMixin:
    """Mixin for a TorchLearner; ``_trace_dir`` and ``_trace_level`` are class attributes."""

    _trace_dir: str = ""
    _trace_level: str = "batches"

    # -- RLlib hooks ---------------------------------------------------------

    def update(self, *args, **kwargs):
        self._rldebug_epochs = kwargs.get("num_epochs") or 1
        self._trace_begin_update()
        result = super().update(*args, **kwargs)
        self._trace_end_update(result)
        return result

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        loss = super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)
        self._trace_minibatch(module_id, config, batch, fwd_out, loss)
        return loss

    def compute_gradients(self, loss_per_module, **kwargs):
        gradients = super().compute_gradients(loss_per_module, **kwargs)
        if self._trace_level != "summary" and gradients:
            self._trace_gradients(gradients)
        return gradients

    # -- recording -----------------------------------------------------------

    @property
    def _trace_writer(self) -> TraceWriter:
        if getattr(self, "_rldebug_writer", None) is None:
            self._rldebug_writer = TraceWriter(self._trace_dir, role="learner")
            self._rldebug_updates = 0
            self._rldebug_seen_bad: set = set()
        return self._rldebug_writer

    def _trace_begin_update(self) -> None:
        writer = self._trace_writer
        self._rldebug_acc = defaultdict(lambda: defaultdict(list))
        self._rldebug_minibatch = 0
        self._rldebug_before = None
        if self._trace_level != "summary":
            self._rldebug_before = {
                mid: [p.detach().clone() for p in self.get_parameters(self.module[mid])]
                for mid in self.module.keys()}
        return writer

    def _trace_end_update(self, result) -> None:
        self._rldebug_updates += 1
        for mid in self.module.keys():
            sizes = self._rldebug_acc.get(mid, {}).get("train_batch_size", [])
            # trained_steps sums every epoch's minibatches, like RLlib's
            # num_module_steps_trained; train_batch_size is the module's batch.
            record = {"update": self._rldebug_updates, "module_id": str(mid),
                      "minibatches": len(sizes), "trained_steps": int(sum(sizes))}
            values = result.get(mid, {}) if isinstance(result, dict) else {}
            for key in LOSS_KEYS:
                if key in values:
                    record[key] = scalar(values[key])
                    self._trace_check_finite(mid, key, record[key])
            acc = self._rldebug_acc.get(mid, {})
            for key, series in acc.items():
                if key == "train_batch_size":
                    continue
                if key.endswith("_stats"):
                    record[key] = _merge_stats(series)
                elif series:
                    record[key] = float(np.mean(series))
            if self._rldebug_before is not None and mid in self._rldebug_before:
                after = self.get_parameters(self.module[mid])
                squares = sum(float(((a.detach() - b) ** 2).sum())
                              for a, b in zip(after, self._rldebug_before[mid]))
                record["param_update_norm"] = squares ** 0.5
            if self._rldebug_epochs:
                record["train_batch_size"] = int(sum(sizes) / self._rldebug_epochs)
            self._trace_writer.write("updates", record)

    def _trace_minibatch(self, module_id, config, batch, fwd_out, loss) -> None:
        import torch

        self._rldebug_minibatch += 1
        acc = self._rldebug_acc[module_id]
        loss_value = float(loss.detach())
        self._trace_check_finite(module_id, "total_loss", loss_value)
        acc["train_batch_size"].append(len(batch["actions"]))
        if self._trace_level == "summary":
            return
        with torch.no_grad():
            module = self.module[module_id].unwrapped()
            dist = module.get_train_action_dist_cls().from_logits(fwd_out["action_dist_inputs"])
            ratio = torch.exp(dist.logp(batch["actions"]) - batch["action_logp"])
            clipped = (torch.abs(ratio - 1.0) > config.clip_param).float()
            if "loss_mask" in batch:
                clip_fraction = float(clipped[batch["loss_mask"]].mean())
            else:
                clip_fraction = float(clipped.mean())
        acc["clip_fraction"].append(clip_fraction)
        # Also into RLlib's own results, so TensorBoard shows it next to the losses.
        self.metrics.log_value((module_id, "rldebug_clip_fraction"), clip_fraction,
                               reduce="mean")
        for column in BATCH_COLUMNS:
            if column in batch:
                stats = describe(batch[column])
                acc[f"{column}_stats"].append(stats)
                if stats.get("non_finite"):
                    self._trace_event(module_id, column, first_non_finite(batch[column]))
        if self._trace_level == "full":
            self._trace_writer.write("minibatches", {
                "update": self._rldebug_updates + 1, "minibatch": self._rldebug_minibatch,
                "module_id": str(module_id), "total_loss": loss_value,
                "clip_fraction": clip_fraction, "size": len(batch["actions"]),
                "raw_rows": {c: batch[c][:RAW_ROWS].detach().cpu().numpy().tolist()
                             for c in ("actions", "advantages", "value_targets") if c in batch}})

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
        self._trace_writer.write("events", {
            "source": "learner", "module_id": str(module_id), "column": column,
            "update": self._rldebug_updates + 1, "minibatch": self._rldebug_minibatch,
            "index_in_batch": index, "value": value})


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


def traced_learner_class(base: type, directory: str, level: str) -> type:
    """A subclass of ``base`` (the config's Learner class) that writes trace records."""
    return type(f"Traced{base.__name__}", (TracingLearnerMixin, base),
                {"_trace_dir": str(directory), "_trace_level": level,
                 "__module__": __name__})


__all__ = ["LOSS_KEYS", "TracingLearnerMixin", "traced_learner_class"]
