"""Unusable input: one exception for every tool, one exit-code table for every command,
and how the command line reads what names user code (``FILE.py:FUNC``).

Every public function and command rejects input it cannot use by raising
:class:`UsageError` (a ``ValueError``) or, for an argument of the wrong type,
:class:`UsageTypeError` (also a ``TypeError``), with a message that says what was wrong
and how to fix it (:class:`UsageKeyError`, also a ``KeyError``, for a name that is not
there). A tool's more specific kinds subclass them (``CheckpointError``,
``ReproduceError``, ``UnusableInputError``, ...). The command line prints only these as
``rldebug CMD: error: ...`` and exits 2; any other exception is a failure or a bug and
exits 1 with its type and a pointer to ``--debug``."""

import importlib
import importlib.util
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Exit codes of every command: 0 done (nothing found), 1 findings or a failed run,
#: 2 unusable input (a :class:`UsageError`), 130 stopped by Ctrl+C (as a shell reports
#: SIGINT).
EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(ValueError):
    """Input a tool cannot use (a missing file, a bad value); its message says the fix."""


class UsageTypeError(UsageError, TypeError):
    """An argument of the wrong type; a :class:`UsageError` that is also a ``TypeError``."""


class UsageKeyError(UsageError, KeyError):
    """A name that is not there (a stop criterion no result holds); a :class:`UsageError`
    that is also a ``KeyError``. Its message is printed as written, not quoted."""

    __str__ = Exception.__str__


#: What every command says as unusable input (exit 2): a :class:`UsageError`, and a path
#: that does not exist or cannot be read. Anything else is a failure or a bug (exit 1).
USAGE_ERRORS = (UsageError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                PermissionError)


def path_argument(value, name: str, what: str) -> Path:
    """``value`` as the path argument ``name`` (``"load(path=...)"``, ``"--html"``) takes:
    a non-empty str or path-like; ``what`` says what it names (``"a checkpoint folder"``).
    An empty string is refused, not read as the current folder."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise UsageTypeError(f"{name} must be {what} (a str or pathlib.Path), got "
                             f"{value!r:.80}.")
    return Path(value).expanduser()


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn``, called by the function that calls this,
    that names the first frame outside rldebug: the user's line, not rldebug's own."""
    import sys

    return _first_frame_outside_rldebug(sys._getframe(1))[1]


def user_line() -> tuple[str, int] | None:
    """``(file, line)`` of the first frame outside rldebug that led to the function that
    calls this (the user's call), or None when there is none."""
    import sys

    frame, _ = _first_frame_outside_rldebug(sys._getframe(1))
    return None if frame is None else (frame.f_code.co_filename, frame.f_lineno)


def _first_frame_outside_rldebug(frame):
    """``(frame, level)``: the first frame from ``frame`` outwards that is not rldebug's,
    and how many frames out it is (``frame`` itself is 1)."""
    level = 1
    while frame is not None and \
            frame.f_globals.get("__name__", "").partition(".")[0] == "rldebug":
        frame, level = frame.f_back, level + 1
    return frame, level


def check_bool(value, name: str) -> bool:
    """``value`` as the flag ``name`` (``"load(modules_only=...)"``) takes: True or False
    (numpy's too); a truthy string such as ``"no"`` is refused, not read as True."""
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if not isinstance(value, bool):
        raise UsageTypeError(f"{name} must be True or False, got {value!r:.40}.")
    return value


def check_seed(seed, name: str, allow_none: bool = True) -> None:
    """Refuse a seed gymnasium and numpy would refuse later, deep in a run: ``name``
    (``"explain(seed=...)"``) takes an int in [0, 2**63), or None where ``allow_none``."""
    import numbers

    if seed is None and allow_none:
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or \
            not 0 <= seed < 2**63:
        raise UsageError(f"{name} must be {'None or ' if allow_none else ''}an int in "
                         f"[0, 2**63), got {type(seed).__name__} {seed!r:.40}.")


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


#: In the head of every HTML page rldebug writes: the only HTML pages an --html option
#: writes over (a page of the user's own is kept)
HTML_GENERATOR = '<meta name="generator" content="rldebug">'


