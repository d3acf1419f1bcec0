"""Atomic file writing: results and checkpoints are never left half-written."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager


@contextmanager
def atomic_path(path: str):
    """Yield a temporary path next to ``path``; it replaces ``path`` only if the block finishes without error."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=d)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the permissions open() would
    try:
        try:
            yield tmp
        except OSError as err:  # name the file being written, not its temporary
            if err.filename == tmp and err.errno is not None:
                raise OSError(err.errno, err.strerror, path) from None
            raise
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically. A failed write (full disk, file-size limit) raises ``OSError`` naming
    ``path`` itself and leaves the previous file, if any, in place."""
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
    except OSError as err:
        raise OSError(err.errno, err.strerror, os.fspath(path)) from None


def torch_save(obj, path: str) -> None:
    """``torch.save(obj, path)`` atomically, with a failed write raised as ``OSError`` naming ``path`` (torch itself
    reports a full disk as a ``RuntimeError`` from inside its zip writer)."""
    import io

    import torch
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes(path, buf.getvalue())


def write_json(path: str, obj, **kw) -> None:
    """Write ``obj`` as JSON atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=kw.pop("indent", 1), **kw)


def save_figure(fig, path: str, **kw) -> None:
    """Save a matplotlib figure atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=os.path.splitext(path)[1].lstrip(".") or "png", **kw)


@contextmanager
def exclusive(path: str):
    """Hold an exclusive lock on ``path + '.lock'`` (created if needed) for the duration of the block, so that
    processes doing a read-modify-write of ``path`` (e.g. runs merging into one results file) take turns. POSIX
    ``flock``; where it does not exist the block runs unlocked.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "results.json")
    >>> with exclusive(p):
    ...     write_json(p, {"n": 1})
    >>> os.path.exists(p + ".lock")
    True
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path + ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
