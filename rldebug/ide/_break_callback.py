"""The callback ``break_on`` adds: it checks each env step and each train result."""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug import relay
from rldebug.callbacks.unseen import EPISODES_BEFORE_SAYING, Unseen
from rldebug.ide._listen import is_target, wait_for_ide
from rldebug.ide._stop import BreakEvent, catch, record_remote
from rldebug.shapes.env_meta import agent_spaces
from rldebug.shapes.episodes import env_t, episode_id, last_step
from rldebug.shapes.numbers import has_non_finite
from rldebug.shapes.outputs import env_action, env_action_of_one
from rldebug.shapes.results import learner_stats, main_loss
from rldebug.usage import UsageError

MIN_SPIKE_HISTORY = 3
DEFAULT_SPIKE_WINDOW = 20  # values in a spike's running mean, unless set


class BreakOnWarning(UserWarning):
    """A ``break_on`` condition can never fire (for example an event the env never reports)."""


@dataclass(frozen=True)
class ActionCondition:
    """When an agent's action counts: one of ``ints`` (Discrete), of ``vectors``
    (MultiDiscrete, whole action vectors) or whenever ``predicate(action)`` is true."""

    ints: frozenset = frozenset()
    vectors: frozenset = frozenset()
    predicate: Callable[[Any], bool] | None = None

    def describe(self) -> str:
        if self.predicate is not None:
            return getattr(self.predicate, "__name__", "a predicate")
        return str(sorted(self.ints) or sorted(self.vectors))

    def matches(self, action: Any) -> bool:
        if self.predicate is not None:
            try:
                return bool(self.predicate(action))
            except Exception as err:  # user code: say whose it is
                raise RuntimeError(
                    f"break_on(agent_action=...): the predicate {self.describe()} raised "
                    f"{type(err).__name__}: {err} on action {action!r}. Make it accept the "
                    "agent's action as the env receives it (a numpy array for Box actions)."
                ) from err
        array = np.asarray(action)
        if array.ndim == 0:
            return int(array) in self.ints
        return bool(self.vectors) and tuple(int(v) for v in array.ravel()) in self.vectors

    def check_space(self, agent_id, space) -> None:
        """Raise a ValueError if this condition can never hold for actions of ``space``."""
        import gymnasium as gym

        if self.predicate is not None:
            return
        where = f"break_on(agent_action={{{agent_id!r}: ...}})"
        if isinstance(space, gym.spaces.Discrete):
            valid = range(int(space.start), int(space.start + space.n))
            bad = sorted(a for a in self.ints if a not in valid)
            if self.vectors or bad:
                raise UsageError(
                    f"{where}: {sorted(self.vectors) or bad} can never be taken: the agent's "
                    f"action space is {space} (actions {valid.start}..{valid.stop - 1}).")
        elif isinstance(space, gym.spaces.MultiDiscrete):
            nvec = [int(n) for n in np.asarray(space.nvec).ravel()]
            starts = [int(b) for b in np.asarray(space.start).ravel()]
            bad = sorted(v for v in self.vectors if len(v) != len(nvec)
                         or any(not b <= x < b + n for x, b, n in zip(v, starts, nvec)))
            if self.ints or bad:
                raise UsageError(
                    f"{where}: {sorted(self.ints) or bad} can never be taken: the agent's "
                    f"action space is {space}; give whole action vectors as tuples of "
                    f"{len(nvec)} ints, e.g. {tuple(0 for _ in nvec)}.")
        else:
            raise UsageError(
                f"{where}: the agent's action space is {space}, whose actions are not "
                "listed one by one; pass a predicate instead, e.g. "
                "{agent: lambda action: action[0] > 1.5}.")


@dataclass(frozen=True)
class BreakOnSettings:
    """The validated conditions of one ``break_on`` call (see :func:`rldebug.ide.break_on`)."""

    token: str
    events: tuple[str, ...] = ()
    reward_below: float | None = None
    reward_above: float | None = None
    non_finite: bool = True
    loss_spike: float | None = None
    kl_spike: float | None = None
    spike_window: int = DEFAULT_SPIKE_WINDOW
    agent_action: tuple[tuple[Any, ActionCondition], ...] = ()
    agent_ids: frozenset | None = None
    max_stops: int | None = None
    mode: str = "auto"
    #: attach_remote(when=...): the remote EnvRunner (its AttachRemoteSettings) that alone
    #: checks the conditions and, when one fires, waits for the IDE to stop there
    attach: Any = None
    #: PYTHONBREAKPOINT as the user set it where break_on was called (Ray replaces it in
    #: its workers, and a running Ray's workers never saw the driver's); None: unknown
    breakpoint_hook: str | None = None
    #: (file, line) of the user's break_on call, where its warnings point (they are found
    #: in RLlib's callbacks, with no frame of the user's on the stack)
    called_at: tuple[str, int] | None = None

    def warn(self, message: str) -> None:
        if self.called_at is None:
            warnings.warn(message, BreakOnWarning, stacklevel=3)
        else:
            warnings.warn_explicit(message, BreakOnWarning, *self.called_at)


