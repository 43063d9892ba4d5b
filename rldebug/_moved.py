"""Import paths from before the layout change keep working for one release, with a warning.

The layout change grouped the loose modules into rooms named for their jobs
(:mod:`rldebug.arena`, :mod:`rldebug.inprocess`, :mod:`rldebug.compat`) and renamed the
packages that shared a public function's name (``rldebug.trace`` the package hid
``rldebug.trace`` the function the moment anything imported it). An old path — ``from
rldebug.configs import arena_ppo_config``, ``from rldebug.trace.reading import
load_trace``, a pickle that names ``rldebug.models.DenseStackModule`` — gives the object
at its new place and a ``DeprecationWarning`` naming the new path.

How: each old module name is a stand-in module whose attributes are looked up, on first
use, in the new module. The stand-ins for old names that are also public functions
(``run``, ``trace``, ``inspect``, ``diff``, ``reproduce``, ``preflight``) are put in
``sys.modules`` when rldebug is imported, so importing them never replaces the function
on the package; the others are found by a finder on ``sys.meta_path``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from importlib import import_module

# old module or package -> new one (a package's submodules move with it)
MOVED = {
    "rldebug.configs": "rldebug.arena.config",
    "rldebug.envs": "rldebug.arena",
    "rldebug.envs.arena": "rldebug.arena.env",
    "rldebug.models": "rldebug.arena.model",
    "rldebug.callbacks.arena_events": "rldebug.arena.events",
    "rldebug.local": "rldebug.inprocess.local",
    "rldebug.run": "rldebug.inprocess.training",
    "rldebug.stopping": "rldebug.inprocess.stopping",
    "rldebug.progress": "rldebug.inprocess.progress",
    "rldebug.runlog": "rldebug.inprocess.runlog",
    "rldebug.debugging": "rldebug.inprocess.debugging",
    "rldebug.trial_results": "rldebug.inprocess.trial_results",
    "rldebug.demo": "rldebug.inprocess.demo",
    "rldebug.legacy": "rldebug.compat.legacy",
    "rldebug.migrate": "rldebug.compat.migrate",
    "rldebug.trace": "rldebug.tracing",
    "rldebug.inspect": "rldebug.inspection",
    "rldebug.diff": "rldebug.rundiff",
    "rldebug.reproduce": "rldebug.reproduction",
    "rldebug.preflight": "rldebug.traps",
}
# old names that are also rldebug's public functions: never set as package attributes
SHADOWING = ("rldebug.run", "rldebug.trace", "rldebug.inspect", "rldebug.diff",
             "rldebug.reproduce", "rldebug.preflight")
_PACKAGES = ("rldebug.envs", "rldebug.trace", "rldebug.inspect", "rldebug.diff",
             "rldebug.reproduce")


def new_name(old: str) -> str | None:
    """The module an old (old) module name moved to; None if it did not move."""
    if old in MOVED:
        return MOVED[old]
    for package in _PACKAGES:
        if old.startswith(package + "."):
            return MOVED[package] + old[len(package):]
    return None


class OldPath(types.ModuleType):
    """An old module name: its attributes come from the module it moved to."""

    def __init__(self, old: str, new: str):
        super().__init__(old, f"Moved to {new}; this name is deprecated.")
        self.__path__: list[str] = []  # a package, so that old.submodule is looked up too
        self._rldebug_new = new
        self._rldebug_warned = False

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if not self._rldebug_warned:
            self._rldebug_warned = True
            warnings.warn(f"{self.__name__} moved to {self._rldebug_new}; import it from there "
                          "(the old path goes in the next release).",
                          DeprecationWarning, stacklevel=2)
        return getattr(import_module(self._rldebug_new), name)


class _OldPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        new = new_name(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        return OldPath(spec.name, new_name(spec.name))

    def exec_module(self, module):
        pass


def install() -> None:
    """Make the old paths importable (called once by ``import rldebug``)."""
    if not any(isinstance(finder, _OldPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(_OldPathFinder())
    for old in SHADOWING:
        sys.modules.setdefault(old, OldPath(old, MOVED[old]))
