"""``DoctorCallback``: the doctor during training, reporting findings as they arise.

Each ``on_train_result`` feeds the result to a :class:`~rldebug.doctor.diagnosis.Doctor`;
new findings go to the console (stderr) and to TensorBoard's Text tab (tag
``doctor/<rule>/<module>``), and the counts are added to the result under
``doctor/{findings,errors,warnings}`` so that a stop criterion such as
``{"doctor/errors": 1}`` ends a broken run early.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.doctor.diagnosis import Doctor
from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import extract
from rldebug.doctor.report import finding_line, finding_markdown
from rldebug.doctor.thresholds import Thresholds


def log_action_space_size(space: Any) -> float | None:
    """``log|A|``, the maximum policy entropy, for Discrete/MultiDiscrete spaces (else None)."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Discrete) and space.n > 1:
        return math.log(int(space.n))
    if isinstance(space, gym.spaces.MultiDiscrete):
        total = sum(math.log(int(n)) for n in space.nvec.flatten())
        return total if total > 0 else None
    return None


def _action_spaces(algorithm: Any, module_ids: list[str]) -> dict[str, Any]:
    """Each module's/policy's action space, from whichever stack the algorithm runs."""
    spaces = {}
    for module_id in module_ids:
        try:
            if algorithm.config.enable_rl_module_and_learner:
                spaces[module_id] = algorithm.get_module(module_id).action_space
            else:
                spaces[module_id] = algorithm.get_policy(module_id).action_space
        except Exception:  # noqa: BLE001, S112 - a missing space only costs the exact log|A|
            continue
    return spaces


class DoctorCallback(RLlibCallback):
    """Runs the doctor's rules after every training iteration.

    Use it as is (``config.callbacks(DoctorCallback)``, or
    ``rldebug.callbacks.add_callbacks(config, DoctorCallback)``), or configured:
    ``DoctorCallback.configured(thresholds=..., logdir=..., console=False)``.
    Findings so far are in ``callback.findings``.
    """

    thresholds: ClassVar[Thresholds | None] = None
    logdir: ClassVar[str | None] = None
    console: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self._doctor: Doctor | None = None
        self._writer = None
        self._console = None

    @classmethod
    def configured(cls, *, thresholds: Thresholds | None = None,
                   logdir: str | Path | None = None,
                   console: bool = True) -> type[DoctorCallback]:
        """A ``DoctorCallback`` subclass with these settings (RLlib wants a class).

        :param thresholds: the rules' thresholds (default :class:`Thresholds`).
        :param logdir: where the TensorBoard text goes; default ``algorithm.logdir``
            (the trial directory under Tune). With :func:`rldebug.run`, pass the
            run's logdir to see findings next to its curves.
        :param console: print new findings to stderr.
        """
        if thresholds is not None and not isinstance(thresholds, Thresholds):
            raise TypeError("thresholds must be an rldebug.doctor.Thresholds or None, got "
                            f"{type(thresholds).__name__}: {thresholds!r:.80}.")
        if logdir is not None and not isinstance(logdir, (str, Path)):
            raise TypeError(f"logdir must be a path (str or pathlib.Path) or None, got "
                            f"{type(logdir).__name__}: {logdir!r:.80}.")
        if not isinstance(console, bool):
            raise TypeError(f"console must be True or False, got {console!r}.")
        return type(cls.__name__, (cls,), {
            "thresholds": thresholds, "console": console,
            "logdir": None if logdir is None else str(Path(logdir).expanduser())})

    @property
    def findings(self) -> list[Finding]:
        """Every finding reported so far."""
        return [] if self._doctor is None else list(self._doctor.findings)

    def on_train_result(self, *, algorithm, metrics_logger=None, result: dict,
                        **kwargs) -> None:
        if self._doctor is None:
            self._doctor = self._make_doctor(algorithm, result)
        new = self._doctor.feed(result)
        findings = self._doctor.findings
        result["doctor"] = {
            "findings": len(findings),
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
        }
        if new:
            self._report(new, algorithm, int(result.get("training_iteration", 0)))

    def on_algorithm_init(self, *, algorithm, metrics_logger=None, **kwargs) -> None:
        self._doctor = None

    def _make_doctor(self, algorithm, result: dict) -> Doctor:
        thresholds = self.thresholds or Thresholds()
        if thresholds.entropy_reference is None:
            modules = list(extract(result).modules)
            references = {m: log_action_space_size(space)
                          for m, space in _action_spaces(algorithm, modules).items()}
            references = {m: r for m, r in references.items() if r is not None}
            if references:
                thresholds = replace(thresholds, entropy_reference=references)
        config = algorithm.config.to_dict() if hasattr(algorithm, "config") else None
        return Doctor(thresholds, config=config, trial=getattr(algorithm, "trial_name", None))

    def _report(self, new: list[Finding], algorithm, iteration: int) -> None:
        if self.console:
            if self._console is None:
                from rich.console import Console

                self._console = Console(stderr=True)
            for finding in new:
                self._console.print(f"[bold]rldebug doctor[/] {finding_line(finding)}")
        writer = self._tensorboard(algorithm)
        if writer is not None:
            for finding in new:
                tag = f"doctor/{finding.rule_id}" + (f"/{finding.module}" if finding.module else "")
                writer.add_text(tag, finding_markdown(finding), global_step=iteration)
            writer.flush()

    def _tensorboard(self, algorithm):
        if self._writer is None:
            logdir = self.logdir or getattr(algorithm, "logdir", None)
            if not logdir:
                return None
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(str(logdir), filename_suffix=".doctor")
        return self._writer


__all__ = ["DoctorCallback", "log_action_space_size"]
