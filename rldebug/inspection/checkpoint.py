"""``load(path)``: restore an Algorithm (or only its modules) from an RLlib 2.60 checkpoint.

.. warning:: A checkpoint is pickle: loading it runs code stored in it. Only load
   checkpoints from sources you trust.

The algorithm is rebuilt in this process (:func:`rldebug.local_mode` applied to the
stored config), so a checkpoint of a run with remote EnvRunners or Learners loads
without starting actors. Before anything is unpickled, the directory is checked for
the files a checkpoint must have, every JSON file is parsed and every pickle's
structure read, so a wrong path or a truncated copy gets an error that names what is
missing or damaged rather than a pickle traceback. A part RLlib restores only when it
is there (a module's folder, the EnvRunner's connectors) is required too: RLlib's
restore skips it without a word. Tensor shapes are checked by
RLlib's own restore (torch's strict ``load_state_dict``).

What cannot be checked in a plain RLlib checkpoint: altered *values* (bytes
overwritten inside a weight tensor parse and load like the real ones; RLlib writes
no checksums). A checkpoint written by :func:`rldebug.run` is sealed
(:func:`seal_checkpoint`: a SHA-256 of every file in ``rldebug_checksums.json``),
and :func:`load` verifies every file against it; loading an unsealed checkpoint
says once that its values could not be verified.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

from rldebug.usage import UsageError, check_bool, path_argument, user_stacklevel

CHECKPOINT_JSON = "rllib_checkpoint.json"
CHECKSUMS_FILE = "rldebug_checksums.json"
CTOR_FILE = "class_and_ctor_args.pkl"
MODULES_DIR = Path("learner_group") / "learner" / "rl_module"
# The local EnvRunner's connector pipelines (their pieces and saved state, e.g. a
# MeanStdFilter's running statistics).
ENV_TO_MODULE_DIR = Path("env_runner") / "env_to_module_connector"
MODULE_TO_ENV_DIR = Path("env_runner") / "module_to_env_connector"

# What each layout needs (relative to the checkpoint directory).
NEW_STACK_FILES = (CHECKPOINT_JSON, CTOR_FILE, "algorithm_state.pkl",
                   str(MODULES_DIR / CTOR_FILE), str(MODULES_DIR / "metadata.json"))
OLD_STACK_FILES = (CHECKPOINT_JSON, "algorithm_state.pkl", "policies/<policy_id>/policy_state.pkl")
MODULE_FILES = (CTOR_FILE, "metadata.json", "module_state.pkl (or one sub-directory per module)")


class CheckpointError(UsageError):
    """The path is not a loadable RLlib checkpoint; the message names what is missing."""


class UnverifiedCheckpointWarning(UserWarning):
    """A checkpoint without rldebug's checksums: altered weight values cannot be detected."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seal_checkpoint(path: str | Path) -> Path:
    """Write ``rldebug_checksums.json`` (SHA-256 of every file) into a checkpoint directory;
    :func:`load` then verifies every file. Returns the checksums file."""
    root = Path(path)
    sums = {str(p.relative_to(root)): _sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != CHECKSUMS_FILE}
    target = root / CHECKSUMS_FILE
    target.write_text(json.dumps({"algorithm": "sha256", "files": sums}, indent=1) + "\n")
    return target


#: the attribute rldebug.load sets on an Algorithm it restored: the checkpoint's folder
RESTORED_FROM = "_rldebug_restored_from"


def _verify_seal(root: Path) -> bool:
    """Check every file of ``root`` against the seal; False when the checkpoint has none.
    A part of an algorithm checkpoint (its modules' folder, one module's) is checked
    against the seal of the checkpoint it lies in."""
    top = algorithm_checkpoint_of(root) or root
    seal = top / CHECKSUMS_FILE
    if not seal.is_file():
        return False
    try:
        recorded = json.loads(seal.read_text())["files"]
        recorded = {name: digest for name, digest in recorded.items()
                    if (top / name).is_relative_to(root)}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError,
            AttributeError) as err:
        raise CheckpointError(f"{seal} is damaged ({type(err).__name__}: {err}); the "
                              "checkpoint's files cannot be verified. Save it again.") from None
    if not recorded:  # a folder put into the checkpoint after it was sealed
        return False
    changed = [name for name, digest in recorded.items()
               if (top / name).is_file() and _sha256(top / name) != digest]
    missing = [name for name in recorded if not (top / name).is_file()]
    if changed or missing:
        raise CheckpointError(
            f"The checkpoint {top} was changed after rldebug saved it: "
            + "; ".join(part for part in (
                f"files whose contents differ from their checksum: {changed}" if changed else "",
                f"missing files: {missing}" if missing else "") if part)
            + ". Its weights or state would load silently altered; save it again.")
    return True


