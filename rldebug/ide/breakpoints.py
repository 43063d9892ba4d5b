"""``break_on``: drop into the debugger exactly when an RL event happens.

A line breakpoint in ``env.step`` stops on every step; what you usually want
is "stop on the first collision", "stop when agent1's reward drops below -1",
"stop when the loss jumps". ``break_on(config, ...)`` returns a copy of an
RLlib config with a callback that checks every env step and every train result
and, when a condition holds, calls the debugger from a small function whose
locals are named for what you want to see::

    event     what happened (event.kind, event.reason)
    episode   the episode (env-step events)
    agent_id  the agent whose step triggered it
    obs, action, reward, info   that agent's step
    batch     the training batch (when available; None otherwise)
    stats     the module's learner stats (loss/KL events)

The stop honours ``PYTHONBREAKPOINT``. With no debugger attached and stdin not
a terminal (CI, a Ray worker), the event is logged and recorded
(:func:`break_records`) instead, so an unattended run never blocks. Events caught
in remote EnvRunners are sent to the driver after each ``sample()`` (through
:mod:`rldebug.relay`): the driver's :func:`break_records` has them too, and its
results count them under ``result["break_on"]``: ``remote_events`` (received this
iteration) and ``remote_events_lifetime``.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import uuid
from collections.abc import Iterable, Mapping

from rldebug.breakpoint_hook import users_breakpoint_hook
from rldebug.callbacks.compose import add_callbacks, with_settings
from rldebug.ide._break_callback import (
    DEFAULT_SPIKE_WINDOW,
    MIN_SPIKE_HISTORY,
    ActionCondition,
    BreakOnCallback,
    BreakOnSettings,
    BreakOnWarning,
)
from rldebug.ide._stop import (
    MODES,
    BreakEvent,
    break_records,
    catch,
    clear_break_records,
)
from rldebug.shapes.env_meta import declared_agents, env_name, info_events
from rldebug.usage import UsageError, UsageTypeError, check_bool, user_line


def _check_events(events, env) -> tuple[str, ...]:
    if isinstance(events, str):
        events = (events,)
    if events is None:
        return ()
    if not isinstance(events, Iterable) or not all(isinstance(e, str) for e in events):
        raise UsageTypeError(
            f"break_on(events=...) takes info event names as strings, e.g. ('collision',), "
            f"got {events!r}.")
    events = tuple(events)
    known = info_events(env)
    if known is not None:
        unknown = [e for e in events if e not in known]
        if unknown:
            raise UsageError(
                f"break_on(events=...) names unknown event(s) {unknown} for {env_name(env)}; "
                f"its infos report {list(known)}. Pick from those (the other conditions catch "
                "rewards, non-finite values and actions no info event reports).")
    return events


def _check_bound(name: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageTypeError(f"break_on({name}=...) must be a number (int or float) or None, got "
                             f"{type(value).__name__} {value!r}.")
    if math.isnan(value):
        raise UsageError(f"break_on({name}=nan) can never fire: nothing compares to NaN. "
                         "Give a number (non-finite values have a condition of their own, "
                         "non_finite).")
    if (name, value) in (("reward_below", -math.inf), ("reward_above", math.inf)):
        raise UsageError(f"break_on({name}={value}) can never fire: no reward is "
                         f"{'below -inf' if value < 0 else 'above inf'}. Give a finite bound.")
    return float(value)


def check_spike(name: str, value) -> float | None:
    """A spike factor (> 1) or None, checked; ``name`` is the argument's name."""
    value = _check_bound(name, value)
    if value is not None and math.isinf(value):
        raise UsageError(f"break_on({name}=inf) can never fire: no value exceeds inf times "
                         "its running mean. Give a finite factor > 1 (e.g. 3.0).")
    if value is not None and not value > 1.0:
        raise UsageError(
            f"break_on({name}={value!r}) is a factor over the running mean and must be > 1 "
            f"(e.g. 3.0 stops when the value exceeds 3x its running mean).")
    return value


def _is_agent_id(value) -> bool:
    return isinstance(value, (str, numbers.Integral)) and not isinstance(value, bool)


def _check_agents(name: str, agent_ids, env) -> None:
    known = declared_agents(env)
    if known is None:
        return  # checked against the env's own agents when it is created
    unknown = sorted(str(a) for a in set(map(str, agent_ids)) - set(map(str, known)))
    if unknown:
        raise UsageError(f"break_on({name}=...) names unknown agent(s) {unknown}; "
                         f"{env_name(env)}'s agents are {list(known)}.")


