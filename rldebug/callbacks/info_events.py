"""``InfoEvents``: per agent and episode, how often each event flag in ``infos`` was set.

Any env can report events as boolean flags in its ``infos`` (a collision, a goal
reached, an illegal move); this callback counts, per episode and agent, the
steps on which each flag was truthy, and logs the counts' mean/min/max per
iteration. The flags are the ones named in ``events``, else the ones the env
class declares as ``INFO_EVENTS`` (see :mod:`rldebug.shapes.env_meta`). A step
whose info lacks an event counts 0 for it; an event no info has had in the first
20 episodes of an EnvRunner, while other keys have, is warned about once, naming the
keys the env does report (:mod:`rldebug.callbacks.unseen`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.callbacks.compose import with_settings
from rldebug.callbacks.unseen import EPISODES_BEFORE_SAYING, Unseen
from rldebug.shapes.env_meta import built_env_info_events
from rldebug.shapes.episodes import (
    finish_episode_means,
    last_step,
    log_episode_value,
    store,
    sub_env_failed,
)
from rldebug.usage import UsageError

logger = logging.getLogger(__name__)
_KEY = "_rldebug_info_events"


class MissingEventsWarning(UserWarning):
    """The env's infos do not carry the events a callback counts."""


@dataclass(frozen=True)
class InfoEventsSettings:
    """The info keys :class:`InfoEvents` counts (None: the env's declared ``INFO_EVENTS``)."""

    events: tuple[str, ...] | None = None


class InfoEvents(RLlibCallback):
    """Count info event flags per agent and episode.

    Result keys, new stack: ``env_runners/info_events/<agent>/<event>_mean|_min|_max``;
    old stack: ``env_runners/custom_metrics/info_events/<agent>/<event>_mean`` etc.
    Configure with ``InfoEvents.counting("goal", "crash")``; used as is, it counts
    the env's declared ``INFO_EVENTS``.
    """

    settings: InfoEventsSettings = InfoEventsSettings()

    @classmethod
    def counting(cls, *events: str) -> type[InfoEvents]:
        """A subclass that counts these info keys."""
        if not events or not all(isinstance(e, str) and e for e in events):
            raise UsageError(f"InfoEvents.counting takes one or more info key names, e.g. "
                             f"InfoEvents.counting('collision'), got {events!r}.")
        return with_settings(cls, InfoEventsSettings(events=tuple(events)))

    def __init__(self):
        super().__init__()
        self._events: tuple[str, ...] | None = self.settings.events
        self._warned = False
        self._unseen = Unseen(self._events or ())  # the info keys this runner has seen

    def on_environment_created(self, *, env, **kwargs) -> None:
        self._events = self._events or built_env_info_events(env)
        self._unseen.wanted = list(self._events or ())

    def on_sub_environment_created(self, *, sub_environment, **kwargs) -> None:
        self.on_environment_created(env=sub_environment)

    def on_episode_step(self, *, episode, **kwargs) -> None:
        if not self._events:
            self._warn_nothing_to_count()
            return
        counts = store(episode).setdefault(_KEY, {})
        for agent_id, step in last_step(episode).items():
            # every agent in the step counts, also with an empty info: envs often return
            # {} on the steps nothing happened, and those episodes count 0
            per_event = counts.setdefault(str(agent_id), dict.fromkeys(self._events, 0))
            self._unseen.saw(step.info)
            for event in self._events:
                per_event[event] += int(bool(step.info.get(event, False)))

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        if sub_env_failed(episode):
            return
        counts = store(episode).pop(_KEY, None)
        for agent_id, per_event in (counts or {}).items():
            for event in self._events or ():
                log_episode_value(episode, metrics_logger, ("info_events", agent_id, event),
                                  per_event.get(event, 0))
        never = self._unseen.episode_ended()
        if never:
            self._warn_missing(never)

    def on_train_result(self, *, result, **kwargs) -> None:
        finish_episode_means(result)  # each mean over the iteration's episodes

    def _warn_nothing_to_count(self) -> None:
        self._warn("InfoEvents has no events to count: the env declares no INFO_EVENTS. "
                   "Name them: InfoEvents.counting('collision', ...).")

    def _warn_missing(self, events: list[str]) -> None:
        self._warn(f"InfoEvents: no info of the first {EPISODES_BEFORE_SAYING} episodes has "
                   f"had {', '.join(map(repr, events))} (keys seen: "
                   f"{sorted(self._unseen.seen)}); check the event name. Steps without it "
                   "count 0.")

    def _warn(self, message: str) -> None:
        if self._warned:
            return
        self._warned = True
        warnings.warn(message, MissingEventsWarning, stacklevel=3)
        logger.warning(message)


__all__ = ["InfoEvents", "InfoEventsSettings", "MissingEventsWarning"]
