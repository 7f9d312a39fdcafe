"""Atomic file writes: a reader sees the previous file or the new one, never half of one.

`atomic_write` runs a writer on a temp file beside the target (``.NAME.XXXXXXXX.tmp``, created
with the permissions a plain ``open`` gives) and renames it over the target in one step. On
failure the temp file is removed, the target is left as it was and the error propagates for the
caller to phrase.

A *durable* write (checkpoints) also fsyncs the file and the folder entry, and first removes the
temp files that killed writers left beside the same target: a writer holds an advisory lock on
its temp file, so only the temp files of dead writers are removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # not POSIX: stale temp files are left for the user
    fcntl = None  # type: ignore[assignment]

Writer = Callable[[BinaryIO], object]


def atomic_write(path: str | Path, write: Writer, *, durable: bool = False) -> Path:
    """Write ``path`` through ``write(file)`` atomically; raises OSError (or whatever ``write``
    raises) with ``path`` untouched."""
    path = Path(path)
    folder = path.parent
    if durable:
        _remove_stale_temp_files(path, folder)
    fd, temp = open_temp(path)
    try:
        with os.fdopen(fd, "wb") as file:
            if durable:
                _lock(file.fileno())
            write(file)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_folder(folder)
    return path


def open_temp(path: Path) -> tuple[int, Path]:
    """A new temp file beside ``path``, opened for writing: (descriptor, its path)."""
    temp = path.with_name(f"{_temp_prefix(path)}{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(temp, flags, 0o666), temp   # the umask applies, as for a plain open()


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _lock(fd: int) -> None:
    """Mark a temp file as being written: the lock dies with the process, kill -9 included."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _remove_stale_temp_files(path: Path, folder: Path) -> None:
    """Delete the temp files that killed writers left beside `path` (the unlocked ones)."""
    if fcntl is None:
        return
    prefix = _temp_prefix(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            with contextlib.suppress(OSError):  # locked (a live writer) or already gone
                fd = os.open(folder / name, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.unlink(folder / name)
                finally:
                    os.close(fd)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