def _is_html(head: bytes) -> bool:
    return head.lstrip().lower().startswith((b"<!doctype html", b"<html")) and (
        HTML_GENERATOR.encode() in head or b"<title>rldebug " in head)  # or an older one


def _is_chrome_trace(head: bytes) -> bool:
    return head.lstrip().startswith(b"{") and b'"traceEvents"' in head


#: What each kind of file an option writes starts with: an existing file of another
#: kind is never written over (a run's result.json named as the --html report).
OUTPUT_KINDS = {"an HTML page rldebug wrote": _is_html, "a Chrome trace": _is_chrome_trace}


def check_output_file(path, option: str, kind: str) -> None:
    """Refuse ``path`` for ``option`` when it is an existing, non-empty file that is not
    ``kind`` (a key of :data:`OUTPUT_KINDS`): an option that writes a report overwrites
    only an earlier report of its kind, never a run's, a trace's or a user's file."""
    path = Path(path)
    if not path.is_file():
        return
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as err:
        raise UsageError(f"{option} {str(path)!r} cannot be read ({err.strerror or err}); "
                         "choose another path.") from None
    if head.strip() and not OUTPUT_KINDS[kind](head):
        raise UsageError(f"{option} {str(path)!r} names an existing file that is not "
                         f"{kind}; writing there would lose it. Choose a new file name (or "
                         "delete that file first if it is yours to lose).")


def output_path(value, what: str, kind: str, example: str) -> Path:
    """``value`` checked as the file an output goes to: a file name (not a folder) in an
    existing folder, and, if the file exists, an earlier output of ``kind`` (see
    :func:`check_output_file`).

    :param what: how the message names it ("--chrome-trace", "The HTML report's path").
    :param example: a file name to suggest inside a folder given by mistake.
    :raises TypeError: if it is not a path; :raises IsADirectoryError: if it is a
        folder; :raises FileNotFoundError: if its folder does not exist;
        :raises UsageError: if it is an existing file of another kind.
    """
    path = path_argument(value, what, "a file name")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory; pass a file name such as "
                                f"{str(path / example)!r}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"The directory of {str(path)!r} does not exist; create it "
                                "or name a file in an existing directory.")
    check_output_file(path, what, kind)
    check_can_write(path, what)
    return path


def check_can_write(path: str | Path, what: str) -> None:
    """Refuse, before anything is computed, an output ``path`` (a file or folder, made if
    missing) that cannot be written: its nearest existing folder must take a new file.

    :raises UsageError: naming ``what`` (the option) and the system's reason."""
    path = Path(path).expanduser()
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if existing == path and path.is_file():  # an earlier output, written over
        if not os.access(path, os.W_OK):
            raise UsageError(f"{what} {str(path)!r}: the file is read-only; pass another "
                             "file name.")
        existing = path.parent
    if not existing.is_dir():
        raise UsageError(f"{what} {str(path)!r}: {str(existing)!r} is a file, not a folder; "
                         "pass a path in a folder.")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".rldebug_write_check"):
            pass
    except OSError as err:
        raise UsageError(f"{what} {str(path)!r}: cannot write in {str(existing)!r} "
                         f"({err.strerror or err}); pass a folder you can write to.") from None


#: the user's files ``import_code(keep=True)`` imported (``--import path/to/file.py``), in
#: order: where a replay finds the current code of what a script defined
IMPORTED_FILES: list = []


