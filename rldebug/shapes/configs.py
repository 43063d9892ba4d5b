"""The shape of an AlgorithmConfig on disk, and how to build one back from it.

A run's ``params.json`` (Tune's and ``rldebug run``'s) holds ``config.to_dict()``
written as JSON: numbers, strings, lists and dicts survive; classes and functions
(an env class, ``policy_mapping_fn``, callbacks) become their ``repr``. RLlib 2.60's
``AlgorithmConfig.update_from_dict`` takes the rest back (checked key by key in
``tests/test_verify_fix.py``). ``rldebug run`` also stores the config itself
(:data:`CONFIG_PICKLE`, cloudpickled), which carries the classes and functions.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rldebug.usage import UsageError

# Written by rldebug.run next to params.json: the AlgorithmConfig as given, cloudpickled.
CONFIG_PICKLE = "rldebug_config.pkl"
# The old stack's one callbacks class that rldebug.add_callbacks makes of several
# (RLlib's make_multi_callbacks container), named for the classes it runs, as a config
# dict or params.json shows it: <class 'rldebug.callbacks.compose.combined[a.B, c.D]'>.
COMBINED_CALLBACKS_MODULE = "rldebug.callbacks.compose"
COMBINED_CALLBACKS_NAME = "combined"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def default_config(algorithm: str):
    """A fresh ``AlgorithmConfig`` of ``algorithm`` (``"PPO"``, ``"DQN"``, ...) with RLlib's
    defaults. :raises ValueError: for an algorithm RLlib does not register."""
    from ray.tune.registry import get_trainable_cls

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gymnasium's space warnings while RLlib imports
            return get_trainable_cls(algorithm).get_default_config()
    except Exception as err:  # noqa: BLE001 - Tune raises TuneError/ValueError/ImportError
        raise UsageError(f"RLlib has no algorithm {algorithm!r} ({type(err).__name__}: "
                         f"{err}); name one of PPO, APPO, IMPALA, DQN, SAC, ...") from None


def without_address(text: str) -> str:
    """``repr`` text without its memory address (``<function f at 0x7f..>`` -> ``<function f>``),
    so two runs' reprs of the same object compare equal."""
    return _ADDRESS.sub("", text)


# What JSON writes for an object it cannot hold: its repr (a class, a function, a
# method, or any object's default repr with its address); a text such as "<unk>" is data.
_REPR = re.compile(r"<(class|function|bound method|built-in function|module) .*>"
                   r"|<.* object at 0x[0-9a-fA-F]+>|<.* object>")


def _is_repr(value: Any) -> bool:
    return isinstance(value, str) and _REPR.fullmatch(value) is not None


_CLASS_REPR = re.compile(r"<class '([\w.]+)\.(\w+)'>")


def _class_from_repr(text: str) -> Any:
    """The class ``<class 'package.module.Name'>`` names, imported again; None when the
    text names no importable top-level class (a function's repr has no module)."""
    import importlib

    match = _CLASS_REPR.fullmatch(without_address(text))
    if match is None:
        return None
    try:
        found = getattr(importlib.import_module(match.group(1)), match.group(2), None)
    except Exception:  # noqa: BLE001 - any module that cannot be imported here
        return None
    return found if isinstance(found, type) else None


class _Lost(Exception):
    """A setting JSON kept only as text that cannot be rebuilt here."""


def _as_written(value: Any) -> str:
    """``value`` as params.json writes it (classes and functions as their repr), without
    memory addresses: two settings compare equal when they are written the same."""
    return without_address(json.dumps(value, sort_keys=True, default=repr))


def _rebuilt(value: Any, default: Any) -> Any:
    """The setting ``value`` of params.json as a config takes it: RLlib's ``default``
    where it was written as that; a class written as its repr imported again, also
    inside lists and dicts (callback classes, ``stats_cls_lookup``).

    :raises _Lost: for a function's repr, or a class not importable here."""
    if _as_written(value) == _as_written(default):
        return default
    if _is_repr(value):
        found = _class_from_repr(value)
        if found is None:
            raise _Lost
        return found
    if isinstance(value, list):
        return [_rebuilt(v, None) for v in value]
    if isinstance(value, dict):
        defaults = default if isinstance(default, dict) else {}
        return {k: _rebuilt(v, defaults.get(k)) for k, v in value.items()}
    return value


