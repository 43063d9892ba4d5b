"""Step through RLlib training in an IDE.

- :func:`break_on` — stop in the debugger when an RL event happens (collision,
  reward bound, NaN, loss/KL spike, an agent's action); logs instead when unattended.
- :func:`break_here` — stop (or log) now for an event another tool found (the doctor).
- :func:`attach_remote` — make one remote EnvRunner wait for an IDE on 127.0.0.1:PORT.
- :func:`write_ide_configs` — (re)write VS Code and PyCharm run configurations.
"""

from rldebug.ide.break_on import (
                                  BreakEvent,
                                  BreakOnWarning,
                                  break_here,
                                  break_on,
                                  break_records,
                                  clear_break_records,
)
from rldebug.ide.configs import write_ide_configs
from rldebug.ide.remote import attach_remote

__all__ = ["BreakEvent", "BreakOnWarning", "attach_remote", "break_here", "break_on",
           "break_records",
           "clear_break_records", "write_ide_configs"]
