"""Every command meets bad input the same way: one error line naming the value and what is allowed, exit status 2,
no traceback, nothing written, before any work (a memory cap and a timeout turn an allocation or a hang into a
failure). Each case is a real process (`tests.commands`: one interpreter start, one fork per case)."""
from __future__ import annotations

import json
import math
import os
import socket

import pytest
import torch

from tests.commands import Case, run_cases


def toml(cfg: dict) -> str:
    """A TOML document of ``cfg`` (tables, inline tables, arrays of tables under ``loss``)."""
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if v != v else ("inf" if v > 0 else "-inf")
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace('"', '\\"') + '"'
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {val(u)}" for k, u in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(val(u) for u in v) + "]"
        raise TypeError(v)
    lines = [f"{k} = {val(v)}" for k, v in cfg.items() if not isinstance(v, (dict, list))]
    for k, v in cfg.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{a} = {val(b)}" for a, b in v.items() if not isinstance(b, dict)]
            lines += [f"[{k}.{a}]\n" + "\n".join(f"{c} = {val(d)}" for c, d in b.items())
                      for a, b in v.items() if isinstance(b, dict)]
        elif isinstance(v, list):
            for t in v:
                lines.append(f"[[{k}]]")
                lines += [f"{a} = {val(b)}" for a, b in t.items()]
    return "\n".join(lines) + "\n"


def config(**changes) -> str:
    """The tiny valid run (MC on 8x8 denoising) with ``section={key: value}`` changes (None removes a key)."""
    cfg = {"seed": 0,
           "physics": {"name": "denoising", "noise": {"name": "gaussian", "sigma": 0.1}},
           "data": {"image_size": 8, "n_train": 4},
           "model": {"backbone": "dncnn", "net": {"width": 2, "depth": 2}},
           "loss": [{"name": "mc"}],
           "train": {"steps": 2, "batch_size": 2, "progress": False, "plots": False}}
    for sec, upd in changes.items():
        if isinstance(upd, dict) and isinstance(cfg.get(sec), dict):
            for k, v in upd.items():
                if v is None:
                    cfg[sec].pop(k, None)
                elif isinstance(v, dict) and isinstance(cfg[sec].get(k), dict) and k != "noise":
                    cfg[sec][k] = {**cfg[sec][k], **v}
                else:
                    cfg[sec][k] = v
        else:
            cfg[sec] = upd
    return toml(cfg)


def train(name, *args, files=None, **changes):
    files = dict(files or {})
    files.setdefault("run.toml", config(**changes))
    return Case(f"train: {name}", "equinet", ["train", "run.toml", "--out", "run", *args], files)


