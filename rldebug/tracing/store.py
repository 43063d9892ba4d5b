"""Where a trace is written: a local directory or a ``pyarrow.fs`` URI (as Tune's
``storage_path``: ``file://``, ``s3://``, ``gs://``...).

Only the home process (see :mod:`rldebug.relay`) writes through a store. Local
files stay open, line-buffered: a killed run keeps every record up to its last
write. A filesystem without appends (object stores) gets one file per flush,
``<name>.<n>.jsonl`` parts that :func:`rldebug.load_trace` reads as one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rldebug.usage import UsageError, UsageTypeError

SCHEME_SEPARATOR = "://"


def is_uri(out) -> bool:
    return isinstance(out, str) and SCHEME_SEPARATOR in out


def local_path_of(out) -> Path | None:
    """The local directory of ``out`` (a path or a ``file://`` URI), None for other URIs.

    :raises UsageTypeError: for anything but a str or a Path."""
    if not isinstance(out, (str, Path)) or not str(out).strip():
        raise UsageTypeError(f"A trace folder is a path (str or pathlib.Path) or a URI such "
                             f"as 's3://bucket/trace', got {type(out).__name__}: {out!r:.80}.")
    if isinstance(out, Path):
        return out.expanduser()
    if not is_uri(out):
        return Path(out).expanduser()
    if out.startswith("file://"):
        return Path(out[len("file://"):])
    return None


def _filesystem(uri: str, given: str = "rldebug.trace(out=...)"):
    import pyarrow.fs

    try:
        return pyarrow.fs.FileSystem.from_uri(uri)
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError...
        raise UsageError(f"{given}: pyarrow cannot open the URI {uri!r}: {err}. "
                         "Pass a local directory or a pyarrow.fs URI such as "
                         "file:///abs/path or s3://bucket/prefix.") from err


class TraceStore:
    """Appends text and writes bytes under the trace directory ``out``."""

    def __init__(self, out):
        self.out = out
        local = local_path_of(out)
        self.local = local
        self._handles: dict[str, object] = {}
        self._parts: dict[str, int] = {}
        if local is None:
            self.fs, self.root = _filesystem(out)
        else:
            self.fs, self.root = None, str(local)

    def append(self, relpath: str, text: str) -> None:
        if self.local is not None:
            handle = self._handles.get(relpath)
            if handle is None:
                path = self.local / relpath
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = self._handles[relpath] = open(path, "a", buffering=1)  # noqa: SIM115
            handle.write(text)
            handle.flush()
            return
        self._append_remote(relpath, text.encode())

    def _append_remote(self, relpath: str, data: bytes) -> None:
        path = f"{self.root.rstrip('/')}/{relpath}"
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        try:
            with self.fs.open_append_stream(path) as stream:
                stream.write(data)
        except (NotImplementedError, OSError):  # an object store: no appends
            part = self._parts.get(relpath, 0) + 1
            self._parts[relpath] = part
            stem, dot, suffix = relpath.rpartition(".")
            with self.fs.open_output_stream(f"{self.root.rstrip('/')}/{stem}.{part:05d}{dot}"
                                            f"{suffix}") as stream:
                stream.write(data)

    def write_bytes(self, relpath: str, data: bytes) -> None:
        if self.local is not None:
            path = self.local / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        path = f"{self.root.rstrip('/')}/{relpath}"
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with self.fs.open_output_stream(path) as stream:
            stream.write(data)

    def list_dir(self, relpath: str) -> list[str]:
        """Names in the folder ``relpath`` (empty if it does not exist)."""
        if self.local is not None:
            folder = self.local / relpath
            return [p.name for p in folder.iterdir()] if folder.is_dir() else []
        import pyarrow.fs

        selector = pyarrow.fs.FileSelector(f"{self.root.rstrip('/')}/{relpath}",
                                           allow_not_found=True)
        return [info.base_name for info in self.fs.get_file_info(selector)]

    def delete(self, relpath: str) -> None:
        handle = self._handles.pop(relpath, None)
        if handle is not None:
            handle.close()
        if self.local is not None:
            (self.local / relpath).unlink(missing_ok=True)
            return
        try:
            self.fs.delete_file(f"{self.root.rstrip('/')}/{relpath}")
        except FileNotFoundError:
            pass

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


def check_writable_out(out):
    """``out`` as it will be used (a resolved local Path, or the URI), proven writable."""
    from rldebug.inprocess.runlog import check_writable

    local = local_path_of(out)
    if local is not None:
        return check_writable(local, option="out")
    fs, root = _filesystem(out)
    try:
        fs.create_dir(root, recursive=True)
        with fs.open_output_stream(f"{root.rstrip('/')}/.rldebug_write_check") as stream:
            stream.write(b"ok")
        fs.delete_file(f"{root.rstrip('/')}/.rldebug_write_check")
    except Exception as err:
        raise UsageError(f"Cannot write to trace URI {out!r}: {err}.") from err
    return out


def readable_dir(path, given: str = "load_trace(directory=...)") -> Path:
    """A local directory holding the trace at ``path`` (a path or a URI; other
    filesystems are copied to a temporary directory first); ``given`` names the
    argument in errors."""
    local = local_path_of(path)
    if local is not None:
        if not local.exists():
            raise FileNotFoundError(f"{given}: {str(local)!r} does not exist. Pass the folder "
                                    "given as out= to rldebug.trace(config, out=...), or a "
                                    "run's logdir.")
        if not local.is_dir():
            raise UsageError(f"{given}: {str(local)!r} is a file, not a trace folder. Pass "
                             "the folder given as out= to rldebug.trace(config, out=...), or "
                             "a run's logdir.")
        return local
    import pyarrow.fs

    fs, root = _filesystem(path, given)
    target = Path(tempfile.mkdtemp(prefix="rldebug_trace_"))
    pyarrow.fs.copy_files(root, str(target), source_filesystem=fs,
                          destination_filesystem=pyarrow.fs.LocalFileSystem())
    return target


__all__ = ["TraceStore", "check_writable_out", "is_uri", "local_path_of", "readable_dir"]