def _check_agent_ids(agent_ids, env) -> frozenset | None:
    if agent_ids is None:
        return None
    if _is_agent_id(agent_ids):
        agent_ids = (agent_ids,)
    if not isinstance(agent_ids, Iterable) or not all(_is_agent_id(a) for a in agent_ids):
        raise UsageTypeError(f"break_on(agent_ids=...) takes agent ids (str or int), e.g. "
                             f"('agent1',), got {agent_ids!r}.")
    if not agent_ids:
        raise UsageError("break_on(agent_ids=...) is empty, which would check no agent; name "
                         "the agents to check, or leave it None to check every agent.")
    _check_agents("agent_ids", agent_ids, env)
    return frozenset(str(a) for a in agent_ids)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _action_condition(agent_id, actions) -> ActionCondition:
    """An int or ints (Discrete), a tuple of ints or tuples (MultiDiscrete), or a callable."""
    if callable(actions):
        return ActionCondition(predicate=actions)
    if _is_int(actions):
        return ActionCondition(ints=frozenset({int(actions)}))
    if isinstance(actions, tuple) and actions and all(_is_int(a) for a in actions):
        return ActionCondition(vectors=frozenset({tuple(int(a) for a in actions)}))
    if isinstance(actions, (list, set, frozenset)) and actions:
        if all(_is_int(a) for a in actions):
            return ActionCondition(ints=frozenset(int(a) for a in actions))
        if all(isinstance(a, tuple) and a and all(_is_int(x) for x in a) for a in actions):
            return ActionCondition(vectors=frozenset(tuple(int(x) for x in a) for a in actions))
    raise UsageTypeError(
        f"break_on(agent_action=...) maps an agent id to an int action or a list of them "
        f"(Discrete), a tuple of ints or a list of tuples (whole MultiDiscrete actions), or a "
        f"predicate such as lambda action: action[0] > 1.5 (Box); got {agent_id!r}: "
        f"{actions!r}.")


def _check_agent_action(agent_action, env) -> tuple[tuple[str, ActionCondition], ...]:
    if agent_action is None:
        return ()
    example = "{'agent1': 2} or {'agent1': [0, 2]}"
    if not isinstance(agent_action, Mapping):
        raise UsageTypeError(f"break_on(agent_action=...) maps agent ids to actions, e.g. "
                             f"{example}, got {type(agent_action).__name__} {agent_action!r}.")
    checked = []
    for agent_id, actions in agent_action.items():
        if not _is_agent_id(agent_id):
            raise UsageTypeError(f"break_on(agent_action=...) keys are agent ids (str or int), "
                                 f"got {agent_id!r}.")
        checked.append((str(agent_id), _action_condition(agent_id, actions)))
    _check_agents("agent_action", [a for a, _ in checked], env)
    return tuple(checked)


def _check_count(name: str, value, minimum: int, allow_none: bool) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        none = " or None (no limit)" if allow_none else ""
        raise UsageError(f"break_on({name}=...) must be an int >= {minimum}{none}, got {value!r}.")
    return int(value)


class _NoCondition(UsageError):
    """break_on's settings name no condition (``attach_remote(when=...)`` says it its way)."""


def _validated_settings(config, *, events, reward_below, reward_above, non_finite, loss_spike,
                        kl_spike, spike_window, agent_action, agent_ids, max_stops,
                        mode) -> BreakOnSettings:
    if mode not in MODES:
        raise UsageError(f"break_on(mode={mode!r}) must be one of {MODES}.")
    non_finite = check_bool(non_finite, "break_on(non_finite=...)")
    env = config.env
    below = _check_bound("reward_below", reward_below)
    above = _check_bound("reward_above", reward_above)
    if below is not None and above is not None and below > above:
        raise UsageError(f"break_on(reward_below={below}, reward_above={above}): every reward "
                         f"is below {below} or above {above}, so every step would stop. To "
                         "stop on rewards outside a range, give reward_below the range's low "
                         "end and reward_above its high end.")
    spec = BreakOnSettings(
        token=uuid.uuid4().hex,
        events=_check_events(events, env),
        reward_below=below,
        reward_above=above,
        non_finite=non_finite,
        loss_spike=check_spike("loss_spike", loss_spike),
        kl_spike=check_spike("kl_spike", kl_spike),
        spike_window=_check_count("spike_window", spike_window, MIN_SPIKE_HISTORY,
                                  allow_none=False),
        agent_action=_check_agent_action(agent_action, env),
        agent_ids=_check_agent_ids(agent_ids, env),
        max_stops=_check_count("max_stops", max_stops, 0, allow_none=True),
        mode=mode,
        breakpoint_hook=users_breakpoint_hook(),  # here, for the Ray workers that stop
        called_at=user_line(),  # the user's break_on call
    )
    if not (spec.events or below is not None or above is not None or non_finite
            or spec.loss_spike or spec.kl_spike or spec.agent_action):
        raise _NoCondition(
            "break_on got no condition to stop on: pass events=, reward_below=/reward_above=, "
            "non_finite=True, loss_spike=, kl_spike= or agent_action=.")
    if spec.agent_action and spec.agent_ids is not None:
        ignored = sorted(set(dict(spec.agent_action)) - set(spec.agent_ids))
        if ignored:
            raise UsageError(
                f"break_on(agent_action=...) names {ignored}, which agent_ids="
                f"{sorted(spec.agent_ids)} excludes, so it could never fire; add them to "
                "agent_ids or drop them from agent_action.")
    return spec


