"""Step through RLlib training in an IDE.

- :func:`break_on` — stop in the debugger when an RL event happens (collision,
  reward bound, NaN, loss/KL spike, an agent's action); logs instead when unattended.
- :func:`break_here` — stop (or log) now for an event another tool found (the doctor).
- :func:`attach_remote` — make one remote EnvRunner wait for an IDE on 127.0.0.1:PORT (from
  the start, when a condition fires in it, or when it raises).
- :func:`debugger_attached` — whether a debugger is attached to this process.
- :func:`write_ide_configs` — (re)write VS Code and PyCharm run configurations.
"""

from importlib import import_module

# public name -> module; imported on first use, so that `rldebug ide-configs` (rldebug.ide.cli)
# and the CLI's help load no RLlib
_LAZY = {
    "BreakEvent": "rldebug.ide.breakpoints",
    "BreakOnWarning": "rldebug.ide.breakpoints",
    "break_here": "rldebug.ide.breakpoints",
    "break_on": "rldebug.ide.breakpoints",
    "break_records": "rldebug.ide.breakpoints",
    "clear_break_records": "rldebug.ide.breakpoints",
    "debugger_attached": "rldebug.ide._stop",
    "write_ide_configs": "rldebug.ide.configs",
    "attach_remote": "rldebug.ide.remote",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'rldebug.ide' has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(_LAZY[name]), name)  # cached
    return value


__all__ = ["BreakEvent", "BreakOnWarning", "attach_remote", "break_here", "break_on",
           "break_records", "clear_break_records", "debugger_attached", "write_ide_configs"]
