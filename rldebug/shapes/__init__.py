"""rldebug's one reading of RLlib's data shapes, used by every tool.

- :mod:`.episodes` — what a callback's episode holds (single-agent, multi-agent, old stack).
- :mod:`.results` — result dicts: returns, env steps, learner statistics under normalised names.
- :mod:`.outputs` — what an RLModule or Policy makes of an observation, per algorithm family.
- :mod:`.env_meta` — what an env declares about itself (action names, info events, agents).
- :mod:`.env_problems` — what the passive env check counted, as results carry it.
- :mod:`.errors` — how RLlib re-raises an error: :func:`~.errors.root_cause`.

It imports no other rldebug package; every tool builds on it.
"""
