"""Re-run one recorded Learner update in this process and stop at its exact minibatch.

The trace kept, from before the update, the Learner's module and optimizer
state, the torch/numpy/python RNG states (they decide the minibatch shuffle) and
the update's inputs. The replay sets them on a freshly built Learner of the
user's own class (subclassed with :class:`ReplayLearnerMixin`) and calls
``Learner.update`` with the same arguments: the learner connector, forward pass,
loss and gradients run as in training. When the target minibatch's loss for the
target module is computed, the replay stops through ``break_here`` with the
minibatch, the forward outputs and the loss as locals, then ends the update.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rldebug.tracing.replay_state import set_rng_states


class UpdateReplayFinished(Exception):
    """Raised inside the Learner once the replay has stopped at its minibatch."""


@dataclass
class UpdateTarget:
    update: int
    minibatch: int
    module_id: str | None
    reason: str
    mode: str = "auto"
    column: str = "total_loss"


@dataclass
class UpdateOutcome:
    stop: Any = None  # the BreakEvent
    minibatch: int | None = None
    module_id: str | None = None
    loss: float | None = None
    minibatches_seen: int = 0


@dataclass(frozen=True)
class UpdateReplaySettings:
    """The update to stop at and the outcome the replay fills in."""

    target: UpdateTarget
    outcome: UpdateOutcome


class ReplayLearnerMixin:
    """Counts minibatches like the trace does and stops at the target one (its
    :class:`UpdateReplaySettings` set on a subclass by :func:`replay_learner_class`)."""

    settings: UpdateReplaySettings

    def _update(self, *args, **kwargs):
        self.settings.outcome.minibatches_seen += 1
        return super()._update(*args, **kwargs)

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        loss = super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)
        target, outcome = self.settings.target, self.settings.outcome
        if (outcome.minibatches_seen == target.minibatch
                and (target.module_id is None or str(module_id) == target.module_id)):
            self._replay_stop(module_id, batch, fwd_out, loss)
        return loss

    def _replay_stop(self, module_id, batch, fwd_out, loss) -> None:
        from rldebug.ide import break_here

        target, outcome = self.settings.target, self.settings.outcome
        value = float(loss.detach())
        outcome.minibatch, outcome.module_id, outcome.loss = (
            outcome.minibatches_seen, str(module_id), value)
        stats = {"loss": value, "fwd_out": fwd_out, "module": self.module[module_id]}
        outcome.stop = break_here(
            target.reason, kind="reproduce", mode=target.mode, module_id=str(module_id),
            value=value, batch=batch, stats=stats,
            extra={"update": target.update, "minibatch": outcome.minibatches_seen})
        raise UpdateReplayFinished()


def replay_learner_class(base: type, target: UpdateTarget, outcome: UpdateOutcome) -> type:
    """A subclass of the user's Learner class that stops at ``target``."""
    from rldebug.callbacks.compose import with_settings

    return with_settings(ReplayLearnerMixin, UpdateReplaySettings(target, outcome),
                         learner=base, name=f"Replay{base.__name__}")


def run_update(algorithm, snapshot: dict, target: UpdateTarget,
               outcome: UpdateOutcome) -> UpdateOutcome:
    """Set the snapshot on the algorithm's (local) Learner and replay the update."""

    def replay(learner):
        learner.set_state(snapshot["state"])
        set_rng_states(snapshot["rng"])
        try:
            learner.update(*snapshot["args"], **snapshot["kwargs"])
        except UpdateReplayFinished:
            pass
        return True

    algorithm.learner_group.foreach_learner(replay)
    return outcome


def check_update(target: UpdateTarget, outcome: UpdateOutcome) -> list[str]:
    if outcome.stop is None:
        return [(f"the update has {outcome.minibatches_seen} minibatches; minibatch "
                 f"{target.minibatch} was never reached")]
    if target.column == "total_loss" and outcome.loss is not None and math.isfinite(
            outcome.loss):
        return [(f"the loss at minibatch {target.minibatch} is finite ({outcome.loss:.4g}) "
                 "in the replay")]
    return []


__all__ = ["ReplayLearnerMixin", "UpdateOutcome", "UpdateReplayFinished", "UpdateTarget",
           "check_update", "replay_learner_class", "run_update"]