def _truncated_snapshot() -> bytes:
    """The first half of a file torch.save wrote (a copy interrupted half-way)."""
    import io
    buf = io.BytesIO()
    torch.save({"format": "equinet.portability/1", "cases": {"C8": {"input": torch.zeros(64)}}}, buf)
    return buf.getvalue()[: len(buf.getvalue()) // 2]


EQ, DIAG, PORT, PROOFS = "equinet", "equinet.diagnostics", "equinet.testing.portability", "proofs"
NOISE_FREE = {"name": "denoising", "noise": None}

#: (case, substrings the error line must contain)
USER_ERRORS = [
    # python -m equinet
    (Case("no subcommand", EQ, []), ["compare", "reproduce", "train", "basis"]),
    (Case("unknown subcommand", EQ, ["bogus"]), ["bogus", "compare", "reproduce"]),
    (Case("reproduce without a name", EQ, ["reproduce"]), ["toy-1d"]),
    (Case("unknown reproduction", EQ, ["reproduce", "nope"]), ["nope", "toy-1d"]),
    (Case("reproduce: negative seed", EQ, ["reproduce", "toy-1d", "--seed", "-1"]), ["seed", "-1"]),
    (Case("reproduce: unknown device", EQ, ["reproduce", "toy-1d", "--device", "tpu"]), ["tpu"]),
    (Case("reproduce: zero steps", EQ, ["reproduce", "toy-1d", "--steps", "0"]), ["steps"]),
    (Case("reproduce: output is a file", EQ, ["reproduce", "toy-1d", "--out", "f"], {"f": "x"}), ["'f'"]),
    (Case("reproduce: 10^8 CT views", EQ, ["reproduce", "ei-table1", "--ct-views", "100000000"]), ["100000000"]),
    (Case("reproduce: zero CT steps", EQ, ["reproduce", "ei-table1", "--steps-ct", "0"]), ["steps_ct"]),
    (Case("basis: unknown group", EQ, ["basis", "--group", "C0"]), ["C0"]),
    (Case("basis: huge group", EQ, ["basis", "--group", "C100000"]), ["100000"]),
    (Case("basis: kernel size 1001", EQ, ["basis", "--kernel-size", "1001"]), ["1001"]),
    (Case("basis: negative kernel size", EQ, ["basis", "--kernel-size", "-3"]), ["-3"]),
    (Case("basis: output under a file", EQ, ["basis", "--out", "f/sub"], {"f": "x"}), ["f/sub"]),
    (Case("compare: lr inf", EQ, ["compare", "--lr", "inf"]), ["lr", "inf"]),
    (Case("compare: lr nan", EQ, ["compare", "--lr", "nan"]), ["lr", "nan"]),
    (Case("compare: image size 10^6", EQ, ["compare", "--image-size", "1000000"]), ["1000000"]),
    (Case("compare: 10^8 CT views", EQ, ["compare", "--ct-angles", "100000000"]), ["100000000"]),
    (Case("compare: NaN acceleration", EQ, ["compare", "--mri-acceleration", "nan"]), ["acceleration"]),
    (Case("compare: inf CT noise", EQ, ["compare", "--ct-noise", "inf"]), ["noise"]),
    (Case("compare: unknown device", EQ, ["compare", "--device", "tpu"]), ["tpu"]),
    (Case("compare: negative seed", EQ, ["compare", "--seed", "-1"]), ["seed"]),
    (Case("compare: kernel size 1001", EQ, ["compare", "--kernel-size", "1001"]), ["1001"]),
    (Case("compare: output is a file", EQ, ["compare", "--out", "f"], {"f": "x"}), ["'f'"]),
    (Case("compare: unknown flag", EQ, ["compare", "--bogus"]), ["--bogus"]),
    # python -m equinet train
    (train("lr = inf", train={"lr": math.inf}), ["train.lr", "inf"]),
    (train("lr = nan", train={"lr": math.nan}), ["train.lr", "nan"]),
    (train("weight decay nan", train={"weight_decay": math.nan}), ["weight_decay"]),
    (train("grad_clip inf", train={"grad_clip": math.inf}), ["grad_clip"]),
    (train("micro-batches > batch", train={"micro_batches": 4}), ["micro_batches"]),
    (train("data range 0", train={"data_range": 0.0}), ["data_range"]),
    (train("duplicate loss names", loss=[{"name": "mc"}, {"name": "mc"}]), ["mc"]),
    (train("SURE on a noise-free operator", physics=NOISE_FREE, loss=[{"name": "sure_gaussian"}]),
     ["noise"]),
    (train("checkpoint path is a folder", files={"run/checkpoint.pt": None}), ["checkpoint.pt"]),
    (train("non-UTF-8 config", files={"run.toml": "seed = 0 # caf\xe9\n".encode("latin-1")}), ["run.toml"]),
    (train("binary config", files={"run.toml": bytes(range(256))}), ["run.toml"]),
    (train("config is a folder", files={"run.toml": None}), ["run.toml"]),
    (Case("train: config missing", EQ, ["train", "missing.toml", "--out", "run"]), ["missing.toml"]),
    (train("10^9 training images", data={"n_train": 1_000_000_000}), ["n_train"]),
    (train("image size 10^6", data={"image_size": 1_000_000}), ["image_size"]),
    (train("blur sigma 10^6", physics={"name": "blur", "kernel_sigma": 1e6}), ["sigma"]),
    (train("blur sigma nan", physics={"name": "blur", "kernel_sigma": math.nan}), ["sigma"]),
    (train("10^8 CT views", physics={"name": "radon", "angles": 100_000_000}), ["100000000", "GB"]),
    (train("U-Net with 40 scales", model={"backbone": "unet", "scales": 40}), ["scales"]),
    (train("group C100000", model={"net": {"group": "C100000"}}), ["100000", "1024"]),
    (train("kernel size 1001", model={"net": {"kernel_size": 1001}}), ["kernel_size"]),
    (train("MRI acceleration nan", physics={"name": "mri", "acceleration": math.nan}), ["acceleration"]),
    (train("noise sigma nan", physics={"name": "denoising", "noise": {"name": "gaussian", "sigma": math.nan}}),
     ["sigma"]),
    (train("noise sigma inf", physics={"name": "denoising", "noise": {"name": "gaussian", "sigma": math.inf}}),
     ["sigma"]),
    (train("EI weight inf", physics={"name": "inpainting", "drop": 0.3},
           loss=[{"name": "mc"}, {"name": "ei", "weight": math.inf, "transform": {"name": "rot90"}}]), ["weight"]),
    (train("out is a file", files={"run": "x"}), ["'run'"]),
    (train("--resume from a corrupt checkpoint", "--resume", files={"run/checkpoint.pt": b"PK\x03\x04garbage"}),
     ["checkpoint.pt"]),
    (train("unknown device", device="tpu"), ["tpu"]),
    (train("unknown flag", "--bogus"), ["--bogus"]),
    # python -m equinet.diagnostics
    (Case("diagnostics: --exact 0", DIAG, ["--exact", "0"]), ["--exact", "0"]),
    (Case("diagnostics: --exact -1", DIAG, ["--exact", "-1"]), ["--exact"]),
    (Case("diagnostics: --probe 100000", DIAG, ["--probe", "100000"]), ["100000"]),
    (Case("diagnostics: --probe 0", DIAG, ["--probe", "0"]), ["--probe"]),
    (Case("diagnostics: JSON under a file", DIAG, ["--exact", "--probe", "--json", "f/out.json"], {"f": "x"}),
     ["f/out.json"]),
    # python -m equinet.testing.portability
    (Case("portability: garbage file", PORT, ["compare", "snap.pt"], {"snap.pt": b"garbage\x00\x01"}), ["snap.pt"]),
    (Case("portability: a folder", PORT, ["compare", "snap"], {"snap": None}), ["snap"]),
    (Case("portability: truncated file", PORT, ["compare", "snap.pt"], {"snap.pt": _truncated_snapshot()}),
     ["snap.pt"]),
    (Case("portability: missing file", PORT, ["compare", "snap.pt"]), ["snap.pt"]),
    (Case("portability: save under a file", PORT, ["save", "f/snap.pt"], {"f": "x"}), ["f/snap.pt"]),
    (Case("portability: unknown command", PORT, ["bogus", "x"]), ["bogus"]),
    # python -m proofs
    (Case("proofs: unknown claim", PROOFS, ["--only", "99"]), ["99"]),
    (Case("proofs: not a number", PROOFS, ["--only", "abc"]), ["abc"]),
]

def _live_lock() -> str:
    """A lock file held by this (live) test process (its start time as `equinet.utils.lock` reads it)."""
    with open(f"/proc/{os.getpid()}/stat") as f:
        start = f.read().rsplit(")", 1)[1].split()[19]
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "start": start,
                       "command": "python -m equinet train other.toml", "since": "2026-01-01 00:00:00"})