def _step_events(spec: BreakOnSettings, agent_id, step) -> list[tuple[str, str, float | None]]:
    """(kind, reason, value) for every condition this agent's step meets."""
    found = []
    for name in spec.events:
        if step.info.get(name):
            found.append(("info_event", f"{agent_id}: info event {name!r}", None))
    reward = step.reward
    if reward is not None and spec.reward_below is not None and reward < spec.reward_below:
        found.append(("reward_below", f"{agent_id}: reward {reward} < {spec.reward_below}", reward))
    if reward is not None and spec.reward_above is not None and reward > spec.reward_above:
        found.append(("reward_above", f"{agent_id}: reward {reward} > {spec.reward_above}", reward))
    if spec.non_finite:
        if has_non_finite(step.obs):
            found.append(("non_finite_obs", f"{agent_id}: non-finite observation", None))
        if reward is not None and not math.isfinite(reward):
            found.append(("non_finite_reward", f"{agent_id}: non-finite reward {reward}", reward))
    condition = dict(spec.agent_action).get(str(agent_id))
    if condition is not None and step.action is not None and condition.matches(step.action):
        found.append(("agent_action", f"{agent_id}: took action {_shown(step.action)}", None))
    return found


def _shown(action: Any) -> Any:
    """An action as plain Python (Tuple and Dict actions part by part)."""
    if isinstance(action, dict):
        return {key: _shown(part) for key, part in action.items()}
    if isinstance(action, tuple):
        return [_shown(part) for part in action]
    array = np.asarray(action)
    return array.item() if array.ndim == 0 else array.tolist()


# per break_on token: why its agent_action can never fire on this process's env
_IMPOSSIBLE_ACTIONS: dict[str, str] = {}


def _impossible_actions(runner, token: str) -> str | None:
    """In an EnvRunner (pickled by reference, so it reads that process's table)."""
    return _IMPOSSIBLE_ACTIONS.get(token)