#: The conditions checked at every env step (where the env runs); the others (loss and KL
#: spikes) are checked on the driver after each iteration.
ENV_STEP_CONDITIONS = ("events", "reward_below", "reward_above", "non_finite", "agent_action",
                       "agent_ids")


def env_step_settings(config, when: Mapping, caller: str) -> BreakOnSettings:
    """Validated settings for ``break_on``'s env-step conditions given as a dict (``when=``
    of :func:`rldebug.attach_remote`); ``non_finite`` is off unless ``when`` turns it on."""
    if not isinstance(when, Mapping):
        raise UsageTypeError(
            f"{caller}(when=...) must be a dict of break_on conditions, e.g. "
            f"{{'reward_below': -10, 'non_finite': True}}, got {type(when).__name__}: "
            f"{when!r:.80}.")
    unknown = sorted(set(when) - set(ENV_STEP_CONDITIONS))
    if unknown:
        learner = sorted(set(unknown) & {"loss_spike", "kl_spike", "spike_window"})
        raise UsageError(
            f"{caller}(when=...) got {unknown}; it takes break_on's env-step conditions "
            f"{list(ENV_STEP_CONDITIONS)}"
            + (f" ({learner} are checked on the driver after each iteration, not in an "
               "EnvRunner: use rldebug.break_on for them)" if learner else "") + ".")
    try:
        return _validated_settings(
            config, events=when.get("events"), reward_below=when.get("reward_below"),
            reward_above=when.get("reward_above"), non_finite=when.get("non_finite", False),
            loss_spike=None, kl_spike=None, spike_window=DEFAULT_SPIKE_WINDOW,
            agent_action=when.get("agent_action"), agent_ids=when.get("agent_ids"),
            max_stops=None, mode="break")
    except _NoCondition:
        raise UsageError(
            f"{caller}(when=...) got no condition to stop on: give it events, "
            "reward_below/reward_above, non_finite=True or agent_action (or leave when= "
            "out to wait for the IDE from the start).") from None
    except UsageError as error:
        raise said_in_when(error, caller) from None


def said_in_when(error: UsageError, caller: str) -> UsageError:
    """One of break_on's refusals (``break_on(reward_below=...) must be ...``) said as the
    user wrote the condition: ``attach_remote(when={'reward_below': ...}) must be ...``."""
    def as_when(match) -> str:
        pairs = [part.split("=", 1) for part in re.split(r", (?=\w+=)", match[1])]
        return f"{caller}(when={{" + ", ".join(f"'{k}': {v}" for k, v in pairs) + "})"

    text = re.sub(r"break_on\(((?:\w+=[^,)]*(?:, )?)+)\)", as_when, str(error))
    return type(error)(text.replace("condition of their own, non_finite",
                                    "condition of their own, {'non_finite': True}"))


