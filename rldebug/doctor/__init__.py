"""The doctor: name reward and learning problems in RLlib runs, with evidence and a fix.

- :func:`diagnose` — a finished run (Tune experiment, trial, ``rldebug run``
  logdir) or a list of result dicts → :class:`Diagnosis` (``.findings``).
- :class:`DoctorCallback` — the same rules live, during training.
- :class:`Thresholds` — every number the rules compare against, with sources.
- :class:`Finding` — one problem: rule, severity, iteration, evidence, fix.

``DoctorCallback`` is imported on first use: it is an RLlib callback, and reading a
run's files (``rldebug doctor``) needs no RLlib.
"""

from rldebug.doctor.diagnosis import Diagnosis, Doctor, TrialDiagnosis, diagnose
from rldebug.doctor.findings import SEVERITIES, Finding
from rldebug.doctor.reading import UnusableInputError
from rldebug.doctor.report import render, to_json
from rldebug.doctor.thresholds import Thresholds

__all__ = ["SEVERITIES", "Diagnosis", "Doctor", "DoctorCallback", "Finding", "Thresholds",
           "TrialDiagnosis", "UnusableInputError", "diagnose", "render", "to_json"]


def __getattr__(name: str):
    if name == "DoctorCallback":
        from rldebug.doctor.live import DoctorCallback

        globals()[name] = DoctorCallback
        return DoctorCallback
    raise AttributeError(f"module 'rldebug.doctor' has no attribute {name!r}")
