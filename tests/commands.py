"""Run command-line cases as real processes, many per interpreter start.

Every command pays torch's import (~2 s). `run_cases` starts ONE driver process (``python -c ...``) that imports
torch and equinet once, then forks one child per case: the child sets a memory cap (``RLIMIT_AS``) and a
file-size cap, redirects its stdout/stderr to files, changes into the case's own empty folder and runs the module
as ``python -m MODULE ARGS`` would (``runpy.run_module(..., run_name="__main__")``, ``sys.argv`` set, an uncaught
exception printed with its traceback and exit status 1, ``SystemExit`` handled like the interpreter does). The
driver kills a child that outlives the timeout (exit status ``None``). Each result holds the exit status, stdout,
stderr and the files the case left behind in its folder.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEMORY_CAP = 6 * 2 ** 30  # bytes of address space per case (torch alone maps ~0.7 GB)


@dataclass
class Case:
    """``python -m module *args`` run in a fresh folder holding ``files`` (name -> text or bytes)."""

    name: str
    module: str
    args: Sequence[str]
    files: Dict[str, object] = field(default_factory=dict)
    timeout: float = 30.0
    file_size_limit: Optional[int] = None  # bytes (RLIMIT_FSIZE): a "full disk" for the files the case writes


@dataclass
class Result:
    case: Case
    status: Optional[int]  # None: killed after the timeout
    stdout: str
    stderr: str
    left: List[str]  # paths (relative to the case's folder) that exist after the run, minus the case's own files
    seconds: float

    @property
    def stderr_lines(self) -> List[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


_DRIVER = r'''
import io, json, os, resource, runpy, signal, sys, time, traceback
root, cap = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, root)
import importlib
import torch, equinet  # noqa: F401  (paid once, shared by every case)
for m in ("equinet.utils.cli", "equinet.training.cli", "equinet.training.trainer", "equinet.experiments.comparison",
          "equinet.experiments.reproduce", "equinet.experiments.reproduce.common", "equinet.diagnostics",
          "equinet.testing.equivariance", "equinet.demo_basis", "equinet.losses", "equinet.nets", "equinet.physics",
          "equinet.unrolled", "equinet.transforms", "equinet.data"):
    try:  # what the commands import, paid once too (not the __main__ modules: runpy runs them)
        importlib.import_module(m)
    except ImportError:  # pragma: no cover - an older equinet (e.g. counting an earlier version's failures)
        pass
for name in __import__("equinet.experiments.reproduce", fromlist=["REPRODUCTIONS"]).REPRODUCTIONS.values():
    importlib.import_module("equinet.experiments.reproduce." + name)
torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])  # its first construction imports torch._dynamo (seconds)
cases = json.load(sys.stdin)
out = []
for c in cases:
    err_path, out_path = os.path.join(c["tmp"], ".stderr"), os.path.join(c["tmp"], ".stdout")
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            if c["fsize"] is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (c["fsize"], c["fsize"]))
            fo, fe = os.open(out_path, os.O_WRONLY | os.O_CREAT), os.open(err_path, os.O_WRONLY | os.O_CREAT)
            os.dup2(fo, 1); os.dup2(fe, 2)
            sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), write_through=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
            os.chdir(c["cwd"])
            sys.argv = [c["module"]] + c["args"]
            code = 0
            try:
                runpy.run_module(c["module"], run_name="__main__", alter_sys=True)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if e.code is not None and not isinstance(e.code, int):
                    print(e.code, file=sys.stderr)
            except KeyboardInterrupt:
                traceback.print_exc(); code = 130
            except BaseException:
                traceback.print_exc(); code = 1
        except BaseException:
            traceback.print_exc(); code = 1
        try:
            sys.stdout.flush(); sys.stderr.flush()
        finally:
            os._exit(code)
    deadline, status = t0 + c["timeout"], None
    while True:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL); os.waitpid(pid, 0)
            break
        time.sleep(0.02)
    out.append({"status": status, "seconds": time.monotonic() - t0})
json.dump(out, sys.stdout)
'''


def run_cases(cases: Sequence[Case], tmp_path, memory_cap: int = MEMORY_CAP) -> List[Result]:
    """Run every case (see the module docstring) in its own folder under ``tmp_path``; results in case order."""
    specs = []
    for i, c in enumerate(cases):
        base = os.path.join(os.fspath(tmp_path), f"case{i:03d}")
        cwd = os.path.join(base, "cwd")
        os.makedirs(cwd)
        for name, content in c.files.items():
            p = os.path.join(cwd, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if content is None:  # a folder
                os.makedirs(p, exist_ok=True)
                continue
            with open(p, "wb" if isinstance(content, bytes) else "w") as f:
                f.write(content)
        specs.append({"module": c.module, "args": [str(a) for a in c.args], "cwd": cwd, "tmp": base,
                      "timeout": c.timeout, "fsize": c.file_size_limit})
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", COLUMNS="100")
    proc = subprocess.run([sys.executable, "-c", _DRIVER, ROOT, str(memory_cap)], input=json.dumps(specs),
                          capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=sum(c.timeout for c in cases) + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"the case driver failed:\n{proc.stderr}")
    results = []
    for c, s, meta in zip(cases, specs, json.loads(proc.stdout)):
        with open(os.path.join(s["tmp"], ".stdout"), errors="replace") as f:
            out = f.read()
        with open(os.path.join(s["tmp"], ".stderr"), errors="replace") as f:
            err = f.read()
        left = []
        for d, dirs, files in os.walk(s["cwd"]):
            for n in dirs + files:
                rel = os.path.relpath(os.path.join(d, n), s["cwd"])
                if rel not in c.files and not any(k.startswith(rel + os.sep) for k in c.files):
                    left.append(rel)
        results.append(Result(c, meta["status"], out, err, sorted(left), meta["seconds"]))
    return results
