"""How RLlib passes an error on: an EnvRunner re-raises the env's exception as a bare
``RuntimeError`` from it (``raise RuntimeError from e``), and Ray wraps it again, so the
exception a caller sees is rarely the one raised where the bug is."""

from __future__ import annotations


def root_cause(error: BaseException) -> BaseException:
    """The first exception of ``error``'s chain (``__cause__``, else ``__context__``): its
    traceback reaches the frame that raised it, the outer ones' end in RLlib."""
    seen = {id(error)}
    while (cause := error.__cause__ or error.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        error = cause
    return error


def error_text(error: BaseException) -> str:
    """``Type: message``, with the first exception of its chain when RLlib wrapped it
    (its EnvRunner re-raises an env's exception as a bare ``RuntimeError``):
    ``RuntimeError (from ValueError: env exploded)``."""
    root = root_cause(error)
    said = f"{type(error).__name__}: {error}".rstrip(": ") if str(error) else \
        type(error).__name__
    return said if root is error else f"{said} (from {type(root).__name__}: {root})"


__all__ = ["error_text", "root_cause"]
