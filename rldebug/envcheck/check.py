"""``check_env``: RLlib's own environment check plus the traps it lets through.

Checks, each reported as an :class:`EnvCheck` (``passed``, ``failed``,
``warning`` or ``skipped``):

- ``gymnasium_api`` — ``reset`` returns ``(obs, info)`` and ``step`` five values (reported
  only when an env follows the old gym API; then the checks below are skipped).
- ``rllib`` — RLlib's ``check_multiagent_environments`` for a ``MultiAgentEnv``
  (RLlib 2.60 has no single-agent checker; gymnasium's ``check_env`` runs then).
- ``agent_spaces`` — the env declares its spaces (RLlib builds its modules from them;
  without them the checks that need them are skipped); a multi-agent env per agent (``observation_spaces``
  and ``action_spaces``, a ``Dict`` keyed by agent, or neither with its own
  ``get_observation_space``), which RLlib 2.60's new stack reads; one shared ``Box``
  fails building the EnvRunner.
- ``discrete_start`` — no ``Discrete(n, start=s)`` part with ``s != 0``: RLlib sends the
  index 0..n-1 as the action, and its ``FlattenObservations`` one-hots from 0.
- ``observation_in_space`` — every observation of random rollouts is inside its space.
- ``observation_dtype`` — observation dtypes equal their space's dtype.
- ``agent_ids`` — obs/rewards/terminateds/truncateds/infos name only known agents,
  terminateds and truncateds name the same agents, rewards go to observed agents, and
  an agent that is done gets nothing more in its episode.
- ``all_key`` — ``terminateds`` and ``truncateds`` carry ``"__all__"`` (multi-agent).
- ``done_flags`` — every ``terminated``/``truncated`` is a bool (``bool`` or ``numpy.bool_``).
- ``finite_rewards`` — rewards are finite numbers (a string is not, even "1.0").
- ``time_limit_terminated`` (a warning) — every episode of two random rollouts ended
  ``terminated`` at one and the same step, never ``truncated``, and nothing in the
  observation tells the step: a time limit reported as ``terminated`` (gym's old ``done``),
  which RLlib's GAE and n-step targets read as a state worth nothing after it.
- ``seed_determinism`` — the same seed and actions give the same rollout.
- ``default_encoder`` — on the new API stack, RLlib's default model only encodes
  1-D (MLP) and 3-D (CNN) Box observations; anything else fails at build time
  with "No default encoder config" unless ``FlattenObservations`` is added.

The report is returned, not raised (``raise_on_error=True`` raises
:class:`EnvCheckError` listing the failures): a warning should not stop a script.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import numbers
import re
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rldebug.shapes.env_meta import make_env
from rldebug.usage import UsageError, UsageTypeError, check_seed

SPACE_CHECKS = ("agent_spaces", "discrete_start")  # what the declared spaces decide
ROLLOUT_CHECKS = ("observation_in_space", "observation_dtype", "agent_ids", "all_key",
                  "done_flags", "finite_rewards", "time_limit_terminated", "seed_determinism",
                  "default_encoder")
CHECKS = ("rllib", *SPACE_CHECKS, *ROLLOUT_CHECKS)
STATUSES = ("passed", "failed", "warning", "skipped")
_SPECIAL_KEYS = frozenset({"__all__", "__common__"})
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class EnvCheckError(UsageError):
    """Raised by ``check_env(..., raise_on_error=True)`` when a check failed."""


@dataclass
class EnvCheck:
    """The outcome of one check.

    :param name: one of :data:`CHECKS`.
    :param status: ``passed``, ``failed`` (wrong), ``warning`` (suspicious) or ``skipped``.
    :param message: what was found, with the offending value.
    :param fix: how to fix it (empty when passed).
    :param evidence: the values behind it (step, agent, the offending value...).

    ``severity`` speaks the doctor's vocabulary: a failed check is an ``error``,
    a warning a ``warning``, anything else ``info``.
    """

    name: str
    status: str
    message: str
    fix: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return {"failed": "error", "warning": "warning"}.get(self.status, "info")


@dataclass
class EnvCheckReport:
    """All checks of one environment."""

    env: str
    multi_agent: bool
    checks: list[EnvCheck] = field(default_factory=list)
    #: episodes the random rollout ended (None: no rollout ran to its end)
    episodes_ended: int | None = None
    #: the env steps of each episode the random rollout ended, in order
    episode_lengths: list[int] = field(default_factory=list)
    #: each ended episode's rewards per agent, in the order the env paid them (a reward
    #: that is not a finite number is left out)
    episode_rewards: list[dict[Any, list[float]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[EnvCheck]:
        return [c for c in self.checks if c.status == "failed"]

    @property
    def warnings(self) -> list[EnvCheck]:
        return [c for c in self.checks if c.status == "warning"]

    def __getitem__(self, name: str) -> EnvCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"No check named {name!r}; checks are {[c.name for c in self.checks]}.")

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "multi_agent": self.multi_agent, "ok": self.ok,
                "checks": [asdict(c) for c in self.checks]}

    def __str__(self) -> str:
        lines = [f"check_env({self.env}): {'OK' if self.ok else 'FAILED'}"]
        for c in self.checks:
            lines.append(f"  [{c.status}] {c.name}: {c.message}")
            if c.fix and c.status in ("failed", "warning"):
                lines.append(f"      fix: {c.fix}")
        return "\n".join(lines)


# -- building the env ---------------------------------------------------------------


def _make_env(env_or_class: Any, env_config: dict | None):
    return make_env(env_or_class, env_config, caller="check_env")


_OLD_API_FIX = ("Return (obs, info) from reset(seed=None, options=None) and (obs, reward, "
                "terminated, truncated, info) from step(); see gymnasium's migration guide "
                "(`done` becomes terminated or truncated).")


class OldGymAPIError(UsageTypeError):
    """The env's reset/step results are not gymnasium's (obs-only reset, 4-tuple step)."""

    def __init__(self, message: str, fix: str = _OLD_API_FIX):
        super().__init__(message)
        self.fix = fix


def _gymnasium_reset(result, env) -> tuple:
    if isinstance(result, tuple) and len(result) == 2 and not isinstance(result[1], dict):
        raise OldGymAPIError(
            f"{type(env).__name__}.reset() returned (obs, {_short(result[1])}): the info "
            "must be a dict (RLlib reads it as one).",
            fix="Return (obs, {}) when there is no info to give.")
    if not (isinstance(result, tuple) and len(result) == 2):
        raise OldGymAPIError(
            f"{type(env).__name__}.reset() returned {_short(result)}, not (obs, info): "
            "this is the old gym API.")
    return result


def _gymnasium_step(result, env) -> tuple:
    if isinstance(result, tuple) and len(result) == 4:
        raise OldGymAPIError(
            f"{type(env).__name__}.step() returned 4 values (obs, reward, done, info): this is "
            "the old gym API; RLlib 2.60 expects 5 (obs, reward, terminated, truncated, info).")
    if not (isinstance(result, tuple) and len(result) == 5):
        raise OldGymAPIError(
            f"{type(env).__name__}.step() returned {_short(result)}, not the 5-tuple (obs, "
            "reward, terminated, truncated, info).")
    return result


class _AsMultiAgent:
    """Steps any env with per-agent dicts; a single-agent env becomes agent ``"agent0"``."""

    def __init__(self, env):
        from ray.rllib.env.multi_agent_env import MultiAgentEnv

        self.env = env
        self.multi_agent = isinstance(env, MultiAgentEnv)

    @property
    def possible_agents(self) -> list | None:
        if not self.multi_agent:
            return ["agent0"]
        agents = getattr(self.env, "possible_agents", None)
        return list(agents) if agents else None

    def observation_space(self, agent):
        if not self.multi_agent:
            return self.env.observation_space
        spaces = getattr(self.env, "observation_spaces", None)
        if isinstance(spaces, dict) and agent in spaces:
            return spaces[agent]
        return self.env.get_observation_space(agent)

    def action_space(self, agent):
        if not self.multi_agent:
            return self.env.action_space
        spaces = getattr(self.env, "action_spaces", None)
        if isinstance(spaces, dict) and agent in spaces:
            return spaces[agent]
        return self.env.get_action_space(agent)

    def reset(self, seed):
        obs, infos = _gymnasium_reset(self.env.reset(seed=seed), self.env)
        return (obs, infos) if self.multi_agent else ({"agent0": obs}, {"agent0": infos})

    def step(self, actions):
        if self.multi_agent:
            return _gymnasium_step(self.env.step(actions), self.env)
        obs, reward, terminated, truncated, info = _gymnasium_step(
            self.env.step(actions["agent0"]), self.env)
        return ({"agent0": obs}, {"agent0": reward},
                {"agent0": terminated, "__all__": terminated},
                {"agent0": truncated, "__all__": truncated}, {"agent0": info})


# -- rollouts -------------------------------------------------------------------------


@dataclass
class _Step:
    obs: dict
    rewards: dict
    terminateds: dict
    truncateds: dict
    infos: dict


def _recorded(obs, rewards, terminateds, truncateds, infos) -> _Step:
    """A step as the env returned it then: an env may return one numpy buffer it fills
    anew each step, which RLlib copies (so may we)."""
    with contextlib.suppress(Exception):  # one deepcopy cannot take is kept as it is
        obs = copy.deepcopy(obs)
    return _Step(obs, rewards, terminateds, truncateds, infos)


def _finished_agents(terminateds: dict, truncateds: dict) -> set:
    """The agents a step terminated or truncated (not ``"__all__"``)."""
    return {agent for flags in (terminateds, truncateds) for agent, flag in flags.items()
            if flag and agent not in _SPECIAL_KEYS}


def _episode_done(terminateds: dict, truncateds: dict) -> bool:
    """As RLlib 2.60's vector env ends an episode (``terminateds["__all__"] or
    truncateds.get("__all__", False)``); where terminateds lacks ``'__all__'`` (RLlib
    raises ``KeyError``: ``all_key`` fails it), when every agent named is done, so the
    rollout resets as the env meant rather than step an ended episode."""
    flagged = bool(terminateds.get("__all__")) or bool(truncateds.get("__all__"))
    if "__all__" in terminateds:
        return flagged
    agents = {a for flags in (terminateds, truncateds) for a in flags} - _SPECIAL_KEYS
    return flagged or (bool(agents) and all(terminateds.get(a) or truncateds.get(a)
                                            for a in agents))


class _RolloutStopped(Exception):
    """A rollout could not go on, and the check that says why: ``(check, message, fix)``
    (an env's reset() or step() raised; an agent appeared that the env declares no spaces
    for)."""

    def __init__(self, check: str, message: str, fix: str, evidence: dict | None = None):
        super().__init__(message)
        self.check, self.message, self.fix = check, message, fix
        self.evidence = evidence or {}


def _reset(env: _AsMultiAgent, seed: int) -> tuple:
    try:
        return env.reset(seed)
    except OldGymAPIError:
        raise
    except Exception as err:
        raise _RolloutStopped(ROLLOUT_CHECKS[0], f"A random rollout: reset(seed={seed}) raised "
                              f"{type(err).__name__}: {err}",
                              "Fix the exception in reset() first.") from err


def _step_raised(error: BaseException, step: int, action: dict,
                 spaces: dict) -> _RolloutStopped:
    """The env's step() raised at env step ``step``, given ``action`` (drawn from
    ``spaces``)."""
    actions = ", ".join(f"{agent}: {np.asarray(value).tolist()!r} from {spaces[agent]}"
                        for agent, value in action.items())
    return _RolloutStopped(
        ROLLOUT_CHECKS[0], f"A random rollout: step() raised {type(error).__name__}: {error} "
        f"at env step {step}, given the action(s) {actions}.",
        "The actions are sampled from the env's action_space, as RLlib samples them while "
        "exploring: if step() refuses one of them, the space declares more than the env "
        "takes (narrow it), else fix step().")


def _declared_action_space(env: _AsMultiAgent, agent: Any, t: int) -> Any:
    """The action space of ``agent``, first seen in the observations at rollout step
    ``t``; an agent the env declares none for stops the rollout (RLlib builds its
    connectors from the declared spaces: ``KeyError`` the first time that agent acts)."""
    try:
        return env.action_space(agent)
    except Exception as err:  # the env's own lookup said it
        raise _RolloutStopped(
            "agent_ids",
            f"Agent {agent!r} got an observation at rollout step {t}, but the env declares "
            f"no spaces for it (possible_agents is {env.possible_agents}; its action space "
            f"raised {type(err).__name__}: {err}): RLlib 2.60 builds its connectors from "
            f"the declared spaces and raises KeyError: {agent!r} the first time that agent "
            "acts (in NormalizeAndClipActions).",
            "Declare every agent that can ever appear in __init__: in self.possible_agents, "
            "self.observation_spaces and self.action_spaces (one that joins later stays out "
            "of self.agents and of the observations until it joins).",
            {"undeclared_agent": str(agent), "step": t}) from err


def _rollout(env: _AsMultiAgent, seed: int, steps: int,
             actions: list[dict] | None = None, expected: list[_Step] | None = None,
             ) -> tuple[list[_Step], list[dict], list[int]]:
    """Random (or replayed) rollout; returns the steps, the actions, and reset positions.

    A replay with ``expected`` steps stops at the first step that differs from it:
    the recorded actions no longer fit a diverged episode (other agents to act).
    """
    spaces = {}
    taken: list[dict] = []
    record: list[_Step] = []
    resets = [0]
    obs, infos = _reset(env, seed)
    record.append(_recorded(obs, {}, {}, {}, infos))
    episode = 0
    done: set = set()  # agents done in this episode: RLlib sends them no more actions
    for t in range(steps):
        if expected is not None and not _same_step(record[-1], expected[len(record) - 1]):
            break
        if actions is not None:
            if t >= len(actions):
                break
            action = actions[t]
        else:
            action = {}
            for agent in (a for a in obs if a not in done):
                if agent not in spaces:
                    spaces[agent] = _declared_action_space(env, agent, len(record) - 1)
                    spaces[agent].seed(seed + len(spaces))
                action[agent] = spaces[agent].sample()
        taken.append(action)
        try:
            obs, rewards, terminateds, truncateds, infos = env.step(action)
        except OldGymAPIError:
            raise
        except Exception as err:
            raise _step_raised(err, len(taken), action, {
                agent: env.action_space(agent) for agent in action}) from err
        record.append(_recorded(obs, rewards, terminateds, truncateds, infos))
        done |= _finished_agents(terminateds, truncateds)
        if _episode_done(terminateds, truncateds):
            episode += 1
            done = set()
            obs, infos = _reset(env, seed + episode)
            resets.append(len(record))
            record.append(_recorded(obs, {}, {}, {}, infos))
    return record, taken, resets


# -- the checks -----------------------------------------------------------------------


# gymnasium's check_env fails these where RLlib samples and trains the env (its second
# seeded step compared with NaN != NaN, or `trunc is False` on an np.bool_)
_GYMNASIUMS_STRICTER = ("Deterministic step", "truncates after 1 step")
# gymnasium's warnings about a Box's infinite bounds: RLlib's encoders do not scale by them
_INFINITE_BOUNDS = ("value is infinity", "value is -infinity")


def _check_rllib(env) -> EnvCheck:
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if isinstance(env, MultiAgentEnv):
                from ray.rllib.utils.pre_checks.env import check_multiagent_environments

                check_multiagent_environments(env)
                name = "RLlib's check_multiagent_environments"
            else:
                from gymnasium.utils.env_checker import check_env as gym_check_env

                gym_check_env(env.unwrapped, skip_render_check=True)
                name = "gymnasium's check_env (RLlib 2.60 has no single-agent checker)"
        except Exception as err:  # noqa: BLE001 - the checker's message is the finding
            if "super().reset(seed=seed)" in str(err):
                # gymnasium's convention; RLlib trains such an env
                return EnvCheck(
                    "rllib", "warning",
                    f"gymnasium's check_env: {type(err).__name__}: {err} RLlib trains such an "
                    "env, but its episodes' seeds do not reach the env's random numbers.",
                    "Call super().reset(seed=seed) first in reset(): it seeds "
                    "self.np_random, so a seeded reset (RLlib seeds them with "
                    "config.debugging(seed=...)) repeats the episode.")
            if any(text in str(err) for text in _GYMNASIUMS_STRICTER) and \
                    not isinstance(env, MultiAgentEnv):
                # its determinism test compares NaN with NaN (never equal) and the
                # truncation flag with `is False` (an np.bool_ fails it); RLlib samples and
                # trains such envs, and the rollout checks below judge the same things
                return EnvCheck(
                    "rllib", "warning",
                    f"gymnasium's check_env stopped at: {type(err).__name__}: {err}. Its "
                    "test of a second seeded step is stricter than RLlib (a NaN reward never "
                    "equals itself there, and a numpy bool flag fails its `is False`): "
                    "seed_determinism, done_flags and finite_rewards below say whether the "
                    "env really differs or breaks.",
                    "Read seed_determinism, done_flags and finite_rewards below.")
            if "not within the observation space" in str(err) and \
                    not isinstance(env, MultiAgentEnv):
                # gymnasium's Box.contains refuses a dtype that does not cast safely
                # (float64 into float32) even when the values fit; RLlib's vector env
                # stores them in the space's dtype and trains (observation_dtype fails
                # the casts it refuses: a float into an integer space)
                return EnvCheck(
                    "rllib", "warning",
                    f"gymnasium's check_env stopped at: {type(err).__name__}: {err} "
                    "observation_in_space and observation_dtype below say why: a shape, "
                    "keys or values outside the space, or a dtype that does not cast safely "
                    "to the space's, which gymnasium refuses (RLlib casts float64 into a "
                    "float32 space and trains; it refuses a float into an integer space).",
                    "Read observation_in_space and observation_dtype below.")
            return EnvCheck("rllib", "failed", f"{type(err).__name__}: {err}",
                            ("RLlib's new-stack MultiAgentEnvRunner (training and evaluation) "
                             "runs this check on every env it builds, unless "
                             "config.environment(disable_env_checking=True), so training "
                             "stops there too (the old stack's RolloutWorker does not check): "
                             "change what the message names."
                             if isinstance(env, MultiAgentEnv) else
                             "gymnasium's checker names the method and what it expected; "
                             "the checks below say which of it breaks RLlib's sampling."))
    messages = sorted({_ANSI.sub("", str(w.message)) for w in caught
                       if not issubclass(w.category, DeprecationWarning)
                       and not any(text in str(w.message) for text in _INFINITE_BOUNDS)})
    if messages:
        return EnvCheck("rllib", "warning", f"{name} passed with warnings: " + " | ".join(messages),
                        "Read each warning; most name the method and the expected value.")
    return EnvCheck("rllib", "passed", f"{name} passed.")


def _check_agent_spaces(env) -> EnvCheck:
    from rldebug.shapes.env_meta import (
        is_multi_agent_env,
        shared_space_attributes,
        shared_space_text,
        unwrapped_env,
    )

    if not is_multi_agent_env(unwrapped_env(env)):
        return EnvCheck("agent_spaces", "skipped", "Single-agent env: one space each.")
    shared = shared_space_attributes(env)
    if not shared:
        return EnvCheck("agent_spaces", "passed",
                        "Spaces are declared per agent, as RLlib 2.60's new stack reads them.")
    return EnvCheck("agent_spaces", "failed", *shared_space_text(env, shared),
                    {"attributes": [name for name, _ in shared]})


def _undeclared_space(env: _AsMultiAgent) -> str:
    """What is wrong with a space the env should declare ("" when every known agent's
    spaces are gymnasium Spaces): a new env's author may not have set them yet."""
    import gymnasium as gym

    for agent in env.possible_agents or []:
        who = "" if not env.multi_agent else f" of {agent!r}"
        for role in ("observation", "action"):
            try:
                space = getattr(env, f"{role}_space")(agent)
            except Exception as err:  # noqa: BLE001 - the missing space is the finding
                return f"reading its {role} space{who} raised {type(err).__name__}: {err}"
            if not isinstance(space, gym.spaces.Space):
                return f"its {role} space{who} is {_short(space)}, not a gymnasium Space"
    return ""


