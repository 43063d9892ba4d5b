"""How the command line reports unusable input: one exception, one exit code, no traceback."""

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


class UsageError(Exception):
    """Input a command cannot use (a missing file, a bad value); its message says the fix."""


__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_UNUSABLE", "UsageError"]
