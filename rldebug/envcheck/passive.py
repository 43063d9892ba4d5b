"""The passive env checker: every live ``reset``/``step`` result checked as RLlib runs the env.

In the spirit of gymnasium's ``passive_env_checker``: cheap checks on each result,
the first violation named with the env step and the agent. :class:`PassiveEnvCheck`
is an RLlibCallback; when RLlib creates an env (``on_environment_created``, old
stack ``on_sub_environment_created``) it wraps the ``reset`` and ``step`` of each
sub-env instance, so RLlib, the config and ``config.env`` stay as they are.

- An error (the result does not have the shape RLlib needs: ``reset`` not
  ``(obs, info)``, ``step`` not five values, multi-agent results that are not
  dicts or ``terminateds`` without ``"__all__"``) raises :class:`EnvContractError`
  at that step, instead of a failure deep inside RLlib later. Only what RLlib
  itself rejects is an error: ``truncateds`` without ``"__all__"``, which RLlib
  reads as False, is a warning.
- A warning (an observation outside its space or of another dtype, a
  non-finite reward) is warned once per agent and kind
  (:class:`PassiveEnvCheckWarning`) and recorded in :attr:`PassiveEnvCheck.findings`.
- Observations whose every value, since the env was made, is one number (a zeroed
  buffer, a wrapper that drops the state) are counted as ``observation_constant`` once
  an env has given :data:`~rldebug.shapes.env_problems.CONSTANT_OBSERVATIONS_MINIMUM`
  of them (Box and MultiDiscrete arrays; never again once one value differs).
- Every step with a problem is counted, and each ``sample()`` logs the counts into
  the results (new stack: ``env_runners/rldebug_env_check/<check>/<agent>``,
  :mod:`rldebug.shapes.env_problems`), where the doctor reads them: RLlib's
  ``nanmean`` can leave every other number of a run with NaN rewards finite.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.envcheck.check import EnvCheck, _short, observation_problems, reward_problem
from rldebug.shapes.env_meta import is_multi_agent_env, sub_envs
from rldebug.shapes.env_problems import CONSTANT_OBSERVATIONS, CONSTANT_OBSERVATIONS_MINIMUM
from rldebug.shapes.env_problems import RESULT_KEY as ENV_PROBLEMS_KEY
from rldebug.shapes.episodes import DEFAULT_AGENT_ID

logger = logging.getLogger(__name__)
_SPECIAL = ("__all__", "__common__")


class EnvContractError(ValueError):
    """An env returned something RLlib cannot use; the message names the step and agent."""


class PassiveEnvCheckWarning(UserWarning):
    """An env returned something suspicious (out of its space, non-finite)."""


class _Checked:
    """The checks for one env instance; ``reset``/``step`` wrap the instance's own."""

    def __init__(self, env, owner: PassiveEnvCheck):
        self.env, self.owner = env, owner
        self.name = type(getattr(env, "unwrapped", env)).__name__
        self.multi = is_multi_agent_env(env)
        self.t = 0
        self._spaces: dict = {}
        self._batches: dict = {}  # agent -> observations waiting for their range check
        self._reset, self._step = env.reset, env.step

    # -- the wrapped methods ---------------------------------------------------

    def reset(self, *args, **kwargs):
        self._flush()  # the last episode's queued observations, with their steps
        result = self._reset(*args, **kwargs)
        self.t = 0
        if not (isinstance(result, tuple) and len(result) == 2):
            self._error("reset() must return (obs, info)", f"got {_short(result)}",
                        "Return (obs, info) from reset(seed=None, options=None) (gymnasium API).")
        obs, info = result
        if self.multi:
            self._require_dict("reset() observations", obs)
            self._require_dict("reset() infos", info)
            for agent, agent_obs in obs.items():
                self._observation(agent, agent_obs)
        else:
            self._observation(None, obs)
        return result

    def step(self, action):
        result = self._step(action)
        self.t += 1
        if not (isinstance(result, tuple) and len(result) == 5):
            count = len(result) if isinstance(result, tuple) else type(result).__name__
            self._error("step() must return (obs, reward, terminated, truncated, info)",
                        f"got {count} values" + (" (the old gym API's obs, reward, done, "
                                                 "info)" if count == 4 else ""),
                        "Return terminated and truncated instead of one done flag.")
        obs, reward, terminated, truncated, info = result
        if self.multi:
            for what, value in (("observations", obs), ("rewards", reward),
                                ("terminateds", terminated), ("truncateds", truncated),
                                ("infos", info)):
                self._require_dict(f"step() {what}", value)
            # RLlib 2.60 reads terminateds["__all__"] (a KeyError without it) but
            # truncateds.get("__all__", False) (env/vector/sync_vector_multi_agent_env.py):
            # only the first is a contract; the second is worth a note.
            if "__all__" not in terminated:
                self._error("step() terminateds has no '__all__' key",
                            f"got {_short(terminated)}",
                            "Add terminateds['__all__'] (True when the episode ends for all); "
                            "RLlib reads it at every step.")
            if "__all__" not in truncated:
                self._warn(None, "truncateds_all", "step() truncateds has no '__all__' key",
                           "RLlib reads it as False (truncateds.get('__all__', False)), so "
                           "the episode never ends by truncation; add truncateds['__all__'] "
                           "if it has a time limit.", {"truncateds": _short(truncated)})
            for agent, agent_obs in obs.items():
                self._observation(agent, agent_obs)
            for agent, agent_reward in reward.items():
                self._reward(agent, agent_reward)
        else:
            self._observation(None, obs)
            self._reward(None, reward)
            if not isinstance(info, dict):
                self._error("step() info must be a dict", f"got {_short(info)}",
                            "Return a dict (possibly empty) as the fifth value.")
        return result

    # -- the checks --------------------------------------------------------------

    def _space(self, agent):
        if agent not in self._spaces:
            if not self.multi:
                self._spaces[agent] = self.env.observation_space
            else:
                try:
                    self._spaces[agent] = self.env.unwrapped.get_observation_space(agent)
                except Exception:  # noqa: BLE001 - an agent the env declares no space for
                    self._spaces[agent] = None
        return self._spaces[agent]

    def _observation(self, agent, obs) -> None:
        """Queue ``obs`` for a batched range check; check anything unusual at once."""
        if agent in _SPECIAL:
            return
        batch = self._batches.get(agent)
        if batch is None:
            batch = self._batches[agent] = _ObsBatch(self._space(agent))
        if not batch.add(obs, self.t):
            batch.note_unqueued(obs)  # e.g. np.zeros(n), float64 where the Box is float32
            self._check_one(agent, obs, self.t)
        elif batch.full:
            self._flush(agent)

    def _flush(self, agent=None) -> None:
        """Range-check the queued observations (of one agent, or all) in one numpy pass."""
        for key in ([agent] if agent is not None else list(self._batches)):
            batch = self._batches[key]
            bad = batch.first_outside()
            if bad is not None:
                self._check_one(key, *bad)

    def count_constant(self) -> None:
        """Count the observations not counted yet of each agent whose every observation
        value so far was one number, once there are enough of them."""
        for agent, batch in self._batches.items():
            if batch.one_value is not None and batch.seen >= CONSTANT_OBSERVATIONS_MINIMUM:
                self.owner.count(CONSTANT_OBSERVATIONS, agent, batch.seen - batch.counted)
                batch.counted = batch.seen

    def _check_one(self, agent, obs, t, count: int = 1) -> None:
        space = self._space(agent)
        if space is None or space.contains(obs):
            return
        check, what, fix = observation_problems(space, obs)[0]
        self._warn(agent, check, what, fix,
                   {"obs": _short(obs), "dtype": str(getattr(obs, "dtype", type(obs).__name__))},
                   t, count)

    def _reward(self, agent, reward) -> None:
        problem = reward_problem(reward)
        if problem is None:
            return
        kind, what, fix = problem
        if kind == "not_a_number":  # RLlib fails on it: stop here, at the step
            self._error(what + self._who(agent), "", fix)
        else:  # training goes on (the doctor names what a NaN return does to it)
            self._warn(agent, "finite_rewards", what, fix, {"reward": float(reward)})

    def _require_dict(self, what: str, value) -> None:
        if not isinstance(value, dict):
            self._error(f"{what} must be a dict keyed by agent id (MultiAgentEnv)",
                        f"got {_short(value)}", "Return one entry per agent id.")

    # -- reporting -------------------------------------------------------------------

    def _who(self, agent) -> str:
        return "" if agent is None else f" for agent {agent!r}"

    def _error(self, what: str, got: str, fix: str) -> None:
        got = f"; {got}" if got else ""
        raise EnvContractError(
            f"{self.name}: {what}{got} (env step {self.t} of the episode). {fix}")

    def _warn(self, agent, check: str, what: str, fix: str, evidence: dict,
              t: int | None = None, count: int = 1) -> None:
        self.owner.count(check, agent, count)
        key = (self.name, agent, check)
        if key in self.owner._warned:
            return
        self.owner._warned.add(key)
        t = self.t if t is None else t
        message = f"{self.name}: {what}{self._who(agent)} at env step {t} of the episode."
        self.owner.findings.append(EnvCheck(check, "warning", message, fix, {
            "env_step": t, "agent": None if agent is None else str(agent), **evidence}))
        warnings.warn(f"{message} {fix}", PassiveEnvCheckWarning, stacklevel=4)
        logger.warning("%s %s", message, fix)