def _check_json(root: Path) -> None:
    """Parse every JSON file (RLlib reads some of them only partly, or not at all)."""
    for path in sorted(root.rglob("*.json")):
        try:
            json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CheckpointError(
                f"{path.relative_to(root)} in the checkpoint {root} is not valid JSON "
                f"({type(err).__name__}: {err}): it is truncated or corrupt. Save the "
                f"checkpoint again. {_expected()}") from None


def _expected() -> str:
    return (f"An RLlib 2.60 algorithm checkpoint (algo.save_to_path(), new API stack) holds "
            f"{', '.join(NEW_STACK_FILES)} and learner_group/learner/rl_module/<module_id>/"
            f"module_state.pkl per module; an old-API-stack one (algo.save()) holds "
            f"{', '.join(OLD_STACK_FILES)}; an RLModule checkpoint holds "
            f"{', '.join(MODULE_FILES)}.")


def _missing_or_empty(root: Path, names) -> tuple[list[str], list[str]]:
    missing = [n for n in names if not (root / n).is_file()]
    empty = [n for n in names if (root / n).is_file() and (root / n).stat().st_size == 0]
    return missing, empty


def _require(root: Path, names, what: str) -> None:
    missing, empty = _missing_or_empty(root, names)
    if missing or empty:
        problems = []
        if missing:
            problems.append(f"missing {missing}")
        if empty:
            problems.append(f"empty (truncated) {empty}")
        raise CheckpointError(
            f"{root} looks like {what} but is incomplete: {'; '.join(problems)}. "
            f"It was probably copied or written only partly; save it again. {_expected()}")


def _read_info(root: Path) -> dict:
    try:
        return json.loads((root / CHECKPOINT_JSON).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{root / CHECKPOINT_JSON} is not valid JSON ({err}): the "
                              f"checkpoint is truncated or corrupt. {_expected()}") from None


def algorithm_checkpoint_of(path: str | Path, above: int = 4) -> Path | None:
    """The algorithm checkpoint ``path`` is, or lies inside: the nearest of ``path`` and
    the ``above`` directories over it that holds ``rllib_checkpoint.json`` (a module's
    directory, ``learner_group/learner/rl_module/<id>``, is 4 below); None if none does."""
    path = Path(path)
    return next((p for p in (path, *list(path.parents)[:above])
                 if (p / CHECKPOINT_JSON).is_file()), None)


def _not_a_component(root: Path) -> None:
    """Refuse a part of an algorithm checkpoint other than its modules (``learner_group``,
    ``env_runner``, a connector pipeline): it holds RLlib's files too, but no RLModule.
    ``learner_group/learner/rl_module`` and its module directories load as modules."""
    top = algorithm_checkpoint_of(root)  # root holds no rllib_checkpoint.json itself
    if top is None:
        return
    part = root.relative_to(top)
    if MODULES_DIR not in (part, part.parent):
        raise CheckpointError(
            f"{root} is the {str(part)!r} part of the algorithm checkpoint {top}, not a "
            f"checkpoint of its own: pass {str(top)!r} (or {str(top / MODULES_DIR)!r} "
            "for its modules alone).")