LOCKED = {"run/.equinet.lock": _live_lock()}
USER_ERRORS += [
    (train("folder in use", files=LOCKED), ["in use", str(os.getpid())]),
    (train("--resume of a live run", "--resume", files=LOCKED), ["in use", str(os.getpid())]),
    (Case("compare: folder in use", EQ, ["compare", "--out", "run"], LOCKED), ["in use", str(os.getpid())]),
    (Case("reproduce: folder in use", EQ, ["reproduce", "toy-1d", "--out", "run"], LOCKED),
     ["in use", str(os.getpid())]),
]

#: a full disk while the run writes: one line naming the file, exit status 1, no half-written file
DISK_FULL = [Case("train: disk full", EQ, ["train", "run.toml", "--out", "run"], {"run.toml": config()},
                  file_size_limit=4096)]

HELP = [Case(f"help: {m} {' '.join(a)}", m, a) for m, a in [
    (EQ, ["--help"]), (EQ, ["compare", "--help"]), (EQ, ["basis", "--help"]), (EQ, ["train", "--help"]),
    (EQ, ["reproduce", "--help"]), (EQ, ["reproduce", "toy-1d", "--help"]), (DIAG, ["--help"]),
    (PORT, ["--help"]), (PROOFS, ["--help"])]]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    cases = [c for c, _ in USER_ERRORS] + HELP + DISK_FULL
    return dict(zip([c.name for c in cases], run_cases(cases, tmp_path_factory.mktemp("bad"))))


