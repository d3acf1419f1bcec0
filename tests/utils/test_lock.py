"""One writer per output folder: a live holder is refused (naming its PID and host), a dead one's lock is taken
over, a released lock is gone."""
import json
import os
import socket
import subprocess
import sys

import pytest

from equinet.utils.lock import LOCK_NAME, FolderInUse, OutputLock, _start_time


def write_lock(folder, **fields):
    rec = {"pid": os.getpid(), "host": socket.gethostname(), "start": _start_time(os.getpid()), "command": "x",
           "since": "2026-01-01 00:00:00"}
    rec.update(fields)
    (folder / LOCK_NAME).write_text(json.dumps(rec))


def test_a_live_holder_is_refused_and_a_release_frees_the_folder(tmp_path):
    first = OutputLock(tmp_path, "python -m equinet train a.toml").acquire()
    rec = json.loads((tmp_path / LOCK_NAME).read_text())
    assert rec["pid"] == os.getpid() and rec["host"] == socket.gethostname()
    with pytest.raises(FolderInUse, match=rf"in use by another run \(PID {os.getpid()} on host .*train a.toml"):
        OutputLock(tmp_path, "second").acquire()
    first.release()
    assert not (tmp_path / LOCK_NAME).exists()
    with OutputLock(tmp_path, "third"):
        assert (tmp_path / LOCK_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()


def test_the_lock_of_a_dead_process_is_stale(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    write_lock(tmp_path, pid=int(dead.stdout), start="1")
    with OutputLock(tmp_path, "after kill -9"):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["command"] == "after kill -9"


def test_a_reused_pid_is_stale_and_another_host_is_not(tmp_path):
    write_lock(tmp_path, start="0")  # this PID, but a process started at another time: the holder died
    OutputLock(tmp_path).acquire().release()
    write_lock(tmp_path, host="elsewhere", pid=1)
    with pytest.raises(FolderInUse, match=f"on host elsewhere.*delete {tmp_path / LOCK_NAME}"):
        OutputLock(tmp_path).acquire()


def test_an_unreadable_lock_is_stale_once_old(tmp_path):
    (tmp_path / LOCK_NAME).write_text("{half")
    with pytest.raises(FolderInUse):  # its writer may still be writing it
        OutputLock(tmp_path).acquire()
    os.utime(tmp_path / LOCK_NAME, (0, 0))
    OutputLock(tmp_path).acquire().release()