def checkpoint_kind(path: str | Path) -> str:
    """``"new"``, ``"old"`` (algorithm checkpoints) or ``"module"``, after checking the files.

    :raises CheckpointError: naming the missing or empty files and what a checkpoint holds.
    """
    root = path_argument(path, "The checkpoint", "a folder")
    if not root.exists():
        raise CheckpointError(f"Checkpoint path {root} does not exist. {_expected()}")
    if not root.is_dir():
        raise CheckpointError(f"Checkpoint path {root} is a file, not a directory. "
                              f"Pass the checkpoint directory itself. {_expected()}")
    if (root / CHECKPOINT_JSON).is_file():
        info = _read_info(root)
        version = str(info.get("checkpoint_version", "0"))
        if version.startswith("1."):
            _require(root, OLD_STACK_FILES[:2], "an old-API-stack algorithm checkpoint")
            policies = [f"policies/{pid}/policy_state.pkl" for pid in info.get("policy_ids", [])]
            _require(root, policies, "an old-API-stack algorithm checkpoint")
            return "old"
        # RLModule checkpoints have no rllib_checkpoint.json: this is an algorithm.
        _require(root, NEW_STACK_FILES, "a new-API-stack algorithm checkpoint")
        modules = [d for d in (root / MODULES_DIR).iterdir() if d.is_dir()]
        _require(root, [str(d.relative_to(root) / f) for d in modules
                        for f in ("module_state.pkl", CTOR_FILE)],
                 "a new-API-stack algorithm checkpoint")
        return "new"
    if (root / CTOR_FILE).is_file() and (root / "metadata.json").is_file():
        _not_a_component(root)
        return "module"
    present = sorted(p.name for p in root.iterdir())[:12]
    inside = _checkpoints_inside(root)
    if inside:
        shown = ", ".join(repr(str(p)) for p in inside[:4]) + (" ..." if len(inside) > 4 else "")
        raise CheckpointError(f"{root} is not a checkpoint but holds "
                              + (f"one: pass it, {shown}." if len(inside) == 1 else
                                 f"{len(inside)}: pass one of them, {shown}."))
    from rldebug.deployment.pipeline import EXPORTED_PARTS

    if (root / EXPORTED_PARTS).is_file():
        raise CheckpointError(
            f"{root} is a folder `rldebug export` wrote ({EXPORTED_PARTS}), not an RLlib "
            "checkpoint: inspect and load read the checkpoint it was exported from. The "
            "folder itself acts with rldebug.inference_policy(FOLDER), and rldebug parity "
            "takes it as the reference.")
    raise CheckpointError(f"{root} is not an RLlib checkpoint: it holds {present or 'nothing'}. "
                          f"{_expected()}")


def _checkpoints_inside(root: Path, depth: int = 3) -> list[Path]:
    """The algorithm checkpoints up to ``depth`` folders below ``root`` (a Tune trial holds
    ``checkpoint_000000``, an experiment its trials, a storage path its experiments), the
    nearest first, in name order."""
    found = []
    for level in range(1, depth + 1):
        found += sorted(p.parent for p in root.glob("*/" * level + CHECKPOINT_JSON))
    return found


def _stored_config(root: Path):
    """The AlgorithmConfig saved in a new-stack checkpoint (unpickles class_and_ctor_args)."""
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    with open(root / CTOR_FILE, "rb") as f:
        ctor_info = pickle.load(f)
    config = ctor_info["ctor_args_and_kwargs"][0][0]
    if isinstance(config, dict):
        config = ctor_info["class"].get_default_config().from_state(config)
    if not isinstance(config, AlgorithmConfig):
        raise CheckpointError(f"{root / CTOR_FILE} holds no AlgorithmConfig "
                              f"(found {type(config).__name__}). {_expected()}")
    return config


def _load_new(root: Path, local: bool):
    from ray.rllib.algorithms.algorithm import Algorithm

    from rldebug.callbacks.compose import without_tools
    from rldebug.inprocess.local import local_mode, ray_for

    config = without_tools(_stored_config(root))  # nothing into the trained run's folders
    _check_registered(config, root)
    if local:
        config = local_mode(config, warn=False)
    ray_for(config)
    algo = Algorithm.from_checkpoint(str(root), config=config)
    setattr(algo, RESTORED_FROM, str(root))  # what the checkpoint could not restore is said
    return algo