def break_on(config, *, events: str | Iterable[str] | None = None,
             reward_below: float | None = None, reward_above: float | None = None,
             non_finite: bool = True, loss_spike: float | None = None,
             kl_spike: float | None = None, spike_window: int = DEFAULT_SPIKE_WINDOW,
             agent_action: Mapping | None = None,
             agent_ids: str | int | Iterable | None = None, max_stops: int | None = None,
             mode: str = "auto"):
    """Return a copy of ``config`` that stops in the debugger when an RL event happens.

    Env-step conditions are checked after every env step (``on_episode_step``)
    wherever the env runs (this process under :func:`rldebug.local_mode`);
    loss/KL conditions after every training iteration (``on_train_result``,
    always in the driver). The user's own callbacks are kept.

    :param config: an RLlib ``AlgorithmConfig`` (either API stack).
    :param events: info event names; stops when ``info[name]`` is truthy for an
        agent (the arena reports ``"collision"`` and ``"new_field"``). None or
        ``()`` for none.
    :param reward_below: stop when an agent's step reward is below this number.
    :param reward_above: stop when an agent's step reward is above this number
        (with both bounds, either one fires).
    :param non_finite: stop on a NaN/inf observation, reward, loss or KL.
    :param loss_spike: factor > 1: stop when a module's ``total_loss`` exceeds
        this many times its running mean (absolute values, last ``spike_window``
        iterations, at least 3 of them).
    :param kl_spike: the same for the KL (``mean_kl_loss``; old stack ``kl``).
    :param spike_window: iterations in the running mean of the spike checks.
    :param agent_action: ``{agent_id: condition}``: stop when that agent's action meets
        it. Discrete actions: an int or a list of ints; MultiDiscrete: a tuple of ints
        (one whole action) or a list of tuples; any space, Box included: a predicate
        ``lambda action: ...``. Box actions are seen as the env receives them
        (unsquashed with ``normalize_actions``, clipped with ``clip_actions``). Checked
        against the agent's action space where the env is created: a condition that can
        never hold makes ``build_algo()`` raise a ValueError that says why.
    :param agent_ids: only check the env-step conditions of these agents (ids as str or
        int; a single-agent env's agent is ``"default_agent"`` on both stacks).
    :param max_stops: stop at most this many times per process (later events
        are still logged and recorded); None for no limit.
    :param mode: ``"auto"`` (stop if a debugger is attached or stdin is a
        terminal, else log), ``"break"`` (always stop: in the attached debugger, else
        through ``PYTHONBREAKPOINT`` as it is where ``break_on`` is called, else pdb; a
        Ray worker with none of them logs and warns once) or ``"log"`` (never stop).
    :returns: a new config; ``config`` itself is not changed.
    :raises TypeError: for a non-config or a value of the wrong type.
    :raises ValueError: for unknown events/agents (naming the valid ones) or
        out-of-range numbers.
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(f"break_on expects an RLlib AlgorithmConfig (e.g. "
                             f"rldebug.arena_ppo_config()), got {type(config).__name__}: "
                             f"{config!r:.120}.")
    spec = _validated_settings(
        config, events=events, reward_below=reward_below, reward_above=reward_above,
        non_finite=non_finite, loss_spike=loss_spike, kl_spike=kl_spike,
        spike_window=spike_window, agent_action=agent_action, agent_ids=agent_ids,
        max_stops=max_stops, mode=mode)
    return add_callbacks(config, with_settings(BreakOnCallback, spec, name="BreakOn"))


def break_here(reason: str, *, kind: str = "custom", mode: str = "auto",
               iteration: int | None = None, module_id: str | None = None,
               value: float | None = None, stats: dict | None = None,
               extra: dict | None = None, episode=None, agent_id: str | None = None,
               obs=None, action=None, reward: float | None = None, info: dict | None = None,
               batch=None, episode_id: str | None = None,
               env_step: int | None = None) -> BreakEvent:
    """Stop in the debugger now, as ``break_on`` does, for an event found elsewhere
    (an error finding of :class:`rldebug.doctor.DoctorCallback`, a step that
    :func:`rldebug.reproduce` replays).

    The event is recorded (:func:`break_records`) and logged; it stops only where
    ``mode`` allows (``"auto"``: a debugger is attached or stdin is a terminal).

    :param reason: what happened, shown in the log and as ``event.reason``.
    :param kind: the event's kind (``"doctor"`` for the doctor's findings).
    :param mode: ``"auto"``, ``"break"`` or ``"log"`` (see :func:`break_on`).
    :param stats: the data to look at, a local of the frame it stops in; ``episode``,
        ``agent_id``, ``obs``, ``action``, ``reward``, ``info`` (an env step) and
        ``batch`` (a training batch) are locals there too, and the step's values are
        recorded in the event.
    :returns: the recorded :class:`BreakEvent` (``.stopped`` says whether it stopped).
    """
    if not isinstance(reason, str) or not reason:
        raise UsageTypeError(f"break_here needs a non-empty reason string, got {reason!r:.80}.")
    if mode not in MODES:
        raise UsageError(f"break_here(mode={mode!r}) must be one of {MODES}.")
    event = BreakEvent(kind=kind, reason=reason, pid=os.getpid(), iteration=iteration,
                       module_id=module_id, value=value, extra=dict(extra or {}),
                       agent_id=agent_id, episode_id=episode_id, env_step=env_step,
                       action=action, reward=reward,
                       info=None if info is None else dict(info))
    return catch(event, mode, token=f"break_here:{kind}", max_stops=None,
                 context={"stats": stats, "episode": episode, "agent_id": agent_id,
                          "obs": obs, "action": action, "reward": reward, "info": info,
                          "batch": batch})


__all__ = [
    "BreakEvent",
    "BreakOnSettings",
    "BreakOnWarning",
    "break_here",
    "break_on",
    "break_records",
    "clear_break_records",
]
