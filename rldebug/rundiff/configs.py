"""Two runs' configs side by side: only what differs, RLlib's defaults filled in.

A run's ``params.json`` holds what the run was given: a whole AlgorithmConfig
(``rldebug run``, Tune with a config object) or just the keys a script set
(``tune.run("PPO", config={"lr": ...})``). Keys one side does not hold take the
algorithm's RLlib 2.60 default, so ``lr`` set to the default on one side and left
out on the other is no difference, and a key set on one side only shows the
default it is compared with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from rldebug.shapes.configs import (
    combined_callback_names,
    default_config,
    default_model_config,
    family_from_config,
    model_config_fields,
    without_address,
)

# the longest value a row shows (a longer one is cut with "…")
SHOWN_VALUE = 60
# RLlib's "not set" for a deprecated setting (ray.rllib.utils.deprecation.DEPRECATED_VALUE)
DEPRECATED_VALUE = -1
# settings RLlib's build (AlgorithmConfig.validate) sets where a config left them at
# DEPRECATED_VALUE: a config restored from a checkpoint holds what the build chose
SET_AT_BUILD = frozenset({"simple_optimizer"})
# Algorithms whose default configs a side's keys are matched against, when the
# trial directory's name (Tune: ``PPO_<env>_<id>``) does not say.
KNOWN_ALGORITHMS = ("PPO", "APPO", "IMPALA", "DQN", "SAC")


@dataclass
class ConfigRow:
    key: str
    a: Any
    b: Any
    a_default: bool  # the value on side a is RLlib's default (not in its params.json)
    b_default: bool
    # side a does not set this inner key and RLlib has no default for it (an env_config
    # key: the env's own default applies), so its value is not known
    a_unset: bool = False
    b_unset: bool = False

    def to_dict(self) -> dict:
        return {"key": self.key, "a": self.a, "b": self.b, "a_is_default": self.a_default,
                "b_is_default": self.b_default, "a_is_unset": self.a_unset,
                "b_is_unset": self.b_unset}

    def shown(self, side: str) -> str:
        """Side ``side``'s value as the report says it."""
        if getattr(self, f"{side}_unset"):
            return "(not set)"
        value = self.a if side == "a" else self.b
        text = json.dumps(value, default=str) if not isinstance(value, str) else value
        if len(text) > SHOWN_VALUE:
            text = text[:SHOWN_VALUE - 1] + "…"
        return text + (" (default)" if getattr(self, f"{side}_default") else "")


def _is_rldebugs(value: Any) -> bool:
    """One of rldebug's own classes, as params.json names it (``"<class 'rldebug...'>"``)
    or as a config holds it."""
    if isinstance(value, type):
        return value.__module__.split(".")[0] == "rldebug"
    return isinstance(value, str) and value.startswith("<class 'rldebug.")


def _as_given(config: dict) -> dict:
    """The config without what rldebug itself added while it ran (its callbacks, its
    traced Learner class): a traced run and an untraced one do not differ by those."""
    given = dict(config)
    callbacks = given.get("callbacks")
    inner = combined_callback_names(callbacks)  # the old stack's one container of them all
    if inner is not None:
        callbacks = given["callbacks"] = [f"<class '{name}'>" for name in inner]
    if isinstance(callbacks, list) and any(_is_rldebugs(c) for c in callbacks):
        kept = [c for c in callbacks if not _is_rldebugs(c)]
        if kept:
            given["callbacks"] = kept[0] if len(kept) == 1 else kept
        else:
            del given["callbacks"]
    for key in ("callbacks", "_learner_class"):
        if _is_rldebugs(given.get(key)):
            del given[key]
    # the config's own class, which a config restored from a checkpoint holds (the
    # algorithm row says what differs)
    given.pop("class", None)
    model = given.get("_model_config")  # Tune writes a DefaultModelConfig as its repr
    fields = model_config_fields(model) if isinstance(model, str) else None
    if fields is not None:
        given["_model_config"] = fields
    return given


def _normal(value: Any) -> Any:
    """A JSON-comparable form: numbers, strings, lists, dicts; reprs without addresses."""
    text = json.dumps(value, sort_keys=True, default=lambda v: without_address(repr(v)))
    return json.loads(without_address(text))


@cache
def _defaults(name: str) -> dict:
    """The algorithm's default config in comparable form (read-only: it is cached)."""
    try:
        config = default_config(name)
    except ValueError:  # an unknown or unimportable algorithm: no defaults
        return {}
    to_dict = getattr(config, "to_dict", None)
    defaults = _normal(to_dict() if callable(to_dict) else dict(config))
    if isinstance(defaults.get("_model_config"), dict):  # the new stack's model config
        defaults["_model_config"] = {**_normal(default_model_config()),
                                     **defaults["_model_config"]}
    return defaults