def _load_old(root: Path, local: bool):
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.rllib.utils.checkpoints import get_checkpoint_info

    from rldebug.callbacks.compose import without_tools
    from rldebug.inprocess.local import local_mode, ray_for

    # Algorithm.from_checkpoint without its last step, so the config can be made local.
    state = Algorithm._checkpoint_info_to_algorithm_state(get_checkpoint_info(str(root)))
    state["config"] = without_tools(state["config"])  # nothing into the run's folders
    _check_registered(state["config"], root)
    if local:
        state["config"] = local_mode(state["config"], warn=False)
    ray_for(state["config"])
    return Algorithm.from_state(state)


def _check_registered(config, root: Path) -> None:
    """Refuse, before anything is built, a checkpoint whose env id or custom model name
    was registered by the training script and is not registered here: RLlib would fail
    half-way through building the Algorithm (EnvError, KeyError ('rllib_model', name))."""
    from ray.tune.registry import RLLIB_MODEL, _global_registry

    from rldebug.shapes.env_meta import unknown_env_id

    env = getattr(config, "env", None)
    if unknown_env_id(env):
        raise CheckpointError(
            f"The checkpoint {root} was trained on the env {env!r}, a name the training "
            "script registered with ray.tune.register_env; it is not registered in this "
            "process, and the Algorithm builds its env to load. Register it first: "
            "import the module that calls ray.tune.register_env, then rldebug.load (from "
            "the command line: --import MODULE_OR_FILE.py), or load the modules alone: "
            "rldebug.load(PATH, modules_only=True).")
    model = getattr(config, "model", None) or {}
    custom = model.get("custom_model") if isinstance(model, dict) else None
    if isinstance(custom, str) and "." not in custom and \
            not _global_registry.contains(RLLIB_MODEL, custom):  # not a class path either
        raise _model_not_registered(root, custom)


def _model_not_registered(root: Path, name: str) -> CheckpointError:
    return CheckpointError(
        f"The checkpoint {root} uses the custom model {name!r}, registered by the training "
        "script with ModelCatalog.register_custom_model; it is not registered in this "
        "process. Register it first: import the module that registers it, then "
        "rldebug.load (from the command line: --import MODULE_OR_FILE.py).")


def _load_modules(root: Path, kind: str):
    if kind == "old":
        from ray.rllib.policy.policy import Policy

        return {d.name: Policy.from_checkpoint(str(d))
                for d in sorted((root / "policies").iterdir()) if d.is_dir()}
    from ray.rllib.core.rl_module.rl_module import RLModule

    return RLModule.from_checkpoint(str(root / MODULES_DIR if kind == "new" else root))


def load(path: str | Path, *, modules_only: bool = False, local: bool = True) -> Any:
    """Restore an Algorithm (or just its modules) from an RLlib 2.60 checkpoint.

    .. warning:: Loading unpickles code stored in the checkpoint: only load
       checkpoints from sources you trust.

    :param path: a checkpoint directory: ``algo.save_to_path()`` (new stack),
        ``algo.save()`` (old stack), ``rldebug.run(..., checkpoint_at_end=True)``,
        or an RLModule checkpoint directory.
    :param modules_only: skip the env, connectors and Ray: return the MultiRLModule
        (new stack, the Learner's modules with value heads) or ``{policy_id: Policy}``
        (old stack). An RLModule checkpoint always loads as modules.
    :param local: rebuild the algorithm in this process (:func:`rldebug.local_mode`),
        whatever number of EnvRunners/Learners it was trained with.
    :returns: an ``Algorithm`` ready for :func:`rldebug.inspect` / :func:`rldebug.explain`,
        or the modules.
    :raises CheckpointError: for a path that is not a checkpoint, is truncated or
        damaged (a JSON file that does not parse, a pickle cut short, a file that
        differs from its rldebug checksum), naming the files.
    :warns UnverifiedCheckpointWarning: for a checkpoint rldebug did not seal.
    """
    modules_only = check_bool(modules_only, "load(modules_only=...)")
    local = check_bool(local, "load(local=...)")
    root, kind = _checked(path)
    try:
        if modules_only or kind == "module":
            return _load_modules(root, kind)
        return _load_new(root, local) if kind == "new" else _load_old(root, local)
    except _UNPICKLING_ERRORS as err:
        raise _unpickling_error(root, err) from err
    except (KeyError, ValueError) as err:  # a policy's custom model, looked up as it loads
        name = _unregistered_model(err)
        if name is None:
            raise
        raise _model_not_registered(root, name) from None
    except ModuleNotFoundError as err:
        raise CheckpointError(
            f"The checkpoint {root} stores code of the module {err.name!r} (its env, model "
            f"or callbacks class, pickled by reference), which cannot be imported here: add "
            f"the directory holding {str(err.name).split('.')[0]!r} to PYTHONPATH (or "
            "install its package) and load it again.") from err