def _check_discrete_start(env: _AsMultiAgent) -> EnvCheck:
    from rldebug.shapes.spaces import from_zero_text, offset_discrete_parts, start_text

    for agent in env.possible_agents or []:
        for role, space in (("action", env.action_space(agent)),
                            ("observation", env.observation_space(agent))):
            for where, part in offset_discrete_parts(space):
                who = "" if not env.multi_agent else f" of {agent!r}"
                what = ("RLlib 2.60 sends the index 0..n-1 as the action, not the action "
                        f"itself: the env gets 0 where it means {start_text(part)} (the "
                        "space's first action), and so on"
                        if role == "action" else
                        "RLlib 2.60's FlattenObservations one-hots it as if it started at 0 "
                        "and fails an assertion on its largest value")
                return EnvCheck(
                    "discrete_start", "warning",
                    f"The {role} space{who}{where} is {part}: {what}.",
                    f"Declare it from 0 ({from_zero_text(part)}) and add the offset inside "
                    f"the env (or a gymnasium {role.capitalize()}Wrapper).",
                    {"agent": str(agent), "role": role, "space": str(part)})
    return EnvCheck("discrete_start", "passed", "Every Discrete space starts at 0.")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def observation_problems(space: Any, obs: Any) -> list[tuple[str, str, str]]:
    """``(check, what, fix)`` for each way ``obs`` breaks ``space``: its dtype, then its
    range or shape. The one wording of both checkers (:func:`check_env` and the passive
    checker, :mod:`rldebug.envcheck.passive`); each adds where it saw the observation."""
    problems = []
    dtype, actual = getattr(space, "dtype", None), getattr(obs, "dtype", None)
    if isinstance(obs, np.ndarray) and dtype is not None and actual != dtype:
        problems.append(("observation_dtype",
                         f"observation of dtype {actual}, the space says {dtype}",
                         (f"Return np.asarray(obs, dtype=np.{dtype}) or declare the space "
                          f"with dtype=np.{actual}.")))
    in_space = space.contains(obs)
    if not in_space and problems:  # the dtype is said above: is its value inside too?
        try:
            in_space = space.contains(np.asarray(obs).astype(dtype))
        except (TypeError, ValueError):
            pass
    if not in_space:
        import gymnasium as gym

        why, shape = "", box_shape_mismatch(space, obs)
        if shape:
            why = f" (its shape is {shape[0]}, the space's {shape[1]})"
        elif isinstance(space, gym.spaces.Dict) and isinstance(obs, dict) and \
                set(obs) != set(space.spaces):
            why = (f" (its keys are {sorted(map(str, obs))}, the space's "
                   f"{sorted(map(str, space.spaces))})")
        problems.append(("observation_in_space",
                         f"observation {_short(obs)} is outside {space}{why}",
                         ("Clip or fix the observation in reset()/step(), or widen the space "
                          "(bounds, shape, dtype) to what the env really returns.")))
    return problems


