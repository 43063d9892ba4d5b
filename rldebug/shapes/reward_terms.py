"""Named reward parts: the convention an env uses to say what its reward is made of.

An env reports, in each agent's ``info`` of a step, the parts that step's reward is
the sum of::

    infos["agent1"]["reward_terms"] = {"new_field": 0.0, "idle": -0.5, "collision": 0.0}

Names are the env's own; values are plain numbers summing to the agent's reward of
that step (report every term each step, 0.0 when it does not apply, so every episode
has every term). A single-agent env puts the dict in its ``info``. rldebug then sums
the terms per agent and episode: :class:`rldebug.callbacks.RewardTerms` logs them
(``env_runners/reward_terms/<agent>/<term>_mean``, so TensorBoard shows them), the
trace records them per ``sample()`` call, ``rldebug diff`` compares them and the
doctor cites them ("84% of agent1's return is the idle penalty").

A term is paid with the info of the step where the reward is: in a turn-based env, a
reward an agent receives while it does not act is reported with its next info.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

INFO_KEY = "reward_terms"
RESULT_KEY = "reward_terms"  # env_runners/reward_terms/<agent>/<term>_mean


class BadRewardTerms(ValueError):
    """An info's ``reward_terms`` is not a dict of names to finite numbers."""


def terms_of(info: Any) -> dict[str, float] | None:
    """The reward terms in one step's info (None when the env reports none).

    :raises BadRewardTerms: for anything but a dict of str names to finite numbers.
    """
    if not isinstance(info, Mapping) or INFO_KEY not in info:
        return None
    terms = info[INFO_KEY]
    if not isinstance(terms, Mapping):
        raise BadRewardTerms(f"info[{INFO_KEY!r}] must be a dict of term name -> number, got "
                             f"{type(terms).__name__}: {terms!r:.80}.")
    out = {}
    for name, value in terms.items():
        if type(value) is float and type(name) is str and math.isfinite(value):
            out[name] = value  # the common case, every step: no ABC checks
            continue
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(
                value, numbers.Real) or not math.isfinite(float(value)):
            raise BadRewardTerms(f"info[{INFO_KEY!r}] must map term names (str) to finite "
                                 f"numbers; got {name!r}: {value!r}.")
        out[name] = float(value)
    return out


def add_terms(total: dict[str, float], terms: Mapping[str, float] | None) -> None:
    """Add one step's terms into a running per-episode sum (in place)."""
    for name, value in (terms or {}).items():
        total[name] = total.get(name, 0.0) + float(value)


def episode_terms(episode, prev_chunks=None) -> dict[str, dict[str, float]]:
    """Per agent, each term summed over a finished new-stack episode (all its chunks);
    ``{}`` on the old stack (whose episode keeps only the last info) or without terms.
    Malformed terms are skipped here; :class:`rldebug.callbacks.RewardTerms` names them."""
    from rldebug.shapes.episodes import OLD, agent_steps, kind_of

    if kind_of(episode) == OLD:
        return {}
    sums: dict[str, dict[str, float]] = {}
    for agent_id, steps in agent_steps(episode, prev_chunks).items():
        for info in steps["infos"]:
            try:
                terms = terms_of(info)
            except BadRewardTerms:
                continue
            if terms:
                add_terms(sums.setdefault(agent_id, {}), terms)
    return sums


def terms_from_result(result: Mapping) -> dict[str, dict[str, float]]:
    """``{agent: {term: mean per episode}}`` that :class:`RewardTerms` logged in a result
    (new stack ``env_runners/reward_terms``, old stack ``custom_metrics``)."""
    from rldebug.shapes.results import env_runner_stats, number

    runners = env_runner_stats(result)
    logged = runners.get(RESULT_KEY)
    out: dict[str, dict[str, float]] = {}
    if not isinstance(logged, Mapping):  # the old stack: custom_metrics, '/'-joined keys
        for key, value in (runners.get("custom_metrics") or {}).items():
            parts = str(key).split("/")
            value = number(value)
            if len(parts) == 3 and parts[0] == RESULT_KEY and parts[2].endswith("_mean") \
                    and value is not None:
                out.setdefault(parts[1], {})[parts[2][:-len("_mean")]] = value
        return out
    for agent, terms in logged.items():
        if not isinstance(terms, Mapping):
            continue
        for key, value in terms.items():
            value = number(value)
            if isinstance(key, str) and key.endswith("_mean") and value is not None:
                out.setdefault(str(agent), {})[key[:-len("_mean")]] = value
    return out


def largest_share(terms: Mapping[str, float]) -> tuple[str, float] | None:
    """The term with the largest share of the absolute sum of all terms, and that share."""
    total = sum(abs(v) for v in terms.values())
    if not terms or total <= 0:
        return None
    name = max(terms, key=lambda n: abs(terms[n]))
    return name, abs(terms[name]) / total


__all__ = ["INFO_KEY", "RESULT_KEY", "BadRewardTerms", "add_terms", "episode_terms",
           "largest_share", "terms_from_result", "terms_of"]
