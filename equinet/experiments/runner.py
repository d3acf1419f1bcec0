"""The shared experiment runner: configuration -> jobs -> worker pool -> table and figures.

An experiment describes its work as a `Task` (picklable: it is sent to spawned worker processes) and a list
of jobs (small picklable values, e.g. tuples). `run_jobs` runs every job, serially or in ``workers`` spawned
processes, reports progress through one bar and returns the results **in job order**. A job's result must depend on
the task and the job only (seed everything from them with `equinet.utils.seeding` and `seeded`), so the
results are identical whatever the worker count. `prepare_output` creates and checks the output folder before
anything is computed; `write_table` writes ``table.csv``, ``table.json`` (rows, configuration, versions, wall
time) and ``table.md`` atomically.

Ctrl-C (SIGINT) in the main process stops a parallel run at once: queued jobs are dropped, the workers are
terminated (their pending ``atomic_path`` writes are cleaned up, checkpoints already written stay) and joined, and
``KeyboardInterrupt`` propagates. Workers ignore SIGINT themselves, so a Ctrl-C in a terminal (which signals the
whole process group) is handled once, by the main process.

Example::

    from equinet.experiments.runner import Task, prepare_output, run_jobs, write_table

    class Square(Task):
        def run(self, job, state, progress):
            progress.update(1)
            return {"x": job, "y": job * job}

    if __name__ == "__main__":                      # needed when workers > 1 (spawned processes)
        out = prepare_output("outputs/squares")     # fails here, before any work, if it cannot be written
        rows = run_jobs(Square(), [1, 2, 3], workers=2)
        write_table(out, rows, fields=("x", "y"), config={"n": 3}, title="Squares")
"""
from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import platform
import queue as queue_mod
import signal
import time
import traceback
from typing import Any, Iterator, List, Optional, Sequence

import numpy as np
import torch

from ..utils.checks import check_positive_int
from ..utils.io import atomic_path, write_json
from ..utils.seeding import check_seed

__all__ = ["Task", "run_jobs", "prepare_output", "write_table", "versions", "seeded", "thread_limit",
           "json_safe", "WorkerError"]


class Task:
    """One kind of job. Subclasses implement `run`, and optionally `prepare` (work shared by all the
    jobs of a process, e.g. building test sets), and `describe` (a short job name for the progress bar).

    A task is pickled to every worker process, so keep its attributes plain data (configs, paths).
    """

    def prepare(self) -> Any:
        """Build the per-process state passed to `run` (called once per process, before its first job)."""
        return None

    def run(self, job, state, progress) -> Any:
        """Run ``job`` and return its (picklable) result; call ``progress.update(n, postfix=...)`` as work is
        done. The result must depend on the task and ``job`` only."""
        raise NotImplementedError

    def describe(self, job) -> str:
        return str(job)


class WorkerError(RuntimeError):
    """A job failed in a worker process; the message holds the worker's traceback."""


@contextlib.contextmanager
def thread_limit(threads: Optional[int]) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)`` (``None``: unchanged) and restore the previous
    count afterwards. Used by the runner only, around its own work."""
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(check_positive_int(threads, "threads"))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator with ``seed`` inside the block (e.g. for ``nn.Module`` initialisation) and
    restore the caller's random state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        yield


def prepare_output(out: str) -> str:
    """Create the output folder ``out`` (and its parents) and check that files can be written there, before any
    work is done. Returns ``out``; raises ``OSError`` with a one-line message naming the folder otherwise."""
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise NotADirectoryError(f"output folder {out!r} exists and is not a directory")
    try:
        os.makedirs(out, exist_ok=True)
        with atomic_path(os.path.join(out, ".write-check")) as tmp:
            with open(tmp, "w") as f:
                f.write("ok")
        os.remove(os.path.join(out, ".write-check"))
    except OSError as err:
        raise type(err)(f"cannot write to the output folder {out!r}: {err.strerror or err}") from None
    return out


def versions() -> dict:
    """Versions of what produced a result: python, torch, numpy, equinet, the platform."""
    from .. import __version__
    return dict(python=platform.python_version(), torch=torch.__version__, numpy=np.__version__,
                equinet=__version__, platform=platform.platform())


def json_safe(obj):
    """``obj`` with tuples as lists, numpy scalars as Python numbers and non-finite floats as ``None``."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return json_safe(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_table(out: str, rows: List[dict], fields: Sequence[str], config: dict, title: str = "Results",
                markdown: Optional[str] = None, wall_seconds: Optional[float] = None, **meta) -> None:
    """Write ``table.csv`` (``fields`` columns, floats with 6 significant digits), ``table.json`` (``rows``,
    ``config``, `versions`, ``wall_seconds`` and any ``meta``) and ``table.md`` (``markdown``, default a
    plain table of ``fields`` under ``# title``) to ``out``, each atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    _write_text(os.path.join(out, "table.csv"), buf.getvalue())
    doc = dict(config=config, **meta, versions=versions(), wall_seconds=wall_seconds, rows=rows)
    write_json(os.path.join(out, "table.json"), json_safe(doc))
    if markdown is None:
        cell = lambda v: "" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
        markdown = (f"# {title}\n\n| " + " | ".join(fields) + " |\n|" + " --- |" * len(fields) + "\n"
                    + "".join("| " + " | ".join(cell(r.get(f)) for f in fields) + " |\n" for r in rows))
    _write_text(os.path.join(out, "table.md"), markdown)


def _write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


# ---------------------------------------------------------------------------------------------- running jobs
class _NullProgress:
    desc = ""

    def update(self, n=1, postfix=None):
        pass


def run_jobs(task: Task, jobs: Sequence, *, workers: int = 1, threads: Optional[int] = None,
             progress=None, state: Any = None) -> List[Any]:
    """Run ``task`` on every job and return the results in job order.

    Args:
        task: a `Task` (pickled to the workers when ``workers > 1``).
        jobs: picklable job descriptions.
        workers: processes; ``1`` runs in this process, more spawn that many workers (at most one per job).
        threads: torch threads per process (``None``: unchanged); restored in this process afterwards.
        progress: an `equinet.utils.progress.Progress` (or any object with ``update(n, postfix=None)``
            and a ``desc`` attribute) that receives every job's progress; ``None`` for none.
        state: this process's ``task.prepare()`` if the caller already built it (used when running serially).
    """
    if not isinstance(task, Task):
        raise TypeError(f"task must be an equinet.experiments.runner.Task, got {type(task).__name__}")
    jobs = list(jobs)
    workers = min(check_positive_int(workers, "workers"), max(1, len(jobs)))
    bar = progress if progress is not None else _NullProgress()
    if workers == 1:
        with thread_limit(threads):
            if state is None and jobs:
                state = task.prepare()
            results = []
            for job in jobs:
                bar.desc = f"{_base(bar.desc)} [{task.describe(job)}]"
                results.append(task.run(job, state, bar))
            return results
    return _run_parallel(task, jobs, workers, threads, bar)


def _base(desc: str) -> str:
    return (desc or "").split(" [", 1)[0]


class _QueueProgress:
    """Stands in for the progress bar inside a worker: batches step counts and sends them to the main process."""

    def __init__(self, queue, index: int, interval: float = 0.25):
        self.queue, self.index, self.interval = queue, index, interval
        self.pending, self.postfix, self.last, self.desc = 0, None, time.monotonic(), ""

    def update(self, n=1, postfix=None):
        self.pending += n
        if postfix is not None:
            self.postfix = postfix
        if time.monotonic() - self.last >= self.interval:
            self.flush()

    def write(self, text: str) -> None:
        self.flush()
        self.queue.put(("write", self.index, text))

    def flush(self):
        if self.pending:
            self.queue.put(("progress", self.index, (self.pending, self.postfix)))
            self.pending, self.last = 0, time.monotonic()


class _Terminate:
    """SIGTERM handler of a worker: unwind the job (pending atomic writes are removed; checkpoints already
    written stay) and exit without waiting for queued messages nobody will read."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, signum, frame):
        self.queue.cancel_join_thread()
        raise SystemExit(128 + signum)