def box_shape_mismatch(space: Any, obs: Any) -> tuple[tuple, tuple] | None:
    """``(the observation's shape, the Box's)`` where ``obs`` has another shape than the
    Box ``space`` declares (RLlib's vector env refuses it); None otherwise."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Box) and np.shape(obs) != space.shape:
        return np.shape(obs), space.shape
    return None


def reward_problem(reward: Any) -> tuple[str, str, str] | None:
    """``(kind, what, fix)`` when ``reward`` is not a finite number (kind
    ``"not_a_number"`` or ``"non_finite"``), else None; shared by both checkers."""
    # bools too (np.bool_ included): RLlib adds them to a return as 0 and 1
    is_number = isinstance(reward, (numbers.Real, np.bool_))
    if isinstance(reward, np.ndarray) and reward.ndim > 0:
        return ("not_a_number",
                f"reward {_short(reward)} is a numpy array of shape {reward.shape}, not a number",
                ("Return a scalar, e.g. float(reward[0]) or reward.item(): RLlib refuses an "
                 "array reward (\"setting an array element with a sequence\", or \"must "
                 "return rewards that are integer or float\" for a MultiAgentEnv)."))
    if not (is_number or (isinstance(reward, np.ndarray) and reward.dtype.kind in "biuf")):
        return ("not_a_number", f"reward {_short(reward)} is not a number",
                ("Return a float reward (per agent in a dict for a MultiAgentEnv); RLlib "
                 "cannot add anything else to a return."))
    value = float(reward)
    if not math.isfinite(value):
        return ("non_finite", f"reward {value} is not finite",
                ("Find where the env computes it (a division by zero, log(0), an overflow); "
                 "a NaN reward turns every loss NaN."))
    return None


def _check_obs(env: _AsMultiAgent, record: list[_Step]) -> tuple[EnvCheck, EnvCheck]:
    found = {"observation_in_space": None, "observation_dtype": None}
    shapes = {}  # a Box observation of another shape than its space's (RLlib refuses it)
    refused = False  # a dtype cast RLlib's single-agent vector env refuses was seen
    for t, step in enumerate(record):
        for agent, obs in step.obs.items():
            space = env.observation_space(agent)
            refuses = not refused and not env.multi_agent and _refused_cast(space, obs)
            for check, what, fix in observation_problems(space, obs):
                if check == "observation_dtype" and refuses:  # said over a cast taken
                    what += (": RLlib's vector env stores observations in the space's dtype "
                             "and refuses this one when the env first returns it "
                             f"(\"TypeError: Cannot cast array data from dtype('{obs.dtype}') "
                             f"to dtype('{space.dtype}') according to the rule 'same_kind'\")")
                    found[check], refused = None, True
                if found[check] is None:
                    found[check] = (f"{_at_step(env, agent, t)}: {what}.", fix)
            shape = None if shapes else box_shape_mismatch(space, obs)
            if shape:
                shapes = {"observation_shape": list(shape[0]), "space_shape": list(shape[1]),
                          "agent": str(agent)}
    count = sum(len(s.obs) for s in record)
    in_space = found["observation_in_space"]
    dtype = found["observation_dtype"]
    return (EnvCheck("observation_in_space", "failed", *in_space, shapes) if in_space else
            EnvCheck("observation_in_space", "passed",
                     f"All {count} observations are in their spaces."),
            EnvCheck("observation_dtype", "failed" if refused else "warning", *dtype) if dtype
            else EnvCheck("observation_dtype", "passed", "Observation dtypes match their spaces."))


def _at_step(env: _AsMultiAgent, agent: Any, t: int) -> str:
    """Where a rollout saw something: ``'agent_1' at rollout step 3``; a single-agent env's
    one agent unnamed."""
    return f"{agent!r} at rollout step {t}" if env.multi_agent else f"At rollout step {t}"


def _refused_cast(space: Any, obs: Any) -> bool:
    """RLlib 2.60's single-agent vector env stores each observation in an array of the
    space's dtype (gymnasium's ``concatenate``: ``np.stack(..., out=...)``), which takes
    only casts of one kind (float64 into float32, int64 into float32), and raises on the
    rest (a float into an integer space); a multi-agent runner keeps the env's own."""
    dtype, actual = getattr(space, "dtype", None), getattr(obs, "dtype", None)
    return isinstance(obs, np.ndarray) and dtype is not None and actual != dtype and \
        not np.can_cast(actual, dtype, casting="same_kind")


