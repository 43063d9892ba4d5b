"""Names a callback waits for in the env's steps (info keys, agent ids) that none has had.

A misspelt event name or agent id makes a callback silently count or check nothing. A
rare event is also absent from the first episodes, so a name is called unseen only after
:data:`EPISODES_BEFORE_SAYING` finished episodes in one EnvRunner, once, and only when
other names of its kind were seen (an env whose infos are always ``{}`` says nothing
about the names).
"""

from __future__ import annotations

from collections.abc import Iterable

EPISODES_BEFORE_SAYING = 20


class Unseen:
    """Watch for ``wanted`` names among the names steps show.

    >>> watch = Unseen(["goal"])
    >>> watch.saw(["at_edge"])
    >>> [watch.episode_ended() for _ in range(EPISODES_BEFORE_SAYING)][-1]
    ['goal']
    """

    def __init__(self, wanted: Iterable, after: int = EPISODES_BEFORE_SAYING):
        self.wanted = [str(name) for name in wanted]
        self.seen: set[str] = set()
        self.episodes = 0
        self._after = after

    def saw(self, names: Iterable) -> None:
        self.seen.update(str(name) for name in names)

    def episode_ended(self) -> list[str] | None:
        """The wanted names no step has shown, at the episode that completes the count
        (None before it, after it, and when every name was seen or nothing was)."""
        self.episodes += 1
        if self.episodes != self._after or not self.seen:
            return None
        return [name for name in self.wanted if name not in self.seen] or None


__all__ = ["EPISODES_BEFORE_SAYING", "Unseen"]
