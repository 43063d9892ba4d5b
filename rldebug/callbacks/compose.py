"""How a tool's classes get into a config: configured with frozen settings
(:func:`with_settings`), and added without replacing the user's callbacks
(:func:`add_callbacks`)."""

from __future__ import annotations

import dataclasses

from rldebug.shapes.configs import COMBINED_CALLBACKS_MODULE, COMBINED_CALLBACKS_NAME
from rldebug.usage import UsageTypeError


def with_settings(base: type, settings, *, learner: type | None = None,
                  name: str | None = None) -> type:
    """``base`` subclassed with ``settings`` as its class attribute ``settings``.

    RLlib takes callback and Learner *classes* and builds them in every EnvRunner and
    Learner process, so a tool's options travel on a subclass (Ray pickles it by value).
    Every tool does it this one way: its options are one frozen dataclass, read as
    ``self.settings.<option>``.

    :param base: the tool's callback class, or its Learner mixin when ``learner`` is given.
    :param settings: a frozen dataclass instance.
    :param learner: the config's Learner class: the result is ``class (base, learner)``.
    :param name: the class name (default ``base``'s, or ``base`` + ``learner``'s).
    """
    if not (dataclasses.is_dataclass(settings) and not isinstance(settings, type)
            and type(settings).__dataclass_params__.frozen):
        raise UsageTypeError(f"with_settings takes a frozen dataclass instance, got "
                             f"{type(settings).__name__}: {settings!r:.80}.")
    for name_, cls in (("base", base), ("learner", learner)):
        if cls is not None and not isinstance(cls, type):
            raise UsageTypeError(f"with_settings({name_}=...) takes a class (RLlib builds it "
                                 f"in every process), got {type(cls).__name__}: {cls!r:.80}.")
    if learner is None and not _is_rllib_callback(base):
        raise UsageTypeError(f"with_settings takes an RLlibCallback subclass, got "
                             f"{base.__name__}; subclass ray.rllib.callbacks.callbacks."
                             "RLlibCallback (or pass learner= for a Learner mixin).")
    bases = (base,) if learner is None else (base, learner)
    default = base.__name__ if learner is None else f"{base.__name__}{learner.__name__}"
    return type(name or default, bases, {"settings": settings, "__module__": base.__module__})


def _is_rllib_callback(cls: type) -> bool:
    from ray.rllib.callbacks.callbacks import RLlibCallback  # DefaultCallbacks is it too

    return issubclass(cls, RLlibCallback)


def configured_callbacks(callbacks_class) -> list:
    """A config's ``callbacks_class`` as a list, without RLlib's no-op default."""
    from ray.rllib.callbacks.callbacks import RLlibCallback

    if callbacks_class is None or callbacks_class is RLlibCallback:
        return []
    return list(callbacks_class) if isinstance(callbacks_class, (list, tuple)) else [callbacks_class]


def callback_classes(config) -> list:
    """Every callback class ``config`` runs, flattened: the new stack's list, and the
    classes the old stack's ``make_multi_callbacks`` combined (RLlib 2.60 keeps them in
    its ``__init__``'s closure, ``callback_class_list``)."""
    return [found for cls in configured_callbacks(config.callbacks_class)
            for found in _combined(cls)]


def _combined(cls) -> list:
    init = getattr(cls, "__init__", None)
    if getattr(cls, "IS_CALLBACK_CONTAINER", False) and getattr(init, "__closure__", None):
        cells = dict(zip(init.__code__.co_freevars, init.__closure__, strict=False))
        inner = cells.get("callback_class_list")
        if inner is not None:
            return [found for c in inner.cell_contents  # a partial of a class stays as it is
                    for found in (_combined(c) if isinstance(c, type) else [c])]
    return [cls]