def _check_agent_ids(env: _AsMultiAgent, record: list[_Step], resets: list[int],
                     actions: list[dict]) -> EnvCheck:
    known = env.possible_agents
    reset_at = set(resets)
    observed: set = set()
    done: dict = {}  # agent -> the step it terminated or was truncated at
    taken = iter(actions)  # the actions that each step after a reset answers
    for t, step in enumerate(record):
        acted = {} if t in reset_at else next(taken, {})
        if t in reset_at:
            observed, done = set(), {}
        parts = {"obs": step.obs, "rewards": step.rewards, "terminateds": step.terminateds,
                 "truncateds": step.truncateds, "infos": step.infos}
        for part, values in parts.items():
            ids = set(values) - _SPECIAL_KEYS
            if known is not None and not ids <= set(known):
                return EnvCheck("agent_ids", "failed",
                                f"At rollout step {t}, {part} names unknown agent(s) "
                                f"{sorted(ids - set(known), key=str)}; possible_agents is "
                                f"{known}.",
                                "Use the same agent ids everywhere and list them all in "
                                "self.possible_agents.")
        if t not in reset_at:
            done_ids = set(step.terminateds) - _SPECIAL_KEYS
            trunc_ids = set(step.truncateds) - _SPECIAL_KEYS
            # a dict with '__all__' alone is RLlib's shorthand (its missing agents count
            # as False): only two dicts that both name agents must name the same
            if done_ids and trunc_ids and done_ids != trunc_ids:
                return EnvCheck("agent_ids", "failed",
                                f"At rollout step {t}, terminateds names {sorted(done_ids)} "
                                f"but truncateds names {sorted(trunc_ids)}.",
                                "Return both dicts with the same agent keys (plus '__all__').")
            for part, values in (("an observation", step.obs), ("a reward", step.rewards),
                                 ("an info", step.infos)):
                again = sorted((a for a in values if a in done), key=str)
                if again:
                    return EnvCheck(
                        "agent_ids", "failed",
                        f"At rollout step {t}, agent {again[0]!r} got {part} although it "
                        f"was done at step {done[again[0]]} of this episode: RLlib 2.60 "
                        "raises MultiAgentEnvError (\"already had its "
                        "`SingleAgentEpisode.is_done` set to True, but still received "
                        "data\").",
                        "Leave a terminated or truncated agent out of every later obs, "
                        "rewards and infos dict of the episode (end the episode with "
                        "'__all__' when every agent is done).",
                        {"agent": str(again[0]), "step": t, "done_at": done[again[0]]})
            answered = _answered(acted, step, t)
            if answered is not None:
                return answered
            for agent in _finished_agents(step.terminateds, step.truncateds) - done.keys():
                done[agent] = t
            unseen = set(step.rewards) - observed - _SPECIAL_KEYS
            if unseen:
                return EnvCheck("agent_ids", "failed",
                                f"At rollout step {t}, rewards go to agent(s) {sorted(unseen)} "
                                "that never received an observation in this episode.",
                                "Give an agent an observation before (or with) its first reward.")
        observed |= set(step.obs)
    return EnvCheck("agent_ids", "passed", "Agent ids agree across obs, rewards, terminateds, "
                                           "truncateds and infos.")


