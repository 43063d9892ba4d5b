"""What the passive env check counted, as a run's results carry it.

:class:`rldebug.envcheck.PassiveEnvCheck` (which ``rldebug.run`` adds) checks every
``reset``/``step`` result RLlib's EnvRunners get, and at the end of each ``sample()``
logs how many steps had each problem::

    env_runners/rldebug_env_check/<check>/<agent>    steps in the iteration (summed)

``<check>`` is the check's id (``finite_rewards``, ``observation_in_space``,
``observation_dtype``, ``observation_constant``); ``<agent>`` the agent id,
``default_agent`` for a single-agent env. Only problems are logged: an iteration without
one has no entry. ``observation_constant`` counts the steps of an env whose every
observation value of the agent, since the env was made, has been one number (logged
from the :data:`CONSTANT_OBSERVATIONS_MINIMUM`-th on; never again once one differs).

Why it matters: RLlib 2.60 averages episode returns and learner statistics with
``nanmean`` (``utils/metrics/stats``), and its torch Learner zeroes NaN gradients, so
a NaN reward can leave every number in the results finite. These counts are then the
only trace of it in ``result.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESULT_KEY = "rldebug_env_check"  # env_runners/rldebug_env_check/<check>/<agent>
NON_FINITE_REWARD = "finite_rewards"  # the check a NaN/inf reward fails
CONSTANT_OBSERVATIONS = "observation_constant"  # every observation value one number
CONSTANT_OBSERVATIONS_MINIMUM = 1000  # observations of one env before they are said


def problems_from_result(result: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """``{check: {agent: steps}}`` the env check counted in this iteration of a (nested)
    result; ``{}`` when it was not running or saw nothing."""
    from rldebug.shapes.results import env_runner_stats, number

    logged = env_runner_stats(result).get(RESULT_KEY)
    out: dict[str, dict[str, float]] = {}
    if not isinstance(logged, Mapping):
        return out
    for check, agents in logged.items():
        for agent, count in (agents.items() if isinstance(agents, Mapping) else ()):
            count = number(count)
            if count is not None and count > 0:
                out.setdefault(str(check), {})[str(agent)] = count
    return out


__all__ = ["CONSTANT_OBSERVATIONS", "CONSTANT_OBSERVATIONS_MINIMUM", "NON_FINITE_REWARD",
           "RESULT_KEY", "problems_from_result"]