def import_code(where: str, option: str, example: str = "path/to/file.py",
                keep: bool = False):
    """The user's module ``path/to/file.py`` or ``package.module``, imported (its code runs).
    A file's folder goes first on ``sys.path``, as ``python path/to/file.py`` puts it, so
    the file imports its neighbours.

    :param example: how a file is named to ``option``, said when the module is not found.
    :param keep: also put a file's module in ``sys.modules`` under its name, so that what
        it defines unpickles (a checkpoint's env class, as ``my_envs.MyEnv``); a name
        another module has (``json.py``, ``ray.py``) is refused.
    :raises UsageError: for a file or module that does not exist or cannot be imported (a
        syntax error, with its line), or code that raises as it is imported.
    """
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise UsageError(f"{option} file {where!r} does not exist.")
            if keep:
                _check_module_name(path, option)
            folder = str(path.resolve().parent)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(module_spec)
            if keep:
                sys.modules[path.stem] = module
            module_spec.loader.exec_module(module)
            if keep:
                IMPORTED_FILES.append(module)
        else:
            module = importlib.import_module(where)
    except SyntaxError as err:
        raise UsageError(f"{option} {where!r} does not compile: {err.msg} at line "
                         f"{err.lineno} of {err.filename}.") from None
    except ModuleNotFoundError as err:
        raise UsageError(f"{option} {where!r}: {err}. Name a module Python can import "
                         f"(add its folder to PYTHONPATH) or a file, {example}.") from None
    except UsageError:
        raise
    except Exception as err:  # the user's module, run as it is imported
        raise UsageError(f"{option}: importing {where!r} raised {type(err).__name__}: "
                         f"{err} (your code; --debug shows where).") from err
    return module


def _check_module_name(path: Path, option: str) -> None:
    """Refuse a file whose module name another module has (the standard library's
    ``json``, an installed ``ray``): importing the file by that name would hide it."""
    import importlib.machinery

    name, folder = path.stem, path.resolve().parent
    taken = sys.modules.get(name)
    where = None
    if taken is not None:
        if Path(getattr(taken, "__file__", "") or ".").resolve() != path.resolve():
            where = getattr(taken, "__file__", None) or "built in"
    elif name in sys.builtin_module_names or name in sys.stdlib_module_names:
        where = "the standard library"
    else:
        elsewhere = [p for p in sys.path if Path(p or ".").resolve() != folder]
        found = importlib.machinery.PathFinder.find_spec(name, elsewhere)
        where = getattr(found, "origin", None) or (found and "a package")
    if where:
        raise UsageError(f"{option} {str(path)!r}: Python already has a module named "
                         f"{name!r} ({where}), which importing this file by its name would "
                         f"hide; rename the file (e.g. my_{name}.py).")


def json_text(value: Any, indent: int | None = 2) -> str:
    """``value`` as strict JSON, the one form every ``--json`` output takes: numpy scalars
    and arrays become numbers and lists, a non-finite number the string ``"nan"``,
    ``"inf"`` or ``"-inf"`` (``NaN``/``Infinity`` are not JSON: jq reads ``Infinity`` as
    1.8e308, JavaScript refuses it), a dict key a string, anything else its ``str``."""
    return json.dumps(_strict(value), indent=indent, allow_nan=False)


def _strict(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(key): _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_strict(item) for item in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays, torch tensors
    if callable(tolist) and type(value).__module__.split(".")[0] in ("numpy", "torch"):
        return _strict(tolist())
    return str(value)


def add_import_option(parser) -> None:
    """``--import MODULE_OR_FILE`` (repeatable) on a command that builds a checkpoint's or
    a run's env: the CLI imports each before the command runs (``rldebug.cli``)."""
    parser.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE_OR_FILE",
        help="import this first (repeatable; a module or a path/to/file.py): the code that "
             "registers the run's env (ray.tune.register_env) or custom model, as the "
             "training script did")


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
    module = import_code(where, option, f"path/to/file.py:{func_name}")
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
    function = load_function(spec, option)
    problem = cannot_be_called(function)
    if problem is not None:
        raise UsageError(f"{option} {spec!r}: {problem[0]} cannot be called without "
                         f"arguments ({problem[1]}); name a function that takes none and "
                         "returns the config.")
    try:
        return function()
    except Exception as err:  # the user's function
        raise UsageError(f"{option} {spec!r} raised {type(err).__name__}: {err} (your "
                         "config function; --debug shows where).") from err


__all__ = ["EXIT_FINDINGS", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_UNUSABLE", "IMPORTED_FILES",
           "OUTPUT_KINDS", "USAGE_ERRORS", "UsageError", "UsageTypeError", "add_import_option",
           "check_bool", "check_can_write", "check_output_file", "check_seed", "import_code",
           "json_text", "load_config", "load_function", "output_path", "path_argument",
           "user_line", "user_stacklevel"]