def _answered(acted: dict, step: _Step, t: int) -> EnvCheck | None:
    """What RLlib 2.60's ``MultiAgentEpisode.add_env_step`` refuses of the step that
    answers the agents in ``acted``: an agent that acted and gets its next observation
    must be in the rewards dict (0.0 will do); one that acted and is then truncated (by
    name or by ``'__all__'``) must get a last observation, for bootstrapping. Both raise
    MultiAgentEnvError at the first such step."""
    truncated_all = bool(step.truncateds.get("__all__", False))
    for agent in sorted(acted, key=str):
        if agent in step.obs and agent not in step.rewards:
            return EnvCheck(
                "agent_ids", "failed",
                f"At rollout step {t}, agent {agent!r} acted and got its next observation "
                "but no reward: RLlib 2.60 raises MultiAgentEnvError (\"Agent ... acted "
                "(and received next obs), but did NOT receive any reward from the env!\").",
                "Put every agent that gets an observation after acting in the rewards dict, "
                "with 0.0 when it earned nothing.",
                {"agent": str(agent), "step": t, "missing": "reward"})
        if agent not in step.obs and (truncated_all or step.truncateds.get(agent, False)):
            return EnvCheck(
                "agent_ids", "failed",
                f"At rollout step {t}, agent {agent!r} acted and was then truncated without "
                "a last observation: RLlib 2.60 raises MultiAgentEnvError (\"... got "
                "truncated, but did NOT receive a last (truncation) observation, required "
                "for e.g. value function bootstrapping!\").",
                "When the episode is truncated, give every agent that acted since its last "
                "observation a final observation in the same step.",
                {"agent": str(agent), "step": t, "missing": "observation"})
    return None


def _check_all_key(env: _AsMultiAgent, record: list[_Step], resets: list[int]) -> EnvCheck:
    """RLlib 2.60's vector env reads ``terminateds["__all__"]`` (a KeyError without it) and
    ``truncateds.get("__all__", False)``: a missing truncateds key is read as False."""
    if not env.multi_agent:
        return EnvCheck("all_key", "skipped", "Single-agent env: no '__all__' key needed.")
    steps = [(t, step) for t, step in enumerate(record) if t not in resets]
    for t, step in steps:
        if "__all__" not in step.terminateds:
            return EnvCheck("all_key", "failed",
                            f"At rollout step {t}, terminateds has no '__all__' key (keys: "
                            f"{sorted(map(str, step.terminateds))}): RLlib's vector env reads "
                            "terminateds['__all__'] and raises KeyError: '__all__'.",
                            "Add terminateds['__all__'] (and truncateds['__all__']) to every "
                            "step() return: RLlib ends the episode on them.")
    for t, step in steps:
        if "__all__" not in step.truncateds:
            return EnvCheck("all_key", "warning",
                            f"At rollout step {t}, truncateds has no '__all__' key (keys: "
                            f"{sorted(map(str, step.truncateds))}): RLlib reads it as False, "
                            "so only terminateds['__all__'] ends an episode.",
                            "Add truncateds['__all__'] to every step() return if a time limit "
                            "should end the episode.")
    return EnvCheck("all_key", "passed", "'__all__' is in every terminateds and truncateds.")


