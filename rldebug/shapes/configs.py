"""The shape of an AlgorithmConfig on disk, and how to build one back from it.

A run's ``params.json`` (Tune's and ``rldebug run``'s) holds ``config.to_dict()``
written as JSON: numbers, strings, lists and dicts survive; classes and functions
(an env class, ``policy_mapping_fn``, callbacks) become their ``repr``. RLlib 2.60's
``AlgorithmConfig.update_from_dict`` takes the rest back (checked key by key in
``tests/test_verify_fix.py``). ``rldebug run`` also stores the config itself
(:data:`CONFIG_PICKLE`, cloudpickled), which carries the classes and functions.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rldebug.usage import UsageError

# Written by rldebug.run next to params.json: the AlgorithmConfig as given, cloudpickled.
CONFIG_PICKLE = "rldebug_config.pkl"
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


def _is_repr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


def config_from_params(algorithm: str, params: Mapping[str, Any]):
    """``algorithm``'s config with the settings of a run's ``params.json`` applied.

    :raises ValueError: when a setting was written as the ``repr`` of a class or
        function other than RLlib's default (an env class, a mapping function): JSON
        does not carry it. The message names the keys and how to pass the config.
    """
    config = default_config(algorithm)
    defaults = config.to_dict()
    settings, lost = {}, []
    for key, value in params.items():
        if _is_repr(value):
            if without_address(value) != without_address(repr(defaults.get(key))):
                lost.append(key)
            continue  # RLlib's default, written as its repr
        settings[key] = value
    if lost:
        raise UsageError(
            f"The run's params.json holds {', '.join(sorted(lost))} only as text (a class "
            "or function JSON cannot carry), so its config cannot be rebuilt from it. Pass "
            "the config: --config my_file.py:make_config (a function returning the "
            "AlgorithmConfig), or train with rldebug.run, which stores it "
            f"({CONFIG_PICKLE}).")
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


__all__ = ["CONFIG_PICKLE", "config_from_params", "default_config", "family_from_config",
           "stack_from_config", "store_config", "stored_config", "without_address"]
