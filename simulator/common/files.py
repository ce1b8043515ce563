"""Crash-safe output: every file and folder appears complete or not at all.

A run killed half-way (kill -9, a full disk, a power cut) must never leave a folder that reads
as a finished result: a new ``summary.json`` next to an old ``requests.parquet``. So files are
written under a temporary name in the same folder and renamed into place (rename is atomic on
one file system), and an output folder is filled as a hidden sibling and renamed into place
when everything in it has been written.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

PARTIAL = ".partial-"
OLD = ".old-"
_UMASK = os.umask(0o022)  # read once at import (umask can only be read by setting it)
os.umask(_UMASK)


class OutputExists(FileExistsError):
    """The target already holds a result and replacing it was not asked for."""


def _fsync_dir(folder: Path) -> None:
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


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``path``, flush it to disk, rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; give it a normal file's permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(parent: Path, name: str) -> None:
    """Remove leftovers of earlier runs on ``name`` that were killed (their process is gone)."""
    for kind in (PARTIAL, OLD):
        for leftover in parent.glob(f".{name}{kind}*"):
            pid_text = leftover.name[len(f".{name}{kind}"):].split("-", 1)[0]
            if pid_text.isdigit() and not _pid_alive(int(pid_text)):
                shutil.rmtree(leftover, ignore_errors=True)


def check_output_folder(target: str | Path, force: bool) -> Path:
    """Refuse a target that cannot be written before any work starts (raises OutputExists or OSError)."""
    target = Path(target)
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise NotADirectoryError(f"{target} exists and is not a folder")
        if not force and any(target.iterdir()):
            raise OutputExists(f"{target} already exists; add --force to replace it")
    ancestor = target.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot create {target}: {ancestor} is not a writable folder")
    return target


@contextlib.contextmanager
def output_folder(target: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield an empty hidden folder next to ``target``; when the block ends without an error it
    becomes ``target`` in one rename (an existing result is replaced only with ``force``).

    Killed at any moment, ``target`` is either absent, the old complete result, or the new one.
    """
    target = check_output_folder(target, force)
    parent = target.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(parent, target.name)
    tmp = parent / f".{target.name}{PARTIAL}{os.getpid()}-{os.urandom(4).hex()}"
    tmp.mkdir()  # with the usual permissions, unlike mkdtemp's private folder
    try:
        yield tmp
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
        _fsync_dir(tmp)
        if target.exists():
            if not force and any(target.iterdir()):
                raise OutputExists(f"{target} appeared while this run was writing; add --force to replace it")
            old = parent / f".{target.name}{OLD}{os.getpid()}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
