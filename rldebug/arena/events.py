"""``ArenaEvents``: per-episode counts of agent1's new fields and of collisions.

Counted from the events the MultiAgentArena puts in ``infos`` (``new_field``,
``collision``), never guessed from reward values. On an env whose infos carry
no such events it warns once, naming the missing keys, and logs nothing
(rather than logging zeros that look like a real measurement).
"""

from __future__ import annotations

import logging
import warnings

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.callbacks.info_events import MissingEventsWarning
from rldebug.shapes.episodes import (
    finish_episode_means,
    last_step,
    log_episode_value,
    store,
    sub_env_failed,
)

logger = logging.getLogger(__name__)
_KEY = "_rldebug_arena_events"


class ArenaEvents(RLlibCallback):
    """Count agent1's newly discovered fields and the collisions of each episode.

    New stack result keys: ``env_runners/arena/new_fields_mean|_min|_max`` and
    ``env_runners/arena/collisions_mean|_min|_max``; old stack:
    ``env_runners/custom_metrics/arena/new_fields_mean`` etc.
    """

    explorer = "agent1"
    events = ("new_field", "collision")

    def __init__(self):
        super().__init__()
        self._warned = False

    def on_episode_step(self, *, episode, **kwargs) -> None:
        infos = {aid: step.info for aid, step in last_step(episode).items()}
        counts = store(episode).setdefault(_KEY, {"new_fields": 0, "collisions": 0,
                                                          "missing": set()})
        explorer_info = infos.get(self.explorer, {})
        missing = [e for e in self.events if e not in explorer_info]
        if missing:
            counts["missing"].update(missing)
            self._warn_missing(missing, infos)
            return
        counts["new_fields"] += int(bool(explorer_info["new_field"]))
        counts["collisions"] += int(bool(explorer_info["collision"]))

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        if sub_env_failed(episode):
            return
        counts = store(episode).pop(_KEY, None)
        if counts is None or counts["missing"]:
            return
        log_episode_value(episode, metrics_logger, ("arena", "new_fields"), counts["new_fields"])
        log_episode_value(episode, metrics_logger, ("arena", "collisions"), counts["collisions"])

    def on_train_result(self, *, result, **kwargs) -> None:
        finish_episode_means(result)  # each mean over the iteration's episodes

    def _warn_missing(self, missing: list[str], infos: dict) -> None:
        if self._warned:
            return
        self._warned = True
        seen = {aid: sorted(info) for aid, info in infos.items()}
        message = (
            f"ArenaEvents: the env's infos for {self.explorer!r} lack the event key(s) "
            f"{missing} (infos seen: {seen}). ArenaEvents counts events the env reports "
            "and logs nothing for such episodes. Use rldebug.arena.MultiAgentArena, or "
            "put {'new_field': bool, 'collision': bool} in your env's infos."
        )
        warnings.warn(message, MissingEventsWarning, stacklevel=2)
        logger.warning(message)


__all__ = ["ArenaEvents"]