class BreakOnCallback(RLlibCallback):
    """Stops (or logs) on the RL events of its settings; ``break_on`` subclasses it per call."""

    settings: BreakOnSettings = BreakOnSettings(token="unset")

    def __init__(self):
        super().__init__()
        self._unseen_events = Unseen(self.settings.events)
        self._unseen_agents = Unseen(sorted(self.settings.agent_ids or ()))
        self._action_spaces: dict = {}  # agent -> action space, once the env exists
        self._config = None
        self._history: dict[tuple[str, str], deque] = defaultdict(
            lambda: deque(maxlen=self.settings.spike_window))
        self._unsent: list[dict] = []  # caught in a remote EnvRunner, not yet sent home
        self._remote_events = 0

    # -- remote EnvRunners: their events reach the driver's break_records() --

    def on_algorithm_init(self, *, algorithm, **kwargs) -> None:
        remote = relay.has_remote_actors(algorithm.config)
        self._refuse_impossible_actions(algorithm, remote)
        relay.make_home(self.settings.token, remote)
        if remote:
            relay.announce(self.settings.token, algorithm)
            relay.end_at_stop(self.settings.token, algorithm, self._receive)

    def _receive(self) -> int:
        """At the home: what remote EnvRunners caught since the last call, recorded here."""
        received = relay.drain(self.settings.token)
        for fields in received:
            record_remote(BreakEvent(**fields))
        self._remote_events += len(received)
        return len(received)

    def on_env_runners_recreated(self, *, algorithm, env_runner_indices, **kwargs) -> None:
        relay.announce(self.settings.token, algorithm, list(env_runner_indices))

    def _caught(self, event: BreakEvent) -> None:
        if not relay.is_home(self.settings.token):
            self._unsent.append(event.to_dict())

    def on_sample_end(self, **kwargs) -> None:
        # Waited for: the driver drains the relay once this iteration's sample() calls
        # have returned, and an unconfirmed push arrived an iteration late (a new user's
        # first iteration with one remote runner, 11 runs of 16).
        self._send(wait=True)

    def _send(self, wait: bool) -> None:
        if self._unsent and relay.push(self.settings.token, self._unsent, wait=wait):
            self._unsent = []

    def _send_before_a_crash(self, env_runner) -> None:
        """A remote EnvRunner's (or RolloutWorker's) ``sample()`` that raises sends the
        events it caught first: they are what led to the crash, and RLlib may restart (kill)
        the runner next."""
        if env_runner is None or not callable(getattr(env_runner, "sample", None)):
            return
        wrapped_for = env_runner.__dict__.setdefault("_rldebug_break_on_sends", set())
        if self.settings.token in wrapped_for:  # each break_on's events, once
            return
        wrapped_for.add(self.settings.token)
        sample = env_runner.sample

        def sample_sending_first(*args, **kwargs):
            try:
                return sample(*args, **kwargs)
            except Exception:
                self._send(wait=True)
                raise

        env_runner.sample = sample_sending_first

    # -- where the env is created: actions checked against the real spaces --

    def on_environment_created(self, *, env, env_runner=None, **kwargs) -> None:
        self._remember_env(agent_spaces(env), getattr(env_runner, "config", None))
        if not relay.is_home(self.settings.token):
            self._send_before_a_crash(env_runner)

    def on_sub_environment_created(self, *, sub_environment, worker=None, **kwargs) -> None:
        self._remember_env(agent_spaces(sub_environment), getattr(worker, "config", None))
        if not relay.is_home(self.settings.token):  # the old stack's RolloutWorker
            self._send_before_a_crash(worker)

    def _remember_env(self, spaces: dict, config) -> None:
        """Keep the env's action spaces, and what of agent_action they rule out. That is
        raised in the driver when the Algorithm is built (:meth:`on_algorithm_init`): raised
        in a remote EnvRunner, it failed the actor and RLlib said only IndexError."""
        self._action_spaces = {str(aid): space for aid, (_, space) in spaces.items()}
        self._config = config
        _IMPOSSIBLE_ACTIONS.pop(self.settings.token, None)  # this env's verdict, not a last one
        for agent_id, condition in self.settings.agent_action:
            try:
                if agent_id not in self._action_spaces:
                    raise UsageError(
                        f"break_on(agent_action=...) names agent {agent_id!r}, which this env "
                        f"does not have; its agents are {list(spaces)}.")
                condition.check_space(agent_id, self._action_spaces[agent_id])
            except UsageError as problem:
                _IMPOSSIBLE_ACTIONS.setdefault(self.settings.token, str(problem))

    def _refuse_impossible_actions(self, algorithm, remote: bool) -> None:
        token = self.settings.token
        problems = [_IMPOSSIBLE_ACTIONS.pop(token, None)]
        groups = [group for group in (algorithm.env_runner_group,
                                      getattr(algorithm, "eval_env_runner_group", None))
                  if group is not None]
        if remote and self.settings.agent_action:
            for group in groups:
                problems += group.foreach_env_runner(
                    functools.partial(_impossible_actions, token=token),
                    local_env_runner=False)
        problem = next((p for p in problems if p), None)
        if problem:
            for group in groups:  # the build fails: its runners are not left behind
                group.stop()
            raise UsageError(problem)

    def _env_action(self, agent_id, action):
        """The action as the env receives it (Box actions, and the Box parts of Tuple and
        Dict actions, unsquashed or clipped as RLlib does)."""
        import gymnasium as gym

        space = self._action_spaces.get(str(agent_id))
        if action is not None and isinstance(space, (gym.spaces.Tuple, gym.spaces.Dict)):
            return env_action_of_one(action, space, self._config)
        if action is None or not isinstance(space, gym.spaces.Box):
            return action
        module_action = np.asarray(action, dtype=space.dtype).reshape((1, *space.shape))
        return env_action(module_action, space, self._config)[0]

    # -- env side: runs wherever the env steps (driver in local mode, else EnvRunners) --

    def on_episode_step(self, *, episode, env_runner=None, worker=None, **kwargs) -> None:
        spec = self.settings
        if spec.attach is not None and not is_target(env_runner or worker,
                                                     spec.attach.runner_index):
            return
        steps = last_step(episode)
        self._unseen_agents.saw(steps)
        for step in steps.values():
            self._unseen_events.saw(step.info)
        for agent_id, step in steps.items():
            if spec.agent_ids is not None and str(agent_id) not in spec.agent_ids:
                continue
            step.action = self._env_action(agent_id, step.action)
            events = [BreakEvent(
                kind=kind, reason=reason, pid=os.getpid(), agent_id=str(agent_id),
                episode_id=episode_id(episode), env_step=env_t(episode),
                value=value, action=step.action, reward=step.reward, info=dict(step.info))
                for kind, reason, value in _step_events(spec, agent_id, step)]
            if len(events) > 1:  # one stop per step: the first event names the others
                events[0].extra["also"] = [event.reason for event in events[1:]]
            for number, event in enumerate(events):
                catch(event, self._mode(event.reason), spec.token, spec.max_stops, {
                    "episode": episode, "agent_id": agent_id, "obs": step.obs,
                    "action": step.action, "reward": step.reward, "info": step.info},
                    hook=spec.breakpoint_hook, may_stop=number == 0)
                self._caught(event)

    def _mode(self, reason: str) -> str:
        """How an event caught now is handled: the settings' mode, or under
        attach_remote(when=...) a stop once the IDE attached (a log line after the timeout)."""
        attach = self.settings.attach
        if attach is None:
            return self.settings.mode
        attached = wait_for_ide(attach.endpoint, f"EnvRunner {attach.runner_index}", reason)
        return "break" if attached else "log"

    def on_episode_end(self, *, env_runner=None, worker=None, **kwargs) -> None:
        if self.settings.attach is not None and not is_target(
                env_runner or worker, self.settings.attach.runner_index):
            return
        events, agents = self._unseen_events.episode_ended(), self._unseen_agents.episode_ended()
        if events:
            self.settings.warn(
                f"break_on: no info of the first {EPISODES_BEFORE_SAYING} episodes has had "
                f"{events} (info keys seen: {sorted(self._unseen_events.seen)}); "
                "break_on(events=...) fires when info[name] is truthy, so check the event "
                "names.")
        if agents:
            self.settings.warn(
                f"break_on(agent_ids=...) names {agents}, which no step of the first "
                f"{EPISODES_BEFORE_SAYING} episodes has had (agents seen: "
                f"{sorted(self._unseen_agents.seen)}), so their conditions are never checked; "
                "check the agent ids.")

    # -- learner side: runs in the driver, after each training iteration --

    def on_train_result(self, *, result: dict, **kwargs) -> None:
        spec = self.settings
        iteration = result.get("training_iteration")
        received = self._receive()
        if self._remote_events:  # RLlib's convention: this iteration's, and _lifetime
            result["break_on"] = {"remote_events": received,
                                  "remote_events_lifetime": self._remote_events}
        if spec.attach is not None:  # attach_remote(when=...): env-step conditions only
            return
        for module_id, stats in learner_stats(result).items():
            for kind, reason, value in self._learner_events(module_id, stats):
                event = BreakEvent(kind=kind, reason=reason, pid=os.getpid(),
                                   module_id=module_id, iteration=iteration, value=value)
                catch(event, spec.mode, spec.token, spec.max_stops,
                      {"stats": {name: stat.value for name, stat in stats.items()}},
                      hook=spec.breakpoint_hook)

    def _learner_events(self, module_id: str, stats: dict) -> list[tuple[str, str, float]]:
        spec = self.settings
        found = []
        for name, stat, factor in (("loss", main_loss(stats), spec.loss_spike),
                                   ("kl", stats.get("kl"), spec.kl_spike)):
            if stat is None:
                continue
            value, label = stat.value, f"{name} ({stat.raw_key})"
            if spec.non_finite and not math.isfinite(value):
                found.append((f"non_finite_{name}", f"{module_id}: non-finite {label} {value}",
                              value))
                continue
            history = self._history[(name, module_id)]
            running = spiked_over(history, value, factor)
            if running is not None:
                reason = (f"{module_id}: {label} {value:.4g} > {factor} x running mean "
                          f"|{name}| {running:.4g} (last {len(history)} iterations)")
                found.append((f"{name}_spike", reason, value))
            history.append(value)
        return found


def spiked_over(history, value: float, factor: float | None) -> float | None:
    """The mean absolute value of ``history`` when ``value`` exceeds ``factor`` times it
    (``history`` holding at least ``MIN_SPIKE_HISTORY`` values), else None."""
    if factor is None or len(history) < MIN_SPIKE_HISTORY:
        return None
    running = sum(abs(v) for v in history) / len(history)
    return running if running > 0 and abs(value) > factor * running else None


__all__ = [
    "ActionCondition",
    "BreakOnCallback",
    "BreakOnSettings",
    "BreakOnWarning",
    "has_non_finite",
    "spiked_over",
]
