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

A term is reported with the info of the step where the env pays the reward. In a
turn-based env an agent is often paid at a step where it gets no observation (the mover's
cost, returned while the other player observes): RLlib keeps that reward for the agent's
next observation but drops the info that came with it. :func:`watch_unobserved_terms`
wraps each sub-env's ``step`` (as the passive env check does) to hold those terms, so
:class:`rldebug.callbacks.RewardTerms` and the trace count them where RLlib counts the
reward (new stack; the old stack keeps an agent's last info only).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

INFO_KEY = "reward_terms"
RESULT_KEY = "reward_terms"  # env_runners/reward_terms/<agent>/<term>_mean


class BadRewardTerms(ValueError):
    """An info's ``reward_terms`` is not a dict of names to numbers."""


def terms_of(info: Any) -> dict[str, float] | None:
    """The reward terms in one step's info (None when the env reports none). A NaN or
    infinite value is kept: it makes its episode's sum of the term non-finite, which
    :class:`rldebug.callbacks.RewardTerms` leaves out of the mean and counts, as RLlib's
    return leaves out a NaN reward's episode.

    :raises BadRewardTerms: for anything but a dict of str names without ``/`` (each is
        one level of the metric's key) to numbers.
    """
    if not isinstance(info, Mapping) or INFO_KEY not in info:
        return None
    terms = info[INFO_KEY]
    if not isinstance(terms, Mapping):
        raise BadRewardTerms(f"info[{INFO_KEY!r}] must be a dict of term name -> number, got "
                             f"{type(terms).__name__}: {terms!r:.80}.")
    out = {}
    for name, value in terms.items():
        if type(value) is float and type(name) is str and "/" not in name:
            out[name] = value  # the common case, every step: no ABC checks
            continue
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(
                value, numbers.Real):
            raise BadRewardTerms(f"info[{INFO_KEY!r}] must map term names (str) to "
                                 f"numbers; got {name!r}: {value!r}.")
        if "/" in name:
            raise BadRewardTerms(f"info[{INFO_KEY!r}] has the term name {name!r}: a '/' would "
                                 f"split it into two levels of its metric's key "
                                 f"({RESULT_KEY}/<agent>/<term>); name it with another "
                                 f"character, e.g. {name.replace('/', '_')!r}.")
        out[name] = float(value)
    return out


_UNOBSERVED = "_rldebug_unobserved_terms"
_SPECIAL = ("__all__", "__common__")


class HeldTerms:
    """One multi-agent env instance's terms reported for agents without an observation at
    that step: ``pending`` since each agent's last observation; ``episode`` since the
    reset, of the agents that had observed by then (RLlib keeps a reward paid before an
    agent's first observation in a cache no return or batch reads: the trace, beside
    RLlib's returns, leaves those out). ``reset``/``step`` wrap the instance's own."""

    def __init__(self, env):
        self.pending: dict[str, dict[str, float]] = {}
        self.episode: dict[str, dict[str, float]] = {}
        # malformed terms, raised to RewardTerms where it takes the agent's terms (the
        # trace skips them, as it skips malformed observed ones)
        self.bad: dict[str, BadRewardTerms] = {}
        self.observed: set[str] = set()  # agents that observed since the reset
        self._reset, self._step = env.reset, env.step

    def reset(self, *args, **kwargs):
        self.pending.clear()
        self.episode.clear()
        self.bad.clear()
        result = self._reset(*args, **kwargs)
        self.observed = {str(agent) for agent in _observations(result)}
        return result

    def step(self, action):
        result = self._step(action)
        if isinstance(result, tuple) and len(result) == 5 and isinstance(result[0], Mapping) \
                and isinstance(result[4], Mapping):
            observations, infos = result[0], result[4]
            for agent, info in infos.items():
                if agent in observations or agent in _SPECIAL:
                    continue
                try:
                    terms = terms_of(info)
                except BadRewardTerms as err:
                    self.bad.setdefault(str(agent), err)
                    continue
                if terms:
                    add_terms(self.pending.setdefault(str(agent), {}), terms)
                    if str(agent) in self.observed:
                        add_terms(self.episode.setdefault(str(agent), {}), terms)
            self.observed.update(str(agent) for agent in observations)
        return result

    def take(self, agent_id) -> dict[str, float]:
        """The terms held for ``agent_id`` since its last observation, now that RLlib adds
        the reward they came with to this step; ``{}`` when none.

        :raises BadRewardTerms: where the env reported malformed terms for it then.
        """
        if str(agent_id) in self.bad:
            raise self.bad.pop(str(agent_id))
        return self.pending.pop(str(agent_id), {})

    def take_all(self) -> dict[str, dict[str, float]]:
        """Per agent, every term still held (at the episode's end: agents done without a
        final observation, whichever chunk they left in)."""
        if self.bad:
            raise self.bad.pop(next(iter(self.bad)))
        taken, self.pending = self.pending, {}
        return taken

    def episode_terms(self) -> dict[str, dict[str, float]]:
        """Per agent, the terms held over the current episode (read at its end)."""
        return {agent: dict(terms) for agent, terms in self.episode.items()}


def _observations(reset_result) -> Mapping:
    """The observation dict of a ``reset()`` result (``{}`` if it is not one)."""
    if isinstance(reset_result, tuple) and reset_result and isinstance(reset_result[0],
                                                                        Mapping):
        return reset_result[0]
    return {}


def watch_unobserved_terms(env) -> None:
    """Hold the terms each multi-agent sub-env of ``env`` (an env RLlib created, vector
    or not) reports for agents that get no observation at that step (once per instance;
    single-agent envs always observe and are left alone)."""
    from rldebug.shapes.env_meta import is_multi_agent_env, sub_envs

    for sub_env in sub_envs(env):
        if is_multi_agent_env(sub_env) and getattr(sub_env, _UNOBSERVED, None) is None:
            held = HeldTerms(sub_env)
            sub_env.reset, sub_env.step = held.reset, held.step
            setattr(sub_env, _UNOBSERVED, held)


def held_terms(env, env_index: int | None) -> HeldTerms | None:
    """What :func:`watch_unobserved_terms` holds for the sub-env ``env_index`` of ``env``
    (the env and index RLlib passes its episode callbacks); None where it watches none."""
    from rldebug.shapes.env_meta import sub_envs

    if env is None:
        return None
    envs = sub_envs(env)
    index = env_index or 0
    return getattr(envs[index], _UNOBSERVED, None) if index < len(envs) else None


def add_terms(total: dict[str, float], terms: Mapping[str, float] | None) -> None:
    """Add one step's terms into a running per-episode sum (in place)."""
    for name, value in (terms or {}).items():
        total[name] = total.get(name, 0.0) + float(value)


def episode_terms(episode, prev_chunks=None,
                  unobserved: Mapping[str, Mapping[str, float]] | None = None,
                  ) -> dict[str, dict[str, float]]:
    """Per agent, each term summed over a finished new-stack episode (all its chunks),
    with ``unobserved`` (:meth:`HeldTerms.episode_terms`) added for the agents the
    episode holds; ``{}`` on the old stack (whose episode keeps only the last info) or
    without terms. Malformed terms are skipped here; :class:`rldebug.callbacks.
    RewardTerms` names them."""
    from rldebug.shapes.episodes import OLD, agent_steps, kind_of

    if kind_of(episode) == OLD:
        return {}
    sums: dict[str, dict[str, float]] = {}
    stepped = agent_steps(episode, prev_chunks)
    for agent_id, steps in stepped.items():
        for info in steps["infos"]:
            try:
                terms = terms_of(info)
            except BadRewardTerms:
                continue
            if terms:
                add_terms(sums.setdefault(agent_id, {}), terms)
    for agent_id, terms in (unobserved or {}).items():
        if agent_id in stepped:  # RLlib drops the reward of an agent that never acted
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


__all__ = [
    "INFO_KEY",
    "RESULT_KEY",
    "BadRewardTerms",
    "HeldTerms",
    "add_terms",
    "episode_terms",
    "held_terms",
    "largest_share",
    "terms_from_result",
    "terms_of",
    "watch_unobserved_terms",
]
