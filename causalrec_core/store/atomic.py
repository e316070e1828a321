"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Each helper writes to a temporary file in the *same* directory (so that the final rename stays
on one file system), flushes and fsyncs it, then ``os.replace``-s it over the target and, on
POSIX, fsyncs the directory so that the rename itself survives a power cut. If anything fails
the temporary file is removed and the target is left untouched.

Examples
--------
>>> from causalrec_core.store.atomic import atomic_write_json
>>> atomic_write_json(run_dir / "progress.json", {"epoch": 3, "loss": 0.41})  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "fsync_dir"]


def _umask_mode() -> int:
    """0o666 less the process umask: the mode a plain open() would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _mkstemp_beside(target: Path) -> tuple[int, str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, _umask_mode())  # mkstemp makes 0600 files; keep the usual permissions
    return fd, tmp_name


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path`` to write in any way (streaming included); on
    success it is fsynced and ``os.replace``-d over ``path``; on failure it is removed."""
    target = Path(path)
    fd, tmp_name = _mkstemp_beside(target)
    os.close(fd)
    try:
        yield Path(tmp_name)
        with open(tmp_name, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(target.parent)


def fsync_dir(path: str | Path) -> None:
    """Flush a directory entry to disk (no-op where the OS cannot open directories)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably; create missing parent folders.

    Parameters
    ----------
    path : str or Path
        The target file. Its parent folder is created if needed.
    data : bytes
        The complete new content.

    Returns
    -------
    Path
        The target path.

    Raises
    ------
    TypeError
        If ``data`` is not bytes-like.
    OSError
        If the file cannot be written; the previous content (if any) is then unchanged.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    target = Path(path)
    fd, tmp_name = _mkstemp_beside(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | Path, obj: Any, *, indent: int | None = 2, sort_keys: bool = True) -> Path:
    """Serialise ``obj`` as JSON and write it atomically (see :func:`atomic_write_bytes`).

    The object is serialised *before* the file is touched, so a ``TypeError`` for an
    unserialisable value leaves the old file in place.
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    return atomic_write_text(path, text + "\n")