def _check_user_error(r, needles) -> list:
    problems = []
    if r.status is None:
        return [f"still running after {r.case.timeout:.0f} s (killed)"]
    if r.status != 2:
        problems.append(f"exit status {r.status}, expected 2")
    if "Traceback" in r.stderr:
        problems.append("traceback")
    if len(r.stderr_lines) != 1:
        problems.append(f"{len(r.stderr_lines)} stderr lines, expected 1")
    missing = [n for n in needles if n not in r.stderr]
    if missing:
        problems.append(f"message lacks {missing}")
    if r.left:
        problems.append(f"wrote {r.left[:4]}")
    return problems


@pytest.mark.parametrize("case,needles", USER_ERRORS, ids=[c.name for c, _ in USER_ERRORS])
def test_user_error(results, case, needles):
    r = results[case.name]
    problems = _check_user_error(r, needles)
    assert not problems, f"{case.name}: {'; '.join(problems)}\nstderr: {r.stderr[-1500:]}"


@pytest.mark.parametrize("case", HELP, ids=[c.name for c in HELP])
def test_help_is_plain_text(results, case):
    r = results[case.name]
    assert r.status == 0 and not r.stderr.strip(), (r.status, r.stderr[-1500:])
    assert "``" not in r.stdout and "__main__" not in r.stdout and ":func:" not in r.stdout, r.stdout
    assert r.stdout.startswith("usage: python -m "), r.stdout[:200]
    assert not r.left


@pytest.mark.parametrize("case", DISK_FULL, ids=[c.name for c in DISK_FULL])
def test_full_disk_is_one_line_naming_the_file(results, case):
    r = results[case.name]
    assert r.status == 1 and "Traceback" not in r.stderr, r.stderr[-1500:]
    last = r.stderr_lines[-1]
    assert last.startswith("python -m equinet train: error: cannot write") and "checkpoint.pt" in last, last
    assert "File too large" in last and "whole" in last, last
    assert not [p for p in r.left if ".tmp-" in p], r.left  # no half-written temporary left behind
    assert "run/checkpoint.pt" not in r.left


def test_top_level_help_lists_every_subcommand(results):
    out = results["help: equinet --help"].stdout
    for name in ("compare", "basis", "train", "reproduce"):
        assert name in out


# ------------------------------------------------------------------------------------- non-finite results
def _snapshot(path, mutate):
    from equinet.testing import portability
    snap = portability.snapshot()
    mutate(snap)
    torch.save(snap, path)


