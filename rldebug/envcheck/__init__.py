"""Checking an environment, apart from diagnosing runs (:mod:`rldebug.doctor`).

- :func:`check_env` — the one-off, invasive check: random rollouts, seeded
  replays, RLlib's own checker and the new stack's encoder trap.
- :class:`PassiveEnvCheck` — the passive checker: a callback that wraps every env
  RLlib creates and checks each live ``reset``/``step`` result cheaply, naming
  the first violation with its step and agent. :func:`rldebug.local_mode` adds it
  (``local_mode(config, check_env=False)`` to opt out).

Both report in one vocabulary: :class:`EnvCheck` (name, status/severity,
message, evidence, fix).
"""

from rldebug.envcheck.check import (
    CHECKS,
    EnvCheck,
    EnvCheckError,
    EnvCheckReport,
    check_env,
    default_encoder_problem,
)
from rldebug.envcheck.passive import EnvContractError, PassiveEnvCheck, PassiveEnvCheckWarning

__all__ = ["CHECKS", "EnvCheck", "EnvCheckError", "EnvCheckReport", "EnvContractError",
           "PassiveEnvCheck", "PassiveEnvCheckWarning", "check_env", "default_encoder_problem"]