def _unregistered_model(err: Exception) -> str | None:
    """The custom model name Tune's registry did not find: a KeyError ('rllib_model',
    name) without Ray, a ValueError naming 'rllib_model/name' with Ray running."""
    if isinstance(err, KeyError):
        key = err.args[0] if err.args else None
        return key[1] if isinstance(key, tuple) and len(key) == 2 and \
            key[0] == "rllib_model" else None
    found = re.fullmatch(r"Registry value for rllib_model/(.+) doesn't exist\.", str(err))
    return found.group(1) if found else None


#: what unpickling a truncated or corrupt checkpoint file raises
_UNPICKLING_ERRORS = (EOFError, pickle.UnpicklingError, UnicodeDecodeError)


def _unpickling_error(root: Path, err: BaseException) -> CheckpointError:
    return CheckpointError(
        f"A file of the checkpoint {root} could not be unpickled ({type(err).__name__}: "
        f"{err}): it is truncated or corrupt. Save the checkpoint again. {_expected()}")


def _checked(path: str | Path) -> tuple[Path, str]:
    """The checkpoint's resolved directory and kind, after every check :func:`load` makes."""
    root = path_argument(path, "load(path=...)", "a checkpoint folder").resolve()
    kind = checkpoint_kind(root)
    sealed = _verify_seal(root)
    _check_json(root)
    _check_pickles(root)
    _check_parts(root, kind)
    if not sealed:
        warnings.warn(
            f"{root} carries no rldebug checksums (it was not saved by rldebug.run): its "
            "files were parsed and its tensor shapes are checked while loading, but "
            "altered weight values cannot be detected.", UnverifiedCheckpointWarning,
            stacklevel=user_stacklevel())
    return root, kind