def test_portability_compare_fails_on_nan_outputs_and_on_no_cases(tmp_path, capsys):
    """NaN > tol is False: a comparison written as `diff > tol` passes NaN; zero cases compare nothing."""
    import equinet.testing.portability as P
    from equinet.utils.cli import run_command

    def nan_outputs(s):
        for c in s["cases"].values():
            c["output"] = torch.full_like(c["output"], float("nan"))

    def inf_basis(s):
        c = next(iter(s["cases"].values()))
        next(iter(c["bases"].values())).view(-1)[0] = float("inf")

    def no_cases(s):
        s["cases"] = {}

    for mutate, status in ((nan_outputs, 1), (inf_basis, 1), (no_cases, 2)):
        path = tmp_path / f"{mutate.__name__}.pt"
        _snapshot(path, mutate)
        assert run_command(P.main, ["compare", str(path)], prog="portability") == status, mutate.__name__
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    ok = tmp_path / "ok.pt"
    _snapshot(ok, lambda s: None)
    assert run_command(P.main, ["compare", str(ok)], prog="portability") == 0


# ------------------------------------------------------------------------------------------------ the API
def _api_cases():
    from equinet import groups
    from equinet.data import random_ellipses
    from equinet.kernels import steerable_basis_numpy
    from equinet.nets import NetSpec, UNet
    from equinet.physics import MRI, Radon, gaussian_kernel
    from equinet.unrolled import UnrolledPGD
    C8 = groups.cyclic(8)
    return {
        "Radon with 10^8 views": (lambda: Radon(64, angles=100_000_000), r"100000000 views.*TB of memory"),
        "image size 10^6": (lambda: Radon(1_000_000, angles=2), r"1000000x1000000 image.*TB of memory"),
        "blur sigma 10^6": (lambda: gaussian_kernel(1e6), r"Gaussian kernel of 6000001x6000001.*of memory"),
        "C_100000": (lambda: groups.cyclic(100_000), r"N = 100000 is above the supported maximum 1024"),
        "kernel size 1001": (lambda: steerable_basis_numpy(C8.trivial, C8.regular, 1001), r"kernel_size = 1001"),
        "NetSpec kernel 1001": (lambda: NetSpec(group="C8", kernel_size=1001), r"kernel_size = 1001"),
        "NetSpec width 10^5": (lambda: NetSpec(group="C8", width=100_000), r"800000 channels.*of memory"),
        "U-Net 40 scales": (lambda: UNet(NetSpec(group="C4", width=2), scales=40), r"scales <= 10"),
        "U-Net too wide at the bottom": (lambda: UNet(NetSpec(group="C8", width=64), scales=10),
                                         r"channels at the bottom.*of memory"),
        "10^9 phantoms": (lambda: random_ellipses(1_000_000_000, 64), r"1000000000 phantoms.*of memory"),
        "MRI acceleration inf": (lambda: MRI(16, acceleration=float("inf")), r"finite number >= 1, got inf"),
        "10^6 unrolled iterations": (lambda: UnrolledPGD(Radon(16, angles=4), NetSpec(group="C1"), n_iter=10 ** 6),
                                     r"n_iter = 1000000 is above"),
    }


@pytest.mark.parametrize("name", list(_api_cases()))
def test_impossible_sizes_are_refused_by_the_constructors_before_allocating(name):
    """Each is refused by a bound or a memory estimate (an allocation would raise MemoryError or RuntimeError)."""
    build, match = _api_cases()[name]
    with pytest.raises(ValueError, match=match):
        build()


def test_fbp_of_an_empty_batch_is_empty():
    from equinet.physics import Radon
    A = Radon(16, angles=8, circle=False)
    y = A(torch.zeros(0, 1, 16, 16))
    assert A.pinv(y).shape == (0, 1, 16, 16) and A.fbp(y, filter=None).shape == (0, 1, 16, 16)


def test_a_signature_that_is_json_but_not_an_object_is_refused_cleanly():
    from equinet import groups
    from equinet.nn import FieldType, SteerableConv2d
    C4 = groups.cyclic(4)
    conv = SteerableConv2d(FieldType.trivial(C4), FieldType.regular(C4, 1), 3)
    sd = conv.state_dict()
    sd["_extra_state"] = torch.tensor(list(b"[1, 2, 3]"), dtype=torch.uint8)
    with pytest.raises(ValueError, match="a JSON object was expected, got list"):
        conv.load_state_dict(sd)
