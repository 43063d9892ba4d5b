"""The doctor: name reward and learning problems in RLlib runs, with evidence and a fix.

- :func:`diagnose` — a finished run (Tune experiment, trial, ``rldebug run``
  logdir) or a list of result dicts → :class:`Diagnosis` (``.findings``).
- :class:`DoctorCallback` — the same rules live, during training.
- :class:`Thresholds` — every number the rules compare against, with sources.
- :class:`Finding` — one problem: rule, severity, iteration, evidence, fix.
"""

from rldebug.doctor.diagnosis import Diagnosis, Doctor, TrialDiagnosis, diagnose
from rldebug.doctor.findings import SEVERITIES, Finding
from rldebug.doctor.live import DoctorCallback
from rldebug.doctor.reading import UnusableInputError
from rldebug.doctor.report import render, to_json
from rldebug.doctor.thresholds import Thresholds

__all__ = ["SEVERITIES", "Diagnosis", "Doctor", "DoctorCallback", "Finding", "Thresholds",
           "TrialDiagnosis", "UnusableInputError", "diagnose", "render", "to_json"]