class _ObsBatch:
    """Observations of one agent waiting for a range check in one numpy pass.

    Box and MultiDiscrete arrays of the right shape and dtype (compared as
    attributes, no numpy call) are queued; anything else is refused and checked
    at once with ``space.contains``. A check per step costs more than many envs'
    own ``step``; in batches of 64 it costs a fraction of a microsecond per step.
    """

    SIZE = 64

    def __init__(self, space):
        import gymnasium as gym

        self.obs: list = []
        self.steps: list[int] = []
        self.shape = self.dtype = self.low = self.high = None
        # every value of every observation checked so far, while they are one number
        # (None once two differ, for good), how many were checked, and how many counted
        self.one_value: float | None = None
        self.seen = self.counted = 0
        self._varied = False
        if isinstance(space, gym.spaces.Box):
            self.shape, self.dtype, self.low, self.high = (space.shape, space.dtype, space.low,
                                                           space.high)
            self.inclusive_high = True
        elif isinstance(space, gym.spaces.MultiDiscrete):
            self.shape, self.dtype = space.shape, space.dtype
            self.low, self.high = space.start, space.start + space.nvec
            self.inclusive_high = False

    @property
    def full(self) -> bool:
        return len(self.obs) >= self.SIZE

    def add(self, obs, t: int) -> bool:
        if (self.shape is None or type(obs) is not np.ndarray or obs.shape != self.shape
                or obs.dtype != self.dtype):
            return False
        self.obs.append(obs)
        self.steps.append(t)
        return True

    def first_outside(self) -> tuple | None:
        """(obs, step, how many) of the first queued observation outside the range and
        the number outside, then empty."""
        if not self.obs:
            return None
        stacked = np.stack(self.obs)
        self._note_values(stacked)
        above = stacked > self.high if self.inclusive_high else stacked >= self.high
        outside = (stacked < self.low) | above
        if stacked.dtype.kind == "f":
            outside |= np.isnan(stacked)
        rows = np.flatnonzero(outside.reshape(len(self.obs), -1).any(axis=1))
        first = (self.obs[rows[0]], self.steps[rows[0]], len(rows)) if len(rows) else None
        self.obs, self.steps = [], []
        return first

    def note_unqueued(self, obs) -> None:
        """Note the values of an array of the space's shape the range check did not
        queue (another dtype), while the values seen are one number."""
        if not self._varied and self.shape is not None and type(obs) is np.ndarray and \
                obs.shape == self.shape:
            self._note_values(obs[None])

    def _note_values(self, stacked: np.ndarray) -> None:
        self.seen += len(stacked)
        if self._varied or stacked.size == 0:
            return
        low, high = stacked.min(), stacked.max()
        if low != high or (self.one_value is not None and low != self.one_value):
            self._varied, self.one_value = True, None
        else:
            self.one_value = low.item()