def _model_config_from_repr(text: str):
    """RLlib's ``DefaultModelConfig`` from its repr (its fields are literals), as JSON
    writes it; a repr that is not one is refused with the way out."""
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    refused = UsageError(f"The run's params.json holds its model config as text RLlib's "
                         f"DefaultModelConfig cannot be read back from ({text[:60]}...). "
                         "Pass the config: --config my_file.py:make_config.")
    fields = model_config_fields(text)
    if fields is None:
        raise refused
    try:
        return DefaultModelConfig(**fields)
    except TypeError:  # a field that is not the config's
        raise refused from None


def model_config_fields(text: str) -> dict[str, Any] | None:
    """The fields of a ``DefaultModelConfig(...)`` repr, as Tune's params.json writes a
    model config (None when the text is not one, or a field is no literal)."""
    import ast

    try:
        call = ast.parse(text, mode="eval").body
        if not isinstance(call, ast.Call) or call.args or \
                getattr(call.func, "id", None) != "DefaultModelConfig":
            return None
        return {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (SyntaxError, ValueError):
        return None


def default_model_config() -> dict[str, Any]:
    """RLlib's ``DefaultModelConfig`` as a dict: what the new stack's default RLModules
    take for every key a config's ``model_config`` (``_model_config`` in its dict) leaves
    out."""
    import dataclasses

    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return dataclasses.asdict(DefaultModelConfig())


def config_from_params(algorithm: str, params: Mapping[str, Any]):
    """``algorithm``'s config with the settings of a run's ``params.json`` applied.

    A class written as its repr (an env class, callback classes) is imported again by
    its module and name.

    :raises ValueError: when a setting was written as the ``repr`` of a function, or of
        a class that cannot be imported here (and is not RLlib's default): JSON does not
        carry it. The message names the keys and how to pass the config.
    """
    config = default_config(algorithm)
    defaults = config.to_dict()
    settings, lost = {}, []
    for key, value in params.items():
        if key == "policies" and value == {}:
            continue  # no policy at all: not a config RLlib trains; a params.json stripped
            # of its nulls (the stored benchmark runs) writes RLlib's default so
        if isinstance(value, str) and value.startswith("DefaultModelConfig("):
            settings[key] = _model_config_from_repr(value)  # as Tune's params.json writes it
            continue
        try:
            settings[key] = _rebuilt(value, defaults.get(key))
        except _Lost:
            lost.append(key)
    if lost:
        raise UsageError(
            f"The run's params.json holds {', '.join(sorted(lost))} only as text (a "
            "function, or a class not importable here, which JSON cannot carry), so its "
            "config cannot be rebuilt from it. Pass the config: --config "
            "my_file.py:make_config (a function returning the AlgorithmConfig), or train "
            f"with rldebug.run, which stores it ({CONFIG_PICKLE}).")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return config.update_from_dict(settings)


def stored_config(logdir: str | Path):
    """The AlgorithmConfig ``rldebug.run`` stored in ``logdir``, or None when there is none.

    The file is a pickle: it is loaded only when asked (``rldebug doctor --verify``
    trains the run again, which runs its code anyway)."""
    path = Path(logdir) / CONFIG_PICKLE
    if not path.is_file():
        return None
    import cloudpickle

    with open(path, "rb") as handle:
        return cloudpickle.load(handle)


def store_config(config, logdir: str | Path) -> Path | None:
    """Cloudpickle ``config`` to ``logdir``/:data:`CONFIG_PICKLE`; None (and a warning)
    when it cannot be pickled (then only ``params.json`` describes the run)."""
    import cloudpickle

    path = Path(logdir) / CONFIG_PICKLE
    try:
        data = cloudpickle.dumps(config)
    except Exception as err:  # noqa: BLE001 - whatever the user's objects raise
        warnings.warn(f"The config cannot be pickled ({type(err).__name__}: {err}); only "
                      "params.json describes this run, and `rldebug doctor --verify` "
                      "will need --config to rebuild it.", stacklevel=3)
        return None
    path.write_bytes(data)
    return path


def family_from_config(config: Mapping[str, Any] | None) -> str | None:
    """The algorithm family (``"ppo"``, ``"appo"``, ``"impala"``, ``"dqn"``, ``"sac"``) a config
    dict (``params.json``, ``config.to_dict()``) belongs to, read from keys only its
    algorithm's ``AlgorithmConfig.__init__`` sets; None when none matches."""
    if not config:
        return None
    if "initial_alpha" in config or "target_entropy" in config:
        return "sac"
    if "double_q" in config or "dueling" in config:
        return "dqn"
    if config.get("vtrace") is not None:
        return "appo" if "target_worker_clipping" in config or "use_kl_loss" in config \
            else "impala"
    if "kl_target" in config and "vf_clip_param" in config:
        return "ppo"
    return None


def stack_from_config(config: Mapping[str, Any] | None) -> str | None:
    """``"new"`` or ``"old"``: the API stack a config dict asks for (RLModule and Learner,
    or not); None when it does not say."""
    flag = (config or {}).get("enable_rl_module_and_learner")
    return None if not isinstance(flag, bool) else "new" if flag else "old"


def module_ids_from_config(config: Mapping[str, Any] | None) -> list[str] | None:
    """The module (policy) ids a config dict (``params.json``, ``config.to_dict()``)
    declares in ``policies`` (a dict or a list of ids); None where it does not say, and
    for ``policies={}``, which is what a params.json stripped of its nulls keeps of
    ``{"pol1": [None, None, None, None], ...}``."""
    policies = (config or {}).get("policies")
    if not policies:
        return None
    if isinstance(policies, (dict, list, tuple)) and all(isinstance(p, str) for p in policies):
        return sorted(policies)
    return None


def combined_callback_names(value: Any) -> list[str] | None:
    """The classes (``module.Name``) a combined callbacks container runs, read from its
    repr in a config dict or params.json; None for any other value."""
    prefix = f"<class '{COMBINED_CALLBACKS_MODULE}.{COMBINED_CALLBACKS_NAME}["
    suffix = "]'>"
    if not (isinstance(value, str) and value.startswith(prefix) and value.endswith(suffix)):
        return None
    return value[len(prefix):-len(suffix)].split(", ")


def schedule_timesteps(setting: Any) -> list[float]:
    """The timesteps of a ``[[timestep, value], ...]`` schedule of two or more pairs, in
    the order given; [] for anything else (a number, a malformed list)."""
    if not isinstance(setting, (list, tuple)) or len(setting) < 2 or not all(
            isinstance(pair, (list, tuple)) and len(pair) == 2
            and isinstance(pair[0], (int, float)) and not isinstance(pair[0], bool)
            for pair in setting):
        return []
    return [pair[0] for pair in setting]


def schedule_values(setting: Any) -> list[float]:
    """The values a setting takes: itself, or those of a ``[[timestep, value], ...]``
    schedule (RLlib 2.60's new stack takes lr, entropy_coeff and epsilon so); [] for
    anything else."""
    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if number(setting):
        return [float(setting)]
    if isinstance(setting, (list, tuple)) and all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 and number(pair[1])
            for pair in setting):
        return [float(pair[1]) for pair in setting]
    return []


def module_overrides(config: Any) -> dict[Any, dict]:
    """``{module_id: its own settings}``: ``algorithm_config_overrides_per_module`` (new
    stack; RLlib's Learner builds a module's config from the config and these,
    ``get_config_for_module``), each as a dict of its own."""
    overrides = getattr(config, "algorithm_config_overrides_per_module", None) or {}
    return {module: dict(own if isinstance(own, dict) else vars(own))
            for module, own in overrides.items()}


def set_per_module(config: Any, keys: tuple[str, ...]) -> bool:
    """Whether a module's own settings (:func:`module_overrides`) set one of ``keys``:
    the config's own value is then not every module's."""
    return any(any(key in own for key in keys) for own in module_overrides(config).values())


__all__ = [
    "COMBINED_CALLBACKS_MODULE",
    "COMBINED_CALLBACKS_NAME",
    "CONFIG_PICKLE",
    "combined_callback_names",
    "config_from_params",
    "default_config",
    "default_model_config",
    "family_from_config",
    "model_config_fields",
    "module_ids_from_config",
    "module_overrides",
    "schedule_timesteps",
    "schedule_values",
    "set_per_module",
    "stack_from_config",
    "store_config",
    "stored_config",
    "without_address",
]