def add_callbacks(config, *classes):
    """Return a copy of ``config`` whose callbacks are the user's, then ``classes``.

    The new API stack takes a list of callback classes; the old stack takes one
    class, so there they are combined with RLlib's ``make_multi_callbacks``.

    A class with ``runs_last = True`` (the trace: it records what the others did in
    the same iteration, e.g. ``break_on``'s events and the doctor's findings) stays
    after the others, whichever was added first.

    :param config: an RLlib ``AlgorithmConfig`` (either API stack).
    :param classes: ``RLlibCallback`` subclasses (not instances).
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
    from ray.rllib.callbacks.callbacks import RLlibCallback

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(f"add_callbacks expects an RLlib AlgorithmConfig, got "
                             f"{type(config).__name__}.")
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, RLlibCallback)):
            raise UsageTypeError(
                f"add_callbacks takes RLlibCallback subclasses (the class, not an "
                f"instance), got {cls!r}."
            )
    # RLlib's make_multi_callbacks containers opened up: the old stack's config holds one
    # after an earlier add_callbacks, and a runs_last class inside it must stay last
    combined = callback_classes(config) + list(classes)
    combined = ([c for c in combined if not getattr(c, "runs_last", False)]
                + [c for c in combined if getattr(c, "runs_last", False)])
    new = config.copy(copy_frozen=False)
    if config.enable_env_runner_and_connector_v2:
        new.callbacks(combined)
    else:
        new.callbacks(combined[0] if len(combined) == 1 else _combine(combined))
    return new


def _is_rldebugs(cls) -> bool:
    """A class rldebug made or defines (a tool's callbacks, settings subclasses and Learner
    wrappers: :func:`with_settings` gives them the tool's module); a user's subclass of
    one is the user's."""
    return isinstance(cls, type) and cls.__module__.split(".")[0] == "rldebug"


def without_tools(config):
    """Return a copy of ``config`` without rldebug's own callbacks and Learner wrappers
    (the trace, the doctor's callback, ``break_on``, ``attach_remote``, the metric
    callbacks); the user's callbacks (functions and partials too) and Learner class stay.

    A checkpoint stores the config its run trained with: rebuilt as it is, its trace
    writes into the trained run's folder (making a moved run's folder again), the
    doctor's callback into its logdir, and ``attach_remote`` waits for a debugger.

    :param config: an RLlib ``AlgorithmConfig`` (either API stack).
    """
    from ray.rllib.callbacks.callbacks import RLlibCallback
    from ray.rllib.core.learner.learner import Learner

    classes = callback_classes(config)
    kept = [c for c in classes if not _is_rldebugs(c)]
    new = config.copy(copy_frozen=False)
    if len(kept) == len(classes):
        pass  # none of rldebug's: the user's callbacks as they were
    elif not kept:
        new.callbacks(RLlibCallback)
    elif config.enable_env_runner_and_connector_v2:
        new.callbacks(kept)
    else:
        new.callbacks(kept[0] if len(kept) == 1 else _combine(kept))
    learner = new._learner_class
    if _is_rldebugs(learner):  # the first Learner of its bases that is not rldebug's
        new._learner_class = next(base for base in learner.__mro__
                                  if issubclass(base, Learner) and not _is_rldebugs(base))
    return new


def _combine(classes: list) -> type:
    """RLlib's ``make_multi_callbacks`` container, named for the classes it runs, so that
    the run's params.json says which (``<class 'rldebug.callbacks.compose.combined[...]'>``,
    not RLlib's ``_MultiCallbacks``; read back by
    :func:`rldebug.shapes.configs.combined_callback_names`)."""
    from ray.rllib.algorithms.callbacks import make_multi_callbacks

    container = make_multi_callbacks(classes)
    names = ", ".join(f"{getattr(c, '__module__', '?')}.{getattr(c, '__qualname__', repr(c))}"
                      for c in classes)  # a functools.partial has no __qualname__
    container.__module__ = COMBINED_CALLBACKS_MODULE
    container.__name__ = container.__qualname__ = f"{COMBINED_CALLBACKS_NAME}[{names}]"
    return container


__all__ = ["add_callbacks", "callback_classes", "configured_callbacks", "with_settings",
           "without_tools"]
