"""How the command line reports unusable input (one exception, one exit code, no
traceback) and reads what names user code (``FILE.py:FUNC``)."""

import importlib
import importlib.util
from pathlib import Path

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


class UsageError(Exception):
    """Input a command cannot use (a missing file, a bad value); its message says the fix."""


def load_function(spec: str, option: str):
    """The function ``path/to/file.py:function`` or ``package.module:function`` names."""
    if ":" not in spec:
        raise UsageError(f"{option} must look like 'my_file.py:my_function', got {spec!r}.")
    where, func_name = spec.rsplit(":", 1)
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise UsageError(f"{option} file {where!r} does not exist.")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    if not callable(getattr(module, func_name, None)):
        raise UsageError(f"{where!r} has no function {func_name!r}.")
    return getattr(module, func_name)


__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_UNUSABLE", "UsageError", "load_function"]