def _unpickled_or_none(path: Path):
    """The object a checkpoint's pickle holds; None when it cannot be unpickled here
    (code that does not import): loading says that with its own error."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception:  # noqa: BLE001 - load() names the problem when it unpickles it
        return None


def _recorded_module_ids(modules_dir: Path) -> list[str] | None:
    """The module ids a MultiRLModule checkpoint was saved with (its constructor's
    ``rl_module_specs``); None for a single RLModule or one that does not unpickle."""
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule

    ctor = _unpickled_or_none(modules_dir / CTOR_FILE)
    if not isinstance(ctor, dict) or not isinstance(ctor.get("class"), type) or \
            not issubclass(ctor["class"], MultiRLModule):
        return None
    _, kwargs = ctor.get("ctor_args_and_kwargs", ((), {}))
    specs = kwargs.get("rl_module_specs")
    return [str(m) for m in specs] if isinstance(specs, dict) else None


def _check_parts(root: Path, kind: str) -> None:
    """Refuse a new-stack checkpoint missing a part RLlib restores only when it is there
    (``restore_from_path`` skips absent folders without a word): a module's folder (the
    module would keep its random weights) or, for an online algorithm, the EnvRunner's
    connectors (a MeanStdFilter would restart from no statistics)."""
    modules_dir = root / MODULES_DIR if kind == "new" else root
    if kind in ("new", "module"):
        recorded = _recorded_module_ids(modules_dir) or []
        missing = [m for m in recorded if not (modules_dir / m / "module_state.pkl").is_file()]
        if missing:
            raise CheckpointError(
                f"The checkpoint {root} records the modules {recorded}, but "
                f"{[str((modules_dir / m).relative_to(root)) for m in missing]} "
                f"{'is' if len(missing) == 1 else 'are'} missing: RLlib would load without a "
                "word, with random weights in their place. It was copied or written "
                f"only partly; copy it again. {_expected()}")
    if kind != "new" or (root / "env_runner").is_dir() or \
            (root / "env_to_module_connector").is_dir():
        return
    config = _unpickled_or_none(root / CTOR_FILE)
    args = config.get("ctor_args_and_kwargs", ((), {}))[0] if isinstance(config, dict) else ()
    state = args[0] if args else None
    if isinstance(state, dict) and state.get("_is_online", True):  # it samples an env
        raise CheckpointError(
            f"The checkpoint {root} has no env_runner folder (nor the connector folders "
            "RLlib writes instead when it has no local EnvRunner): the observation and "
            "action connectors' state, e.g. a MeanStdFilter's statistics, would restart "
            "from nothing and the module would see other inputs than it was trained on. "
            f"It was copied or written only partly; copy it again. {_expected()}")


def load_pipeline(path: str | Path) -> dict:
    """The parts of a new-stack checkpoint's inference pipeline, without an Algorithm or
    Ray: ``{"config", "env_to_module", "modules", "module_to_env"}`` (the local
    EnvRunner's connector pipelines with their saved state, and the Learner's
    MultiRLModule).

    :raises CheckpointError: as :func:`load`; for an old-stack or RLModule checkpoint
        (no connector pipelines), naming what it is.
    """
    from ray.rllib.connectors.connector_pipeline_v2 import ConnectorPipelineV2
    from ray.rllib.core.rl_module.rl_module import RLModule

    root, kind = _checked(path)
    if kind != "new":
        what = ("an old-API-stack checkpoint (Policy objects and their filters)"
                if kind == "old" else "an RLModule checkpoint (no connector pipelines)")
        raise CheckpointError(f"{root} is {what}; the inference pipeline (env-to-module "
                              "connectors, RLModule, module-to-env connectors) is stored only "
                              "in a new-API-stack algorithm checkpoint (algo.save_to_path()).")
    _require(root, [str(d / CTOR_FILE) for d in (ENV_TO_MODULE_DIR, MODULE_TO_ENV_DIR)],
             "a new-API-stack algorithm checkpoint with its EnvRunner's connectors")
    try:
        return {"config": _stored_config(root),
                "env_to_module": ConnectorPipelineV2.from_checkpoint(str(root / ENV_TO_MODULE_DIR)),
                "modules": RLModule.from_checkpoint(str(root / MODULES_DIR)),
                "module_to_env": ConnectorPipelineV2.from_checkpoint(str(root / MODULE_TO_ENV_DIR))}
    except _UNPICKLING_ERRORS as err:
        raise _unpickling_error(root, err) from err
    except (KeyError, ValueError) as err:  # a policy's custom model, looked up as it loads
        name = _unregistered_model(err)
        if name is None:
            raise
        raise _model_not_registered(root, name) from None


def _check_pickles(root: Path) -> None:
    """Parse every pickle of the checkpoint without running it (``pickletools``): a corrupt
    file is named before RLlib unpickles it and fails with whatever its bytes happen to do."""
    import pickletools

    for path in sorted(root.rglob("*.pkl")):
        try:
            for _ in pickletools.genops(path.read_bytes()):
                pass
        except Exception as err:  # noqa: BLE001 - any parse failure means a corrupt file
            raise CheckpointError(
                f"{path.relative_to(root)} in the checkpoint {root} is not a valid pickle "
                f"({type(err).__name__}: {err}): it is truncated or corrupt. Save the "
                f"checkpoint again. {_expected()}") from None


__all__ = ["CHECKSUMS_FILE", "ENV_TO_MODULE_DIR", "MODULES_DIR", "MODULE_TO_ENV_DIR",
           "CheckpointError", "UnverifiedCheckpointWarning", "algorithm_checkpoint_of",
           "checkpoint_kind", "load",
           "load_pipeline", "seal_checkpoint"]