def _check_done_flags(env: _AsMultiAgent, record: list[_Step]) -> EnvCheck:
    """Gymnasium only warns about an int or None flag; RLlib needs bools (its episodes
    test them, and its checker misreads them: "truncates after 1 step")."""
    for t, step in enumerate(record):
        for name, flags in (("terminated", step.terminateds), ("truncated", step.truncateds)):
            for agent, flag in flags.items():
                if not isinstance(flag, (bool, np.bool_)):
                    where = f" of {agent!r}" if env.multi_agent else ""
                    return EnvCheck("done_flags", "failed",
                                    f"{name}{where} at rollout step {t} is {_short(flag)} "
                                    f"({type(flag).__name__}), not a bool.",
                                    f"Return {name} as a bool, e.g. bool(self.t >= limit); "
                                    "RLlib cannot end episodes on other types.")
    return EnvCheck("done_flags", "passed", "Every terminated/truncated is a bool.")


def _check_rewards(env: _AsMultiAgent, record: list[_Step]) -> EnvCheck:
    for t, step in enumerate(record):
        for agent, reward in step.rewards.items():
            problem = reward_problem(reward)
            if problem is not None:  # not a number or not finite: RLlib cannot train on it
                _, what, fix = problem
                return EnvCheck("finite_rewards", "failed",
                                f"{_at_step(env, agent, t)}: {what}.", fix)
    return EnvCheck("finite_rewards", "passed", "All rewards are finite numbers.")


def _ended_episodes(record: list[_Step], resets: list[int]) -> list[list[_Step]]:
    """The steps (reset first) of each episode the rollout ended."""
    return [record[start:end] for start, end in itertools.pairwise(resets)]


def _rewards_by_agent(steps: list[_Step]) -> dict[Any, list[float]]:
    """One episode's finite rewards per agent, in the order they were paid."""
    paid: dict[Any, list[float]] = {}
    for step in steps:
        for agent, reward in step.rewards.items():
            with contextlib.suppress(TypeError, ValueError):
                value = float(reward)
                if math.isfinite(value):
                    paid.setdefault(agent, []).append(value)
    return paid


def _ends_by_the_clock(episodes: list[list[_Step]]) -> tuple[int | None, str]:
    """The one length at which every episode terminated, never truncated (else None),
    and what the episodes showed otherwise."""
    lengths = sorted({len(steps) - 1 for steps in episodes})
    if len(episodes) < 2:
        return None, f"{len(episodes)} episode(s) ended in the rollout: nothing to compare."
    if any(flag for steps in episodes for step in steps
           for flag in step.truncateds.values()):
        return None, "The env reports truncation."
    if len(lengths) > 1:
        return None, f"Episodes ended at different steps ({lengths[0]} to {lengths[-1]})."
    if lengths[0] < 2 or not all(_episode_done(steps[-1].terminateds, {})
                                 for steps in episodes):
        return None, f"Every episode ended at step {lengths[0]}."
    return lengths[0], ""


