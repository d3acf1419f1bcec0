"""One writer per output folder: a lock file holding the writer's PID, host and command.

`OutputLock` is taken by ``python -m equinet train``, ``compare`` and ``reproduce`` once their input has been
checked, before the first result is written, and released when they finish (whatever the outcome). A second run on
the same folder -- including ``--resume`` of a run still alive -- is refused with a `FolderInUse` error naming the
holder. A lock left by a process that no longer exists (killed with ``kill -9``, a crashed machine's reboot) is
stale: it is detected (the PID is gone, or it now belongs to a process started later) and taken over. A lock of
another host cannot be checked from here; the message says which file to delete if that run is dead.

Example:

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with OutputLock(d, "demo"):
    ...     try:
    ...         OutputLock(d, "second").acquire()
    ...     except FolderInUse as err:
    ...         print("is in use by another run" in str(err))
    True
"""
from __future__ import annotations

import json
import os
import socket
import time
from typing import Optional

__all__ = ["OutputLock", "FolderInUse", "LOCK_NAME"]

LOCK_NAME = ".equinet.lock"


class FolderInUse(ValueError):
    """The output folder is being written by another live run."""


def _start_time(pid: int) -> Optional[str]:
    """The kernel's start time of process ``pid`` (Linux; None elsewhere or if it does not exist)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputLock:
    """The lock of output folder ``folder`` (file ``folder/.equinet.lock``); ``command`` describes the holder.

    Use as a context manager, or `acquire` / `release`. The folder must exist.
    """

    def __init__(self, folder: str, command: str = ""):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, LOCK_NAME)
        self.command = command
        self.held = False

    def _record(self) -> dict:
        pid = os.getpid()
        return {"pid": pid, "host": socket.gethostname(), "start": _start_time(pid), "command": self.command,
                "since": time.strftime("%Y-%m-%d %H:%M:%S")}

    def _holder(self) -> Optional[dict]:
        try:
            with open(self.path) as f:
                rec = json.load(f)
            return rec if isinstance(rec, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable or half-written

    def _stale(self, rec: dict) -> bool:
        if not rec:  # an unreadable lock: stale if its writer had time to finish writing it
            try:
                return time.time() - os.path.getmtime(self.path) > 10
            except OSError:
                return True
        if rec.get("host") != socket.gethostname():
            return False
        pid = rec.get("pid")
        if not isinstance(pid, int) or not _alive(pid):
            return True
        start = _start_time(pid)
        return rec.get("start") is not None and start is not None and start != rec["start"]  # PID reused

    def acquire(self) -> "OutputLock":
        """Take the lock, or raise `FolderInUse` naming the live holder."""
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                rec = self._holder()
                if rec is None:
                    continue  # released meanwhile
                if not self._stale(rec):
                    who = (f"PID {rec.get('pid')} on host {rec.get('host')}, since {rec.get('since')}"
                           + (f": {rec['command']}" if rec.get("command") else "") if rec else "another run")
                    raise FolderInUse(f"output folder {self.folder!r} is in use by another run ({who}); wait for it "
                                      f"to finish or choose another --out (if that run is dead, delete {self.path})")
                try:  # take over a stale lock: rename it away first, so two takers cannot both succeed
                    os.replace(self.path, f"{self.path}.stale-{os.getpid()}")
                    os.remove(f"{self.path}.stale-{os.getpid()}")
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(self._record(), f)
            self.held = True
            return self
        raise FolderInUse(f"output folder {self.folder!r}: could not take its lock {self.path}")

    def release(self) -> None:
        """Remove the lock file if this process holds it."""
        if not self.held:
            return
        self.held = False
        rec = self._holder()
        if rec and rec.get("pid") == os.getpid():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
