"""``DoctorCallback``: the doctor during training, reporting findings as they arise.

Each ``on_train_result`` feeds the result to a :class:`~rldebug.doctor.diagnosis.Doctor`;
new findings go to the console (stderr) and to TensorBoard's Text tab (tag
``doctor/<rule>/<module>``), and the counts are added to the result under
``doctor/{findings,errors,warnings}`` so that a stop criterion such as
``{"doctor/errors": 1}`` ends a broken run early.

Configured with ``stop_on="error"``, a new error finding sets the result's
``done`` (Tune and :func:`rldebug.run` stop the run there); with
``break_on="error"`` it stops in the debugger through
:func:`rldebug.ide.break_here` (logged instead when no debugger is attached).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.callbacks.compose import with_settings
from rldebug.doctor.causes import explain
from rldebug.doctor.diagnosis import Doctor
from rldebug.doctor.findings import SEVERITIES, Finding, severity_rank
from rldebug.doctor.metrics import extract
from rldebug.doctor.report import finding_line, finding_markdown
from rldebug.doctor.thresholds import Thresholds
from rldebug.shapes.env_meta import env_spec_of, write_trial_env_spec
from rldebug.shapes.results import local_trial_dir
from rldebug.tbfile import summary_writer
from rldebug.usage import UsageError, UsageTypeError, check_bool

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class DoctorSettings:
    """What :meth:`DoctorCallback.configured` was asked for (its parameters say what)."""

    thresholds: Thresholds | None = None
    logdir: str | None = None
    console: bool = True
    stop_on: str | None = None
    break_on: str | None = None
    break_mode: str = "auto"


class DoctorCallback(RLlibCallback):
    """Runs the doctor's rules after every training iteration.

    Use it as is (``config.callbacks(DoctorCallback)``, or
    ``rldebug.callbacks.add_callbacks(config, DoctorCallback)``), or configured:
    ``DoctorCallback.configured(thresholds=..., logdir=..., console=False)``.
    Findings so far are in ``callback.findings``.
    """

    settings: ClassVar[DoctorSettings] = DoctorSettings()

    def __init__(self) -> None:
        super().__init__()
        self._doctor: Doctor | None = None
        self._writer = None
        self._console = None

    @classmethod
    def configured(cls, *, thresholds: Thresholds | None = None,
                   logdir: str | Path | None = None, console: bool = True,
                   stop_on: str | None = None, break_on: str | None = None,
                   break_mode: str = "auto") -> type[DoctorCallback]:
        """A ``DoctorCallback`` subclass with these settings (RLlib wants a class).

        :param thresholds: the rules' thresholds (default :class:`Thresholds`).
        :param logdir: where the TensorBoard text goes; default the trial's directory
            (under Tune, where its result files are, when its storage is local; else
            ``algorithm.logdir``, Tune's working directory for a trial on remote
            storage). With :func:`rldebug.run`, pass the run's logdir to see findings next
            to its curves.
        :param console: print new findings to stderr.
        :param stop_on: ``"error"`` or ``"warning"``: end training at the first new
            finding of that severity or worse, or the first whose severity rises to it (a
            warning judged an error once the return can be judged; the result's ``done``
            is set; Tune and :func:`rldebug.run` honour it). None: never.
        :param break_on: ``"error"`` or ``"warning"``: stop in the debugger at such
            a finding (:func:`rldebug.ide.break_here`; its ``stats`` local is the
            result, ``event.extra`` the finding). None: never.
        :param break_mode: ``"auto"`` (stop when a debugger is attached or stdin is
            a terminal, else log), ``"break"`` or ``"log"``.
        """
        if thresholds is not None and not isinstance(thresholds, Thresholds):
            raise UsageTypeError("thresholds must be an rldebug.doctor.Thresholds or None, got "
                                 f"{type(thresholds).__name__}: {thresholds!r:.80}.")
        if logdir is not None and not isinstance(logdir, (str, Path)):
            raise UsageTypeError(f"logdir must be a path (str or pathlib.Path) or None, got "
                                 f"{type(logdir).__name__}: {logdir!r:.80}.")
        console = check_bool(console, "DoctorCallback console=")
        for name, value in (("stop_on", stop_on), ("break_on", break_on)):
            if value is not None and value not in SEVERITIES[1:]:
                raise UsageError(f"DoctorCallback.configured({name}={value!r}): use 'error', "
                                 "'warning' (that severity or worse) or None.")
        if break_mode not in ("auto", "break", "log"):
            raise UsageError(f"DoctorCallback.configured(break_mode={break_mode!r}): use "
                             "'auto', 'break' or 'log'.")
        return with_settings(cls, DoctorSettings(
            thresholds=thresholds, console=console, stop_on=stop_on, break_on=break_on,
            break_mode=break_mode,
            logdir=None if logdir is None else str(Path(logdir).expanduser())))

    @property
    def findings(self) -> list[Finding]:
        """Every finding reported so far."""
        return [] if self._doctor is None else list(self._doctor.findings)

    def on_train_result(self, *, algorithm, metrics_logger=None, result: dict,
                        **kwargs) -> None:
        if self._doctor is None:
            self._doctor = self._make_doctor(algorithm, result)
        # a finding whose severity rose (a warning judged an error once the return could
        # be judged) is said again, and can stop the run or break as a new one does
        new = self._doctor.feed(result) + self._doctor.escalated
        findings = explain(self._doctor.findings, self._doctor.agent_modules)
        result["doctor"] = {
            "findings": len(findings),
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
        }
        if new:
            iteration = int(result.get("training_iteration", 0))
            self._report(new, algorithm, iteration)
            self._act(new, result, iteration)

    def _act(self, new: list[Finding], result: dict, iteration: int) -> None:
        """Stop training and/or stop in the debugger, as configured, at a serious finding."""
        def first_at(level: str | None) -> Finding | None:
            if level is None:
                return None
            causes_first = sorted(new, key=lambda f: f.explained_by is not None)
            return next((f for f in causes_first
                         if severity_rank(f.severity) >= severity_rank(level)), None)

        stopping = first_at(self.settings.stop_on)
        if stopping is not None:
            result["done"] = True  # named by its root cause, as the report names it
            result["doctor"]["stopped_by"] = stopping.explained_by or stopping.rule_id
        breaking = first_at(self.settings.break_on)
        if breaking is not None:
            from rldebug.ide import break_here

            break_here(f"doctor {breaking.severity}[{breaking.rule_id}]: {breaking.message}",
                       kind="doctor", mode=self.settings.break_mode, iteration=iteration,
                       module_id=breaking.module, stats=result, extra=breaking.to_dict())

    def on_algorithm_init(self, *, algorithm, metrics_logger=None, **kwargs) -> None:
        self._doctor = None

    def _make_doctor(self, algorithm, result: dict) -> Doctor:
        thresholds = self.settings.thresholds or Thresholds()
        if thresholds.entropy_reference is None:
            modules = list(extract(result).modules)
            references = {m: log_action_space_size(space)
                          for m, space in _action_spaces(algorithm, modules).items()}
            references = {m: r for m, r in references.items() if r is not None}
            if references:
                thresholds = replace(thresholds, entropy_reference=references)
        config = algorithm.config.to_dict() if hasattr(algorithm, "config") else None
        spec = env_spec_of(algorithm)
        self._record_env_spec(spec, algorithm)
        return Doctor(thresholds, config=config, trial=getattr(algorithm, "trial_name", None),
                      env_spec=spec)

    @staticmethod
    def _record_env_spec(spec: dict | None, algorithm) -> None:
        """Beside the trial's params.json, what the env declares, for ``rldebug doctor``
        on the trial later: params.json names only the class or registered name of a
        wrapped gym env. A directory that cannot be written is said, not raised: the run
        goes on."""
        try:
            write_trial_env_spec(spec, algorithm)
        except OSError as err:
            logger.warning("rldebug doctor: could not record the env's spec beside the "
                           "trial (%s); `rldebug doctor` on this trial will not know its env.",
                           err)

    def _report(self, new: list[Finding], algorithm, iteration: int) -> None:
        if self.settings.console:
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
            # a trial kept on remote storage (S3, GCS): Tune's working directory, which it
            # uploads with the trial when SyncConfig(sync_artifacts=True)
            logdir = self.settings.logdir or local_trial_dir(algorithm) or \
                getattr(algorithm, "logdir", None)
            if not logdir:
                return None
            self._writer = summary_writer(logdir, filename_suffix=".doctor")
        return self._writer


__all__ = ["DoctorCallback", "log_action_space_size"]