def _numbers(value: Any) -> np.ndarray | None:
    """An observation's numbers in one flat array (None: not numbers)."""
    if isinstance(value, dict):
        parts = [_numbers(value[key]) for key in sorted(value, key=str)]
    elif isinstance(value, (tuple, list)):
        parts = [_numbers(part) for part in value]
    else:
        try:
            return np.asarray(value, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            return None
    if any(part is None for part in parts):
        return None
    return np.concatenate(parts) if parts else np.zeros(0)


def _observation_tells_the_step(episodes: list[list[_Step]]) -> bool:
    """Some number of some agent's observation takes few values, none of them at two
    different steps: a step counter, the steps left, a game's stage. The terminal
    observation is left out: nothing is valued there."""
    agents = {agent for steps in episodes for step in steps for agent in step.obs}
    for agent in agents:
        seen = [(t, values) for steps in episodes for t, step in enumerate(steps[:-1])
                if agent in step.obs and (values := _numbers(step.obs[agent])) is not None]
        if len({values.shape for _, values in seen}) != 1 or len({t for t, _ in seen}) < 2:
            continue
        steps_of = np.array([t for t, _ in seen])
        table = np.stack([values for _, values in seen])  # observations x numbers
        for column in table.T:
            values, which = np.unique(column, return_inverse=True)
            if len(values) > len(column) // 2:
                continue  # (nearly) every value new: a measurement, not a stage
            if all(len(set(steps_of[which == v])) == 1 for v in range(len(values))):
                return True
    return False


def _check_time_limit(make: Callable[[], _AsMultiAgent], record: list[_Step],
                      resets: list[int], seed: int, steps: int) -> EnvCheck:
    episodes = _ended_episodes(record, resets)
    length, seen = _ends_by_the_clock(episodes)
    told = length is not None and _observation_tells_the_step(episodes)
    if length is not None and not told:
        # other random actions: a task that ends on what the agent does ends elsewhere
        again, _, more = _rollout(make(), seed + 7919, steps)
        episodes += _ended_episodes(again, more)
        length, seen = _ends_by_the_clock(episodes)
        told = length is not None and _observation_tells_the_step(episodes)
    if told:
        length, seen = None, (f"Every episode terminated at step {length}, and the "
                              "observation tells the step.")
    if length is None:
        return EnvCheck("time_limit_terminated", "passed", seen)
    return EnvCheck(
        "time_limit_terminated", "warning",
        f"All {len(episodes)} episodes of two random rollouts ended terminated=True at "
        f"step {length}, whatever the actions; truncated was never True and nothing in the "
        "observation tells the step. RLlib reads terminated as the end of the task: its "
        "value targets take nothing after that step, while a truncated episode's last "
        "observation is valued by the critic.",
        f"If step {length} is a time limit, return truncated=True there and terminated=False "
        "(or wrap the env in gymnasium's TimeLimit); if the task truly ends there, put the "
        "step (or the steps left) in the observation so the critic can see the end coming.",
        {"episodes": len(episodes), "length": length})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    try:  # NaN == NaN here: a NaN reward is finite_rewards' finding, not nondeterminism
        return bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:
        return bool(np.array_equal(a, b))


def _same_step(a: _Step, b: _Step) -> bool:
    return _same(a.obs, b.obs) and _same(a.rewards, b.rewards)


def _check_determinism(make: Callable[[], _AsMultiAgent], first: list[_Step],
                       actions: list[dict], seed: int) -> EnvCheck:
    second, _, _ = _rollout(make(), seed, len(actions), actions=actions, expected=first)
    for t, (a, b) in enumerate(zip(first, second)):
        for part in ("obs", "rewards"):
            if not _same(getattr(a, part), getattr(b, part)):
                return EnvCheck("seed_determinism", "failed",
                                f"Two rollouts with seed={seed} and the same actions differ at "
                                f"step {t} in {part}: {_short(getattr(a, part))} vs "
                                f"{_short(getattr(b, part))}.",
                                "Draw every random number from self.np_random after calling "
                                "super().reset(seed=seed) in reset(), never from random/np.random"
                                " globals or a generator of your own; and set every piece of "
                                "state in reset() (a counter, a battery, a position): what one "
                                "episode leaves behind makes the next differ too.")
    return EnvCheck("seed_determinism", "passed",
                    f"Same seed and actions gave the same {len(actions)}-step rollout.")


def default_encoder_problem(agent: Any, space: Any, multi_agent: bool, *,
                            conv_filters: bool = False,
                            observed_dtype: Any = None) -> tuple[str, str] | None:
    """``(message, fix)`` when RLlib's new-stack default RLModule cannot encode ``space``
    (only 1-D and 3-D Boxes have a default encoder, an image only of the sizes RLlib has
    filters for unless ``conv_filters`` are set, and only of a dtype torch's layers take),
    else None.

    The dtype judged is the one the observations reach the module in: a single-agent
    env's vector env stores them in the space's dtype; a multi-agent runner keeps the
    env's own, ``observed_dtype`` (None: not judged)."""
    import gymnasium as gym

    from rldebug.shapes.spaces import unflattenable_parts

    if isinstance(space, gym.spaces.Box) and len(space.shape) in (1, 3):
        dtype = observed_dtype if multi_agent else space.dtype
        return _box_problem(agent, space, multi_agent, conv_filters, dtype)
    unflattenable = unflattenable_parts(space)
    if unflattenable:
        where, part = unflattenable[0]
        at = f"the part {where}, " if where else ""
        message = (f"{_space_of(agent, multi_agent)} is {space}. RLlib 2.60's new stack has "
                   "no encoder for it, and its FlattenObservations cannot turn a "
                   f"{type(part).__name__} space into numbers ({at}{part}: it casts its "
                   "values to float32, which fails).")
        fix = ("Turn it into numbers in the env or a gymnasium.ObservationWrapper (e.g. "
               "text as token ids in a Box or MultiDiscrete, then FlattenObservations), "
               "or give the RLModule an encoder of your own "
               "(config.rl_module(rl_module_spec=RLModuleSpec(module_class=...))).")
        return message, fix
    flatten = _flatten_call(multi_agent)
    message = (f"{_space_of(agent, multi_agent)} is {space}. On the new API stack RLlib's "
               "default model only encodes 1-D Box (MLP) and 3-D Box (CNN) observations; "
               "building the algorithm fails with 'No default encoder config for obs "
               f"space={space}'.")
    fix = ("Add RLlib's flattening connector (it one-hots Discrete/MultiDiscrete parts and "
           "concatenates Tuple/Dict parts):\n"
           "    from ray.rllib.connectors.env_to_module import FlattenObservations\n"
           "    config.env_runners(env_to_module_connector=lambda env, spaces=None, "
           f"device=None: {flatten})\n"
           "or give the RLModule a custom encoder; the old API stack preprocesses these "
           "spaces itself.")
    return message, fix


def _flatten_call(multi_agent: bool) -> str:
    """RLlib's flattening connector as the fix writes it."""
    return "FlattenObservations(multi_agent=True)" if multi_agent else "FlattenObservations()"


def _space_of(agent: Any, multi_agent: bool) -> str:
    return f"Observation space of {agent!r}" if multi_agent else "The observation space"


def _torch_refuses(shape: tuple, dtype: Any) -> str | None:
    """What torch says when RLlib 2.60's default model gets observations of ``shape`` and
    ``dtype`` (a 1-D or 3-D Box): a zero observation made a tensor as RLlib makes it
    (``convert_to_torch_tensor``: float64 becomes float32, nothing else changes) and fed
    to a float32 linear layer (1-D) or convolution (3-D, channels last as RLlib's CNN
    reads it), of zero weights (torch's random state is left alone); None when torch
    takes it."""
    try:
        import torch
        import torch.nn.functional as F
        from ray.rllib.utils.torch_utils import convert_to_torch_tensor
    except ImportError:  # a TensorFlow-only install: RLlib's torch model is not used
        return None
    if not all(shape) or np.dtype(dtype).kind not in "biuf":
        return None  # no values to feed; an object/str dtype is said elsewhere
    try:
        tensor = convert_to_torch_tensor(np.zeros((1, *shape), dtype))
        if len(shape) == 1:
            F.linear(tensor, torch.zeros(1, shape[0]), torch.zeros(1))
        else:
            F.conv2d(tensor.permute(0, 3, 1, 2), torch.zeros(1, shape[-1], 1, 1),
                     torch.zeros(1))
    except (RuntimeError, TypeError, ValueError) as err:
        return str(err).splitlines()[0]
    return None


def _box_problem(agent: Any, space: Any, multi_agent: bool, conv_filters: bool,
                 dtype: Any) -> tuple[str, str] | None:
    """A 1-D or 3-D Box RLlib 2.60's default model cannot take: an image of a size it has
    no default CNN for (``get_filter_config``, unless ``conv_filters`` are set), or a
    dtype torch's layers refuse (integers, bools, float16)."""
    if len(space.shape) == 3 and not conv_filters:
        from ray.rllib.models.utils import get_filter_config

        try:
            get_filter_config(list(space.shape))
        except ValueError as err:
            message = (f"{_space_of(agent, multi_agent)} is {space}. RLlib 2.60 builds its "
                       "default CNN from filters it has only for some image sizes, and "
                       f"building the algorithm fails: \"{' '.join(str(err).split())}\"")
            fix = ("Set config.rl_module(model_config={'conv_filters': [[out_channels, "
                   "[kernel, kernel], stride], ...]}) for this size, resize the images "
                   "to one of those sizes in a wrapper, or give the RLModule an encoder "
                   "of your own.")
            return message, fix
    refused = None if dtype is None else _torch_refuses(space.shape, dtype)
    if refused is None:
        return None
    given = ("" if np.dtype(dtype) == space.dtype else
             f" (the env returns {np.dtype(dtype)}, which RLlib's multi-agent runner keeps)")
    message = (f"{_space_of(agent, multi_agent)} is {space}{given}. RLlib 2.60 gives its "
               "default model the observations in their own dtype (its tensors turn float64 "
               f"into float32 and nothing else), and the first forward pass fails: "
               f"\"{refused}\".")
    flatten = _flatten_call(multi_agent)
    fix = ("Return float32 observations from a float32 space: wrap the env where you make "
           "it, gymnasium.wrappers.DtypeObservation(env, np.float32) (it changes the space "
           "too; scale an image to [0, 1] in the env or a wrapper), or add RLlib's "
           f"{flatten} connector, which casts to float32 (and flattens an image for an MLP).")
    return message, fix


def _check_default_encoder(env: _AsMultiAgent, record: list[_Step]) -> EnvCheck:
    observed: dict = {}  # agent -> the dtype of its first observation (an array's)
    for step in record:
        for agent, obs in step.obs.items():
            observed.setdefault(agent, obs.dtype if isinstance(obs, np.ndarray) else None)
    for agent in sorted(observed, key=str):
        problem = default_encoder_problem(agent, env.observation_space(agent), env.multi_agent,
                                          observed_dtype=observed[agent])
        if problem is not None:
            return EnvCheck("default_encoder", "warning", *problem)
    return EnvCheck("default_encoder", "passed",
                    "RLlib's default encoders take these observations (1-D or 3-D Boxes of "
                    "sizes and dtypes its model takes).")


def check_env(env_or_class: Any, env_config: dict | None = None, *, steps: int = 200,
              seed: int = 0, raise_on_error: bool = False) -> EnvCheckReport:
    """Check an environment for what breaks RLlib training, before training.

    :param env_or_class: an env instance (``gymnasium.Env`` or RLlib ``MultiAgentEnv``),
        a class or creator called as ``cls(env_config)`` (as RLlib does), or an id
        registered with gymnasium or ``ray.tune.register_env``.
    :param env_config: the config for a class/creator/id (not with an instance).
    :param steps: random-action steps per rollout (the env is reset on episode end).
    :param seed: seed of the rollouts; the determinism check reuses it.
    :param raise_on_error: raise :class:`EnvCheckError` if any check failed.
    :returns: an :class:`EnvCheckReport`; ``print(report)`` lists every check,
        ``report.ok`` is False when one failed.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise UsageError(f"steps must be an int >= 1, got {steps!r}.")
    check_seed(seed, "check_env(seed=...)", allow_none=False)
    env = _make_env(env_or_class, env_config)
    wrapped = _AsMultiAgent(env)
    report = EnvCheckReport(env=type(env).__name__, multi_agent=wrapped.multi_agent)
    undeclared = _undeclared_space(wrapped)
    if undeclared:
        report.checks += [_check_rllib(env), EnvCheck(
            "agent_spaces", "failed",
            f"RLlib builds the modules from the env's spaces, and {undeclared}.",
            "Set self.observation_space and self.action_space to gymnasium spaces in "
            "__init__ (a MultiAgentEnv: self.observation_spaces and self.action_spaces, "
            "dicts keyed by agent id).")]
        report.checks += [EnvCheck(name, "skipped", "Needs the env's spaces (above): random "
                                   "actions are drawn from its action space.", "")
                          for name in ("discrete_start", *ROLLOUT_CHECKS)]
        if raise_on_error:
            raise EnvCheckError(str(report))
        return report
    report.checks += [_check_rllib(env), _check_agent_spaces(env),
                      _check_discrete_start(wrapped)]
    try:
        record, actions, resets = _rollout(wrapped, seed, steps)
    except OldGymAPIError as err:
        report.checks.append(EnvCheck("gymnasium_api", "failed", str(err), err.fix))
        report.checks += [EnvCheck(name, "skipped", "Needs a gymnasium-API rollout.", "")
                          for name in ROLLOUT_CHECKS]
    except Exception as err:  # noqa: BLE001 - a crashing env is the finding
        # said once, where it happened; the checks that needed the rollout are skipped
        check, evidence = ROLLOUT_CHECKS[0], {}
        if isinstance(err, _RolloutStopped):
            check, message, fix, evidence = err.check, err.message, err.fix, err.evidence
        else:
            message = (f"A random rollout raised {type(err).__name__}: {err}, outside the "
                       "env's reset() and step() themselves: reading what they returned, the "
                       "env's spaces, or an action sampled from them.")
            fix = ("Return what RLlib 2.60 reads (a MultiAgentEnv: obs, rewards, terminateds, "
                   "truncateds and infos as dicts keyed by agent id), and action spaces "
                   "whose sample() works (RLlib samples them while exploring).")
        report.checks += [EnvCheck(check, "failed", message, fix, evidence) if name == check else
                          EnvCheck(name, "skipped", "Needs a rollout, which stopped (above).",
                                   "") for name in ROLLOUT_CHECKS]
    else:
        report.episodes_ended = len(resets) - 1
        report.episode_lengths = [len(steps) - 1 for steps in _ended_episodes(record, resets)]
        report.episode_rewards = [_rewards_by_agent(steps)
                                  for steps in _ended_episodes(record, resets)]
        report.checks += [*_check_obs(wrapped, record),
                          _check_agent_ids(wrapped, record, resets, actions),
                          _check_all_key(wrapped, record, resets),
                          _check_done_flags(wrapped, record),
                          _check_rewards(wrapped, record)]
        rebuilt = (lambda: _AsMultiAgent(env)) if env is env_or_class else \
            (lambda: _AsMultiAgent(_make_env(env_or_class, env_config)))
        try:
            report.checks.append(_check_time_limit(rebuilt, record, resets, seed, steps))
        except Exception as err:  # noqa: BLE001 - the first rollout ran; a second may not
            report.checks.append(EnvCheck(
                "time_limit_terminated", "skipped",
                f"A second random rollout raised {type(err).__name__}: {err}", ""))
        try:
            report.checks.append(_check_determinism(rebuilt, record, actions, seed))
        except Exception as err:  # noqa: BLE001
            report.checks.append(EnvCheck("seed_determinism", "failed",
                                          f"The replayed rollout raised {type(err).__name__}: "
                                          f"{err}", "Fix the exception in reset()/step()."))
        report.checks.append(_check_default_encoder(wrapped, record))
    if raise_on_error and not report.ok:
        raise EnvCheckError(str(report))
    return report


__all__ = ["CHECKS", "EnvCheck", "EnvCheckError", "EnvCheckReport", "check_env"]