class PassiveEnvCheck(RLlibCallback):
    """Check every ``reset``/``step`` result of the envs RLlib creates (see the module doc).

    ``findings`` holds the warnings of this process's envs, as :class:`EnvCheck` records.
    """

    def __init__(self):
        super().__init__()
        self.findings: list[EnvCheck] = []
        self._warned: set = set()
        self._watched: list[_Checked] = []
        # (check, agent) -> steps with that problem since the last sample() ended
        self._counts: Counter = Counter()

    def count(self, check: str, agent, steps: int = 1) -> None:
        """Count ``steps`` env steps that failed ``check`` (every one, not only the first,
        which is the one warned about)."""
        self._counts[(check, DEFAULT_AGENT_ID if agent is None else str(agent))] += steps

    def on_environment_created(self, *, env, **kwargs) -> None:
        for sub_env in sub_envs(env):
            self.watch(sub_env)

    def on_sub_environment_created(self, *, sub_environment, **kwargs) -> None:
        self.watch(sub_environment)

    def on_sample_end(self, *, metrics_logger=None, **kwargs) -> None:
        for checked in self._watched:
            checked._flush()  # what is still queued from the unfinished episodes
            checked.count_constant()
        if metrics_logger is None:  # the old stack: the warnings and findings remain
            return
        # into the results, where the doctor reads them (rldebug.shapes.env_problems)
        for (check, agent), steps in self._counts.items():
            metrics_logger.log_value((ENV_PROBLEMS_KEY, check, agent), steps, reduce="sum")
        self._counts.clear()

    def watch(self, env) -> None:
        """Wrap ``env.reset`` and ``env.step`` of this instance (once)."""
        if getattr(env, "_rldebug_checked", False):
            return
        checked = _Checked(env, self)
        self._watched.append(checked)
        env.reset, env.step = checked.reset, checked.step
        env._rldebug_checked = True


__all__ = ["EnvContractError", "PassiveEnvCheck", "PassiveEnvCheckWarning"]
