"""Unusable input: one exception for every tool, one exit-code table for every command,
and how the command line reads what names user code (``FILE.py:FUNC``).

Every public function and command rejects input it cannot use by raising
:class:`UsageError` (a ``ValueError``) or, for an argument of the wrong type,
:class:`UsageTypeError` (also a ``TypeError``), with a message that says what was wrong
and how to fix it. A tool's more specific kinds subclass them (``CheckpointError``,
``ReproduceError``, ``UnusableInputError``, ...). The command line prints only these as
``rldebug CMD: error: ...`` and exits 2; any other exception is a failure or a bug and
exits 1 with its type and a pointer to ``--debug``."""

import importlib
import importlib.util
from pathlib import Path

#: Exit codes of every command: 0 done (nothing found), 1 findings or a failed run,
#: 2 unusable input (a :class:`UsageError`).
EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


class UsageError(ValueError):
    """Input a tool cannot use (a missing file, a bad value); its message says the fix."""


class UsageTypeError(UsageError, TypeError):
    """An argument of the wrong type; a :class:`UsageError` that is also a ``TypeError``."""


def cannot_be_called(function, *args, **kwargs) -> tuple[str, str] | None:
    """Why ``function(*args, **kwargs)`` would raise a TypeError for its signature alone: its name
    with its signature (``"act(obs, state)"``) and the reason; None when it can be called
    so, or when its signature cannot be read (a builtin or C callable). Checked before a
    tool starts work that would call it."""
    import inspect

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*args, **kwargs)
    except TypeError as err:
        name = getattr(function, "__name__", type(function).__name__)
        return f"{name}{signature}", str(err)
    return None


def load_function(spec: str, option: str, expected: str = "a function that returns what "
                  "it names (def {name}(): return ...)"):
    """The function ``path/to/file.py:function`` or ``package.module:function`` names.

    :param expected: what ``option`` takes, said when the name is not a function
        (``{name}`` is filled in).
    :raises UsageError: for a file or module that does not exist or cannot be imported (a
        syntax error, with its line), or a name that is missing or not callable.
    """
    if ":" not in spec:
        raise UsageError(f"{option} must look like 'my_file.py:my_function', got {spec!r}.")
    where, func_name = spec.rsplit(":", 1)
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise UsageError(f"{option} file {where!r} does not exist.")
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except SyntaxError as err:
        raise UsageError(f"{option} {where!r} does not compile: {err.msg} at line "
                         f"{err.lineno} of {err.filename}.") from None
    except ModuleNotFoundError as err:
        raise UsageError(f"{option} {where!r}: {err}. Name a module Python can import "
                         "(add its folder to PYTHONPATH) or a file, path/to/file.py:"
                         f"{func_name}.") from None
    found = getattr(module, func_name, None)
    if found is None:
        raise UsageError(f"{where!r} has no function {func_name!r}.")
    if not callable(found):
        raise UsageError(f"{func_name!r} in {where!r} is not a function but "
                         f"{found!r:.60}; {option} needs "
                         + expected.format(name=func_name) + ".")
    return found


def load_config(spec: str, option: str = "--config"):
    """The config that the function ``FILE.py:FUNC`` or ``MODULE:FUNC`` returns (``option``
    names where it was given, in errors)."""
    return load_function(spec, option)()


__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_UNUSABLE", "UsageError", "UsageTypeError",
           "load_config", "load_function"]
