"""Where a self-contained HTML report goes, and how a figure goes into it (one place for
every report rldebug writes: the doctor's and the diff's)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from rldebug.usage import UsageError, output_path


def html_path(path: str | Path, example: str = "report.html") -> Path:
    """``path`` checked as a place for the report: a file name in an existing directory.

    :raises TypeError: if it is not a path; :raises IsADirectoryError: if it is a
        directory; :raises FileNotFoundError: if its directory does not exist;
        :raises UsageError: if it is an existing file that is not an HTML page (a run's
        ``result.json``): a report overwrites only an earlier page.
    """
    return output_path(path, "The HTML report's path", "an HTML page rldebug wrote", example)


def html_option(value: str | None, example: str) -> Path | None:
    """A command's ``--html FILE``, checked by :func:`html_path` before any work, every
    problem said as a usage error (exit 2); None when the option was not given."""
    if value is None:
        return None
    try:
        return html_path(value, example=example)
    except (OSError, UsageError) as err:  # UsageTypeError too
        raise UsageError(f"--html {value!r}: {err}") from None


def write_report(path: str | Path, text: str, example: str = "report.html") -> Path:
    """Write a report's page to ``path`` (checked by :func:`html_path`); returns it.

    :raises UsageError: if the file cannot be written (a read-only file, a full disk,
        a special file such as ``/proc/version``): the message names the path and why.
    """
    target = html_path(path, example=example)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"The HTML report cannot be written to {str(target)!r} "
                         f"({err.strerror or err}); choose another path, such as "
                         f"{example!r} in a directory you can write to.") from None
    return target


def png_data_uri(fig) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI (the page needs no file)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


__all__ = ["html_path", "png_data_uri", "write_report"]
