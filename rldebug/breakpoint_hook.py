"""The user's breakpoint hook, which ``ray.init`` replaces.

``ray.init`` sets ``PYTHONBREAKPOINT`` to Ray's own hook: in the driver
``ray.util.rpdb._driver_set_trace`` (with Ray's default ``RAY_DEBUG=1``, a debugpy
listener that waits for a Ray Distributed Debugger client), in every worker
``ray.util.rpdb.set_trace`` (``ray/_private/worker.py``). ``import rldebug`` keeps the
value it found in ``RLDEBUG_PYTHONBREAKPOINT``, which Ray's workers inherit from their
driver, so that rldebug can honour the user's hook (``break_on``; ``breakpoint()`` in a
script ``rldebug debug`` runs in-process).
"""

from __future__ import annotations

import os

# PYTHONBREAKPOINT as ray.init sets it in a worker and in the driver
RAY_HOOKS = ("ray.util.rpdb.set_trace", "ray.util.rpdb._driver_set_trace")
# The user's PYTHONBREAKPOINT as `import rldebug` found it (rldebug/__init__.py sets it
# once; a Ray worker inherits it only from its own driver).
USERS_HOOK = "RLDEBUG_PYTHONBREAKPOINT"


def users_breakpoint_hook() -> str:
    """The breakpoint hook the user asked for in this process: ``PYTHONBREAKPOINT`` unless
    ``ray.init`` replaced it by Ray's, then the value ``import rldebug`` found ("" for
    Python's default, "0" for none)."""
    current = os.environ.get("PYTHONBREAKPOINT", "")
    if current not in RAY_HOOKS:
        return current
    found = os.environ.get(USERS_HOOK, "")
    return "" if found in RAY_HOOKS else found


def restore_users_breakpoint_hook() -> None:
    """Put the user's hook back where ``ray.init`` set Ray's in this process (Python's
    default when the user set none): where the user's code runs in the driver, Ray's
    driver hook makes ``breakpoint()`` wait for a client nobody connects."""
    if os.environ.get("PYTHONBREAKPOINT", "") not in RAY_HOOKS:
        return
    hook = users_breakpoint_hook()
    if hook:
        os.environ["PYTHONBREAKPOINT"] = hook
    else:
        os.environ.pop("PYTHONBREAKPOINT", None)


__all__ = ["RAY_HOOKS", "USERS_HOOK", "restore_users_breakpoint_hook",
           "users_breakpoint_hook"]