def _worker_main(task: Task, threads: Optional[int], jobs_q, msg_q) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C and terminates us
    signal.signal(signal.SIGTERM, _Terminate(msg_q))
    if threads is not None:
        torch.set_num_threads(threads)  # this process is the runner's own
    state, prepared = None, False
    while True:
        item = jobs_q.get()
        if item is None:
            return
        index, job = item
        bar = _QueueProgress(msg_q, index)
        try:
            if not prepared:
                state, prepared = task.prepare(), True
            result = task.run(job, state, bar)
        except Exception as err:  # reported to the main process, which stops the run
            bar.flush()
            msg_q.put(("error", index, (_picklable(err), traceback.format_exc())))
            return
        bar.flush()
        msg_q.put(("done", index, result))


def _picklable(err: BaseException):
    import pickle
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return WorkerError(f"{type(err).__name__}: {err}")


def _run_parallel(task: Task, jobs: list, workers: int, threads: Optional[int], bar) -> List[Any]:
    import multiprocessing as mp
    ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock; spawn is portable
    jobs_q, msg_q = ctx.Queue(), ctx.Queue()
    for item in enumerate(jobs):
        jobs_q.put(item)
    for _ in range(workers):
        jobs_q.put(None)
    procs = [ctx.Process(target=_worker_main, args=(task, threads, jobs_q, msg_q), daemon=True,
                         name=f"equinet-worker-{k}") for k in range(workers)]
    results: dict = {}
    running: dict = {}
    base = _base(bar.desc)
    previous = _interrupt_on_sigterm()
    try:
        for p in procs:
            p.start()
        while len(results) < len(jobs):
            try:
                kind, index, payload = msg_q.get(timeout=0.2)
            except queue_mod.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise WorkerError(f"worker {dead[0].name} exited with code {dead[0].exitcode} before the "
                                      f"run finished (out of memory?)")
                continue
            name = task.describe(jobs[index])
            if kind == "progress":
                running[index] = name
                bar.desc = f"{base} [" + ", ".join(running.values()) + "]"
                bar.update(payload[0], postfix=payload[1])
            elif kind == "write":
                (bar.write if hasattr(bar, "write") else print)(payload)
            elif kind == "done":
                results[index] = payload
                running.pop(index, None)
            else:
                err, tb = payload
                raise err from WorkerError(f"job {name!r} failed in a worker process:\n{tb}")
        for p in procs:
            p.join()
    finally:
        _stop(procs, (jobs_q, msg_q))
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return [results[i] for i in range(len(jobs))]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _interrupt_on_sigterm():
    """In the main thread, make SIGTERM stop a parallel run like Ctrl-C does (workers stopped, checkpoints kept;
    a background run ignores SIGINT, so `kill PID` is how it is stopped). Returns the previous handler."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def _stop(procs, queues, grace: float = 5.0) -> None:
    """Terminate the workers still running, wait for them (no orphans, no zombies) and close the queues."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        if p.pid is None:
            continue
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()
    for q in queues:
        q.cancel_join_thread()  # do not block on items nobody will read
        q.close()

