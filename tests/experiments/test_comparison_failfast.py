"""The comparison fails fast and clearly: bad flags and output folders in one line before any work, and Ctrl-C
stops a multi-worker run at once, without orphan or defunct workers, keeping the checkpoints already written."""
import os
import signal
import subprocess
import sys
import time

import pytest

from equinet.__main__ import main as equinet_main
from equinet.experiments import comparison
from equinet.experiments.comparison import ComparisonConfig, run_comparison

TINY = ["--image-size", "16", "--steps", "2", "--train-sizes", "2", "--n-test", "2", "--batch-size", "2",
        "--n-iter", "2", "--depth", "2", "--width", "1", "--models", "pinv,c8", "--operators", "ct",
        "--device", "cpu", "--no-progress", "--workers", "1"]


@pytest.fixture
def no_training(monkeypatch):
    """Any attempt to build the data or train fails the test: errors must come before the work."""
    def forbidden(*a, **k):
        raise AssertionError("the run started although its arguments were bad")
    monkeypatch.setattr(comparison.run.ComparisonData, "__init__", forbidden)
    monkeypatch.setattr(comparison.run, "fit_supervised", forbidden)


def _bad_args(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    return {"device": ["--device", "tpu"], "device-cuda-index": ["--device", "cuda:x"],
            "steps": ["--steps", "0"], "kernel": ["--kernel-size", "4"], "sizes": ["--train-sizes", "a,b"],
            "models": ["--models", "resnet"], "flag": ["--bogus"], "out-file": ["--out", str(a_file)],
            "out-under-file": ["--out", str(a_file / "sub")], "lr": ["--lr", "-1"],
            "activation": ["--activation", "gelu"], "image": ["--image-size", "8"]}


@pytest.mark.parametrize("case", ["device", "device-cuda-index", "steps", "kernel", "sizes", "models", "flag",
                                  "out-file", "out-under-file", "lr", "activation", "image"])
def test_bad_arguments_fail_in_one_line_before_any_work(case, tmp_path, capsys, no_training):
    argv = TINY + ["--out", str(tmp_path / "out")] + _bad_args(tmp_path)[case]
    assert equinet_main(["compare"] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m equinet compare: error: ") and "Traceback" not in "\n".join(err)
    assert len(err) == 1


def test_run_comparison_checks_the_output_folder_before_training(tmp_path, no_training):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    cfg = ComparisonConfig.quick(image_size=16, steps=2, train_sizes=(2,), n_test=2, operators=("ct",),
                                 models=("pinv", "c8"), device="cpu")
    with pytest.raises(NotADirectoryError, match="file.txt"):
        run_comparison(cfg, str(blocker), progress=False, log=None)
    with pytest.raises(OSError, match="cannot write to the output folder"):
        run_comparison(cfg, str(blocker / "sub"), progress=False, log=None)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="cannot write to the output folder"):
            run_comparison(cfg, str(locked / "out"), progress=False, log=None)


def _children(pid: int):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


def _state(pid: int):
    """The /proc state letter of ``pid`` (``'Z'``: defunct), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads worker processes from /proc (Linux)")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_stops_a_multi_worker_run_and_keeps_checkpoints(tmp_path, signum):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "equinet", "compare", "--quick", "--image-size", "16", "--steps", "100000",
            "--train-sizes", "2,3", "--n-test", "2", "--batch-size", "2", "--n-iter", "1", "--depth", "2",
            "--width", "1", "--models", "pinv,cnn,c8", "--operators", "ct", "--device", "cpu", "--no-progress",
            "--workers", "2", "--checkpoints", "--checkpoint-every", "20", "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ckpts = out / "checkpoints"
        deadline = time.monotonic() + 600  # a hang guard only (the machine may be busy), not a speed bound
        # a finished checkpoint, not the atomic writer's temporary (".tmp-*.pt"), which an interrupt removes
        done = lambda: ckpts.is_dir() and any(p.suffix == ".pt" and not p.name.startswith(".tmp-")  # noqa: E731
                                              for p in ckpts.iterdir())
        while not done():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.2)
        workers = _children(proc.pid)
        assert len(workers) >= 2
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # multiprocessing's resource tracker (its own process) may warn about a worker's semaphore after our last line
    ours = [line for line in err.strip().splitlines() if "resource_tracker" not in line]
    assert proc.returncode == 130 and ours[-1].startswith("python -m equinet compare: interrupted"), err
    assert "interrupted" in err and "Traceback" not in err, err
    deadline = time.monotonic() + 30
    while any(_state(p) is not None for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)  # the workers were joined by the main process; give the kernel a moment to reap
    assert [(p, _state(p)) for p in workers if _state(p) is not None] == []  # no orphan, no defunct worker
    saved = sorted(p.name for p in ckpts.iterdir())
    assert saved and all(n.endswith(".pt") for n in saved)  # checkpoints kept, no half-written temporaries
    assert not (out / "table.csv").exists()  # the queued jobs never ran: the run stopped