def algorithm_of(config: dict | None, trial_name: str = "") -> str | None:
    """The algorithm a run trained: from Tune's trial name, else from the keys only its
    algorithm sets, else the default config whose keys match the run's best."""
    prefix = trial_name.split("_", 1)[0]
    if prefix in KNOWN_ALGORITHMS:
        return prefix
    if not config:
        return None
    family = family_from_config(config)  # from its own keys, without importing RLlib
    if family is not None:
        return family.upper()
    keys = set(config)
    scored = []
    for name in KNOWN_ALGORITHMS:
        default_keys = set(_defaults(name))
        if default_keys:
            # keys this algorithm does not know (fewest wins), then overlap
            scored.append((len(keys - default_keys),
                           -len(keys & default_keys) / len(keys | default_keys), name))
    if not scored:
        return None
    unknown, _, best = min(scored)
    return best if unknown <= 0.02 * len(keys) else None


def _single_agent(config: dict) -> dict:
    """``policies={}`` as RLlib builds it, one ``default_policy`` of an inferred spec: a
    params.json written before the build and one written after do not differ by it."""
    if config.get("policies") == {}:
        return {**config, "policies": {"default_policy": [None, None, None, None]}}
    return config


def _rows(key: str, a: Any, b: Any, a_default: bool, b_default: bool,
          default: Any) -> list[ConfigRow]:
    """The row for ``key``, or where both sides are dicts (a model config, an env_config,
    the policies), one row per inner key that differs (``model.fcnet_hiddens``); an inner
    key one side leaves out takes the default's (RLlib's model defaults), else None."""
    if a == b:
        return []
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [ConfigRow(key, a, b, a_default, b_default)]
    inner = default if isinstance(default, dict) else {}
    rows = []
    for name in sorted(set(a) | set(b), key=str):
        found = _rows(f"{key}.{name}", a.get(name, inner.get(name)),
                      b.get(name, inner.get(name)), a_default or name not in a,
                      b_default or name not in b, inner.get(name))
        if name not in inner:  # no RLlib default: a side that leaves it out leaves it unset
            for row in found:
                if row.key == f"{key}.{name}":  # this key's own row, not an inner key's
                    row.a_unset, row.b_unset = name not in a, name not in b
        rows += found
    return rows


def config_rows(config_a: dict | None, config_b: dict | None, algorithm_a: str | None,
                algorithm_b: str | None) -> list[ConfigRow]:
    """The settings whose values differ between the two configs, defaults filled in; a
    dict-valued setting by its inner keys (``env_config.size``)."""
    a = _single_agent(_normal(_as_given(config_a or {})))
    b = _single_agent(_normal(_as_given(config_b or {})))
    # RLlib's defaults fill only keys one config lacks, at the top or inside a dict
    # (params.json usually holds them all): without such keys, RLlib is not imported.
    defaults_a = _defaults(algorithm_a) if algorithm_a and _lacks(a, b) else {}
    defaults_b = _defaults(algorithm_b) if algorithm_b and _lacks(b, a) else {}
    rows = []
    for key in sorted(set(a) | set(b)):
        if key in SET_AT_BUILD and DEPRECATED_VALUE in (a.get(key), b.get(key)):
            continue  # one params.json written before the build, one after
        rows += _rows(key, a.get(key, defaults_a.get(key)), b.get(key, defaults_b.get(key)),
                      key not in a, key not in b,
                      defaults_a.get(key) if key in defaults_a else defaults_b.get(key))
    if algorithm_a != algorithm_b:
        rows.insert(0, ConfigRow("(algorithm)", algorithm_a, algorithm_b, False, False))
    return rows


def value_at(config: dict | None, key: str) -> Any:
    """The value a config row's ``key`` names (``env_config.seed``: an inner key), as the
    row shows it; None where the config lacks it."""
    node: Any = _normal(_as_given(config or {}))
    for part in key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _lacks(config: dict, other: dict) -> bool:
    """``config`` lacks a key ``other`` has, at the top or inside a dict both hold."""
    return bool(set(other) - set(config)) or any(
        isinstance(config.get(key), dict) and isinstance(value, dict) and
        _lacks(config[key], value) for key, value in other.items())


__all__ = ["KNOWN_ALGORITHMS", "ConfigRow", "algorithm_of", "config_rows", "value_at"]
