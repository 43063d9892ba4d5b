"""How RLlib 2.60 asks a policy mapping fn which module an agent acts with, asked the
same way by rldebug's tools (explain, inspect, probes, preflight, parity).

RLlib asks once per agent per episode, with the episode: the new API stack as
``fn(agent_id, episode)`` with a ``MultiAgentEpisode``
(``MultiAgentEpisode.module_for``), the old one as ``fn(agent_id, episode,
worker=worker)`` with an ``EpisodeV2`` (``EpisodeV2.policy_for``). A function may read
the episode, as RLlib's self-play examples do (``hash(episode.id_) % 2``), and then
sends an agent to different modules in different episodes.

rldebug asks each agent :data:`UNREAD_ASKS` times, with a fresh episode of the stack's
kind each time; when the function read an episode, or answered differently (one that
picks at random, as Ray 1.x's ``multi_agent_cartpole`` did with ``random.choice``), it
asks :data:`MAPPING_EPISODES` times in all to see every module it picks. Answers are
kept per function (a function with side effects, such as a league's match statistics,
is asked again only for agents it was not asked about).
"""

from __future__ import annotations

import random
import weakref
from typing import Any

from rldebug.usage import UsageTypeError

#: How many fresh episodes a policy mapping fn that reads the episode is asked with, per
#: agent: one of two modules is missed with a chance of 2**-63, one of six with 5e-5.
MAPPING_EPISODES = 64
#: How many times one that does not read the episode is asked, per agent: a random pick
#: between two modules gives one answer all these times with a chance of 2**-7.
UNREAD_ASKS = 8

_ANSWERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_IDS = random.Random()  # the old stack's episode ids, as EpisodeV2 draws them
_EPISODE_CLASSES: dict = {}


def _watched(base: type) -> type:
    """``base`` (RLlib's episode class) with a flag that says whether anything read it
    after it was built: whether the mapping fn looked at the episode."""
    if base not in _EPISODE_CLASSES:
        class StandInEpisode(base):
            _RLDEBUG_STAND_IN = True

            def __getattribute__(self, name):
                if name != "__dict__" and object.__getattribute__(self, "__dict__").get(
                        "_rldebug_watching"):
                    object.__getattribute__(self, "__dict__")["_rldebug_read"] = True
                return super().__getattribute__(name)

        StandInEpisode.__name__ = StandInEpisode.__qualname__ = base.__name__
        _EPISODE_CLASSES[base] = StandInEpisode
    return _EPISODE_CLASSES[base]


def is_stand_in(episode: Any) -> bool:
    """Whether ``episode`` is one rldebug built to ask a mapping fn (not one RLlib sampled);
    read from its type, so the episode does not count as read."""
    return bool(getattr(type(episode), "_RLDEBUG_STAND_IN", False))


def _episode(old_stack: bool, mapping_fn, worker):
    if old_stack:
        from ray.rllib.evaluation.episode_v2 import EpisodeV2

        state = random.getstate()  # EpisodeV2 draws its id from Python's global RNG:
        try:                         # left as it was, the id drawn from our own
            episode = _watched(EpisodeV2)(0, {}, mapping_fn, worker=worker)
        finally:
            random.setstate(state)
        episode.episode_id = _IDS.randrange(int(1e18))
    else:
        from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

        episode = _watched(MultiAgentEpisode)()  # its id_ is a uuid4: no global RNG
    episode.__dict__["_rldebug_watching"] = True
    return episode


def _ask(mapping_fn, agent_id, old_stack: bool, worker) -> tuple[Any, bool]:
    """One answer, asked as the stack asks: ``(module, whether the episode was read)``."""
    episode = _episode(old_stack, mapping_fn, worker)
    module = (mapping_fn(agent_id, episode, worker=worker) if old_stack
              else mapping_fn(agent_id, episode))
    try:
        hash(module)
    except TypeError:
        raise UsageTypeError(f"it returned {module!r:.60}, which is no module id (a "
                             "str)") from None
    return module, bool(episode.__dict__.get("_rldebug_read"))


def _answers_of(mapping_fn) -> dict | None:
    try:
        return _ANSWERS.setdefault(mapping_fn, {})
    except TypeError:  # a callable that takes no weak reference: asked every time
        return None


def agent_modules(mapping_fn, agents: list, *, old_stack: bool = False,
                  worker: Any = None) -> tuple[dict, str | None]:
    """Which modules the policy mapping fn sends each agent to, asked as RLlib asks it
    (see the module docstring). ``({agent: [module, ...]}, error or None)``: every module
    it picked, in the order of their names (one for a function that always answers the
    same). User code: its exception is reported in the error string (and the agents
    before it are kept), not raised.

    :param old_stack: ask as the old stack's RolloutWorker does (an ``EpisodeV2`` and
        ``worker=``), else as the new stack's EnvRunner does.
    :param worker: the old stack's RolloutWorker handed to the function (None before one
        is built).
    """
    answers = _answers_of(mapping_fn)
    found = {}
    for aid in agents:
        key = (aid, old_stack)
        if answers is not None and key in answers:
            found[aid] = answers[key]
            continue
        try:
            module, read = _ask(mapping_fn, aid, old_stack, worker)
            picked, asked = {module}, 1
            while asked < (MAPPING_EPISODES if read or len(picked) > 1 else UNREAD_ASKS):
                picked.add(_ask(mapping_fn, aid, old_stack, worker)[0])
                asked += 1
        except Exception as err:  # noqa: BLE001 - user code; reported, not raised
            how = ("policy_mapping_fn(agent_id, episode, worker=...) with a fresh EpisodeV2"
                   if old_stack else "policy_mapping_fn(agent_id, episode) with a fresh "
                   "MultiAgentEpisode")
            return found, (f"the policy mapping fn failed for agent {aid!r}, asked as RLlib "
                           f"asks it, {how} ({type(err).__name__}: {err})")
        found[aid] = sorted(picked, key=str)
        if answers is not None:
            answers[key] = found[aid]
    return found, None


def as_shown(modules: list):
    """An agent's modules (``agent_modules``'s list) as the tools show them: the module
    id, or the list of them for an agent the mapping fn sends to several."""
    return modules[0] if len(modules) == 1 else list(modules)


def per_episode_text(modules: dict) -> str:
    """"The policy mapping fn sends agent 0 to 'main' or 'opponent' depending on the
    episode" for the agents of ``modules`` (``agent_modules``'s) with more than one."""
    varying = {aid: ms for aid, ms in modules.items() if len(ms) > 1}
    return "The policy mapping fn sends " + "; ".join(
        f"agent {aid!r} to {' or '.join(map(repr, ms))}" for aid, ms in varying.items()) + \
        " depending on the episode"


def map_agents(mapping_fn, agents: list, *, old_stack: bool = False,
               worker: Any = None) -> tuple[dict, str | None]:
    """``({agent: module}, error or None)`` for the agents the policy mapping fn always
    sends to one module (:func:`agent_modules`); an agent it sends to several, episode by
    episode, is left out and named in the error."""
    modules, error = agent_modules(mapping_fn, agents, old_stack=old_stack, worker=worker)
    mapping = {aid: ms[0] for aid, ms in modules.items() if len(ms) == 1}
    if error is None and len(mapping) < len(modules):
        error = per_episode_text(modules)
    return mapping, error


__all__ = ["MAPPING_EPISODES", "agent_modules", "as_shown", "is_stand_in", "map_agents",
           "per_episode_text"]
