"""Alias-free nonlinearity (issue 12, item 1): off-grid equivariance and cost, ratios measured in one run.

A. 45° error of the stack of bench_layers.py item [4] (C8 lifting k=5 -> σ -> group conv k=5 -> mean pooling,
   8 regular fields), equinet with σ = ReLU and σ = alias-free ReLU vs escnn with σ = ReLU (escnn's own filters
   with the alias-free ReLU too, for reference), each library's initialisation, the same analytic inputs:
   'smooth' (Gaussian blobs, σ 1.5-3 px), 'sharper' (blobs of σ 0.75-1.5 px) and 'sharp' (hard-edged discs).
   Exact evaluation, no interpolation: for every output pixel x of a central disk, the stack is run on a patch of
   the analytic input sampled at x + P (P: the integer offsets of a patch wider than the receptive field), once
   on the rotated input (T_g u) and once at the rotated point (H⁻¹x + P), and the centre outputs are compared.
   For the ReLU this is the protocol of ``equinet.kernels.diagnostics.stack_equivariance_error`` (checked below:
   same numbers to float precision); unlike it, any shape-preserving layer (here the alias-free one) fits in.
B. 45° error of the untrained C8 DnCNN (width 4, depth 5, k = 5) with 'relu' and 'relu_aa' vs the Reynolds
   average (8 passes, Fourier rotations) of the plain ReLU DnCNN of the same channel count: bench_layers.py
   item [5], on its smooth inputs and on sharper ones (blob widths 0.75-1.5 px).
C. train step (forward + backward) of a C8 16-field k = 5 SteerableConv2d + AliasFreeNonlinearity vs nn.Conv2d +
   nn.ReLU of the same width (128 channels), 64x64, batch 2, interleaved medians; NCHW tensors, and again with
   channels-last input (and channels-last nn.Conv2d weights) for every candidate.
D. (--only D) the quick CT comparison with a chosen variant of the alias-free ReLU in every proximal network:
   ``python -m equinet compare --activation relu_aa`` run in this process with `equinet.nn.AliasFreeNonlinearity`
   replaced by the variant (--ct-variant square|quincunx|quincunx_bypass; 'square' is the default relu_aa);
   extra options after '--' go to compare, e.g. -- --models cnn --train-sizes 10 --workers 1 --threads 1.
A, B and C also measure the quincunx variant (QuincunxAliasFreeNonlinearity, 'relu_aa_q') and the same with only
the |x| part of ReLU filtered ('relu_aa_q_bypass'); docs/alias_free.md.

    python experiments/benchmarks/bench_alias_free.py [--only ABC] [--seeds 5] [--cutoffs 0.3,0.4] [--json out]

escnn is optional (run with .venv-ref/bin/python to get its columns). No assertions: the output is the result.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))
from bench_layers import have_escnn, offgrid_error, timeit_interleaved  # noqa: E402
from equinet import groups  # noqa: E402
from equinet import nn as enn  # noqa: E402
from equinet.kernels.diagnostics import analytic_field, stack_equivariance_error  # noqa: E402
from equinet.nn.alias_free_quincunx import QuincunxAliasFreeNonlinearity  # noqa: E402
from equinet.nets import Activation, NetSpec, build  # noqa: E402
from equinet.utils import write_json  # noqa: E402

warnings.filterwarnings("ignore")

KINDS = ("smooth", "sharper", "sharp")
SHARPER_SIGMA_PX = (0.75, 1.5)


def sharper_field(seed: int, extent: float, n_items: int = 24):
    """Like analytic_field('smooth') with blob widths 0.75-1.5 px (content up to the Nyquist frequency)."""
    rng = np.random.default_rng(seed)
    rad = extent * np.sqrt(rng.uniform(0, 1, n_items))
    ang = rng.uniform(0, 2 * np.pi, n_items)
    centres = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
    amps = rng.standard_normal((n_items, 1))
    sig = rng.uniform(*SHARPER_SIGMA_PX, n_items)

    def u(pts):
        d2 = ((pts[:, None, :] - centres[None]) ** 2).sum(-1)
        return np.exp(-0.5 * d2 / sig[None] ** 2) @ amps
    return u


def field(kind: str, seed: int, extent: float):
    return sharper_field(seed, extent) if kind == "sharper" else analytic_field(kind, 1, seed, extent)


def patch_stack_error(w_first, act, w_last, H, kind="smooth", seed=0, radius=10.0, act_reach=3):
    """Exact 45° error of the stack ``w_last ⋆ act(w_first ⋆ u)`` (module docstring, part A): ``act`` is any
    shape-preserving torch layer whose output at a pixel depends on inputs within ``act_reach`` pixels. Patches
    are just wide enough for the centre output (valid convolutions; act's own border rule never reaches it)."""
    n = int(np.ceil(radius))
    gx, gy = np.meshgrid(np.arange(-n, n + 1, dtype=float), np.arange(-n, n + 1, dtype=float))
    X = np.stack([gx.ravel(), gy.ravel()], axis=1)
    X = X[(X ** 2).sum(1) <= radius ** 2]
    r1, r2 = w_first.shape[-1] // 2, w_last.shape[-1] // 2
    reach = r1 + act_reach + r2
    S = 2 * reach + 1
    rows, cols = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
    P = np.stack([cols.ravel() - reach, reach - rows.ravel()], axis=1).astype(float)
    u = field(kind, seed, radius + 4 * np.sqrt(2))  # the inputs of stack_equivariance_error (two k = 5 convs)
    Hinv = np.linalg.inv(H)
    w1, w2 = torch.as_tensor(w_first, dtype=torch.float64), torch.as_tensor(w_last, dtype=torch.float64)
    c = act_reach + r2  # centre of the first convolution's (valid) output

    def run(pts):
        v = torch.as_tensor(u(pts.reshape(-1, 2))).reshape(len(X), 1, S, S)
        with torch.no_grad():
            h = act(F.conv2d(v, w1))[:, :, c - r2:c + r2 + 1, c - r2:c + r2 + 1]
            return torch.einsum("oikl,nikl->no", w2, h).numpy()
    out1 = run((X[:, None, :] + P[None]) @ Hinv.T)       # the stack on the rotated input, at x
    out2 = run((X @ Hinv.T)[:, None, :] + P[None])       # the stack on the input, at H⁻¹x (trivial output fields)
    return float(np.linalg.norm(out1 - out2) / np.linalg.norm(out2))


def stack_weights(seeds):
    """Per seed: (library, lifting weight, pooled group-conv weight) for equinet and, if installed, escnn."""
    G = groups.cyclic(8)
    fin, ft = enn.FieldType.trivial(G, 1), enn.FieldType.regular(G, 8)
    pool = np.kron(np.eye(8), np.ones((1, 8)) / 8)  # mean over each regular field
    out = []
    for s in seeds:
        torch.manual_seed(s)
        c1, c2 = enn.SteerableConv2d(fin, ft, 5), enn.SteerableConv2d(ft, ft, 5)
        out.append(("equinet", s, c1.expand()[0].detach().double().numpy(),
                    np.einsum("pc,cikl->pikl", pool, c2.expand()[0].detach().double().numpy())))
        if have_escnn():
            from escnn import gspaces, nn as esn
            gs = gspaces.rot2dOnR2(8)
            efin, eft = esn.FieldType(gs, [gs.trivial_repr]), esn.FieldType(gs, 8 * [gs.regular_repr])
            e1, e2 = esn.R2Conv(efin, eft, 5, padding=2), esn.R2Conv(eft, eft, 5, padding=2)
            out.append(("escnn", s, e1.expand_parameters()[0].detach().double().numpy(),
                        np.einsum("pc,cikl->pikl", pool, e2.expand_parameters()[0].detach().double().numpy())))
    return out


def bench_stack(args, res):
    G = groups.cyclic(8)
    H = G.element(steps=1).matrix
    ft = enn.FieldType.regular(G, 8)
    acts = {"relu": F.relu, "relu_aa": enn.AliasFreeNonlinearity(ft).double(), "none": lambda a: a,
            "relu_aa_q": QuincunxAliasFreeNonlinearity(ft).double(),
            "relu_aa_q_bypass": QuincunxAliasFreeNonlinearity(ft, linear_bypass=True).double()}
    for c in args.cutoffs:
        acts[f"relu_aa(cutoff={c})"] = enn.AliasFreeNonlinearity(ft, cutoff=c).double()
    weights = stack_weights(range(args.seeds))
    errs = {}
    check = 0.0
    for lib, s, W1, W2 in weights:
        for act_name, act in acts.items():
            if lib == "escnn" and act_name not in ("relu", "relu_aa"):
                continue
            for kind in KINDS:
                e = patch_stack_error(W1, act, W2, H, kind, seed=100 + s, act_reach=4 if "aa" in act_name else 0)
                errs.setdefault((lib, act_name, kind), []).append(e)
                if act_name == "relu" and kind != "sharper" and s == 0:  # reproduces bench_layers item [4]
                    ref = stack_equivariance_error([W1, W2], lambda a: np.maximum(a, 0.0), H, np.eye(1),
                                                   np.eye(8), kind=kind, seed=100 + s)
                    check = max(check, abs(e - ref) / ref)
    mean = {k: float(np.mean(v)) for k, v in errs.items()}
    res["stack_evaluator_vs_stack_equivariance_error_max_rel_diff"] = check
    print(f"[A] C8 lifting (k=5) -> σ -> group conv (k=5) -> mean pooling, 8 regular fields, 45°, exact evaluation, "
          f"{args.seeds} seeds (evaluator vs stack_equivariance_error, ReLU, seed 0: max rel. difference "
          f"{check:.1e})")
    print(f"    {'library, σ':34s}" + "".join(f"{k:>22s}" for k in KINDS))
    base = {k: mean.get(("escnn", "relu", k)) for k in KINDS}
    for lib in ("equinet", "escnn"):
        for act_name in acts:
            if (lib, act_name, "smooth") not in mean:
                continue
            line = f"    {lib + ', ' + act_name:34s}"
            for k in KINDS:
                m = mean[(lib, act_name, k)]
                res[f"stack45_{lib}_{act_name}_{k}"] = m
                ratio = f" ({m / base[k]:.2f}x)" if base[k] else ""
                line += f"{m:>13.2e}{ratio:>9s}"
            print(line)
    if base["smooth"]:
        print("    (ratios: / escnn ReLU stack on the same inputs; goal for equinet relu_aa: <= 0.5x; 'none': no "
              "nonlinearity, the kernels' own error)")


@contextlib.contextmanager
def blob_widths(sigma_px):
    """Temporarily narrower blobs in the smooth inputs of equinet.testing (None: unchanged)."""
    from equinet.testing import _fields
    old = _fields.SIGMA_PX
    if sigma_px is not None:
        _fields.SIGMA_PX = tuple(sigma_px)
    try:
        yield
    finally:
        _fields.SIGMA_PX = old


def swap_quincunx(net, bypass=False):
    """Replace every AliasFreeNonlinearity of ``net`` (in place) by the quincunx variant on the same field type."""
    for name, child in net.named_children():
        if isinstance(child, enn.AliasFreeNonlinearity):
            setattr(net, name, QuincunxAliasFreeNonlinearity(child.in_type, child.function, linear_bypass=bypass))
        else:
            swap_quincunx(child, bypass)
    return net


def bench_dncnn(args, res):
    G = groups.cyclic(8)
    els = G.elements()

    def averaged(plain):
        return lambda u: sum(groups.act(g.inverse, plain(groups.act(g, u, method="fourier")), method="fourier")
                             for g in els) / len(els)

    n_init = args.inits
    print(f"[B] untrained C8 DnCNN (width 4 = 32 ch, depth 5, k=5) vs the Reynolds average of a plain ReLU DnCNN "
          f"(32 ch), 45°, {n_init} inits x 3 inputs")
    for kind, sig in (("smooth", None), ("sharper", SHARPER_SIGMA_PX)):
        errs = {"relu": [], "relu_aa": [], "relu_aa_q": [], "relu_aa_q_bypass": [], "reynolds": []}
        for seed in range(n_init):
            for a in ("relu", "relu_aa", "relu_aa_q", "relu_aa_q_bypass"):
                torch.manual_seed(seed)
                spec = NetSpec(G, width=4, depth=5, kernel_size=5, activation=a if a == "relu" else Activation("relu", "radial"))
                eq = build("dncnn", spec).eval()
                if a.startswith("relu_aa_q"):
                    swap_quincunx(eq, bypass=a.endswith("bypass"))
                eq = copy.deepcopy(eq).double()
                if a == "relu":
                    plain = copy.deepcopy(build("dncnn", spec.translation_twin("width")).eval()).double()
                with blob_widths(sig):
                    errs[a].append(offgrid_error(eq))
                    if a == "relu":
                        errs["reynolds"].append(offgrid_error(averaged(plain)))
        m = {k: float(np.mean(v)) for k, v in errs.items()}
        for k, v in m.items():
            res[f"dncnn45_{k}_{kind}"] = v
        print(f"    {kind:8s}: Reynolds {m['reynolds']:.2e} | " + " | ".join(
            f"C8 {a} {m[a]:.2e} ({m[a] / m['reynolds']:.2f}x)" for a in errs if a != "reynolds"))
        print(f"              per init relu_aa {' '.join(f'{e:.1e}' for e in errs['relu_aa'])}, Reynolds "
              f"{' '.join(f'{e:.1e}' for e in errs['reynolds'])}")
    print("    (ratios: / Reynolds average; goal for relu_aa: <= 0.5x)")


def bench_step(args, res):
    G = groups.cyclic(8)
    ft = enn.FieldType.regular(G, 16)
    x = torch.randn(args.batch, ft.size, args.size, args.size)
    plain = torch.nn.Sequential(torch.nn.Conv2d(ft.size, ft.size, 5, padding=2), torch.nn.ReLU())
    aa = enn.EquivariantSequential(enn.SteerableConv2d(ft, ft, 5), enn.AliasFreeNonlinearity(ft))
    relu = enn.EquivariantSequential(enn.SteerableConv2d(ft, ft, 5), enn.ReLU(ft))
    q = enn.EquivariantSequential(enn.SteerableConv2d(ft, ft, 5), QuincunxAliasFreeNonlinearity(ft))
    qb = enn.EquivariantSequential(enn.SteerableConv2d(ft, ft, 5),
                                   QuincunxAliasFreeNonlinearity(ft, linear_bypass=True))
    cl = torch.channels_last
    x_cl = x.contiguous(memory_format=cl)
    plain_cl = copy.deepcopy(plain).to(memory_format=cl)

    def step(m, inp=x):
        def f():
            m.zero_grad(set_to_none=True)
            m(inp).square().mean().backward()
        return f
    t = timeit_interleaved([step(plain), step(aa), step(relu), step(q), step(qb), step(plain_cl, x_cl),
                            step(aa, x_cl), step(relu, x_cl)], args.repeats)
    t_plain, t_aa, t_relu, t_q, t_qb, t_plain_cl, t_aa_cl, t_relu_cl = t
    res.update(step_plain_relu_s=t_plain, step_c8_relu_aa_s=t_aa, step_c8_relu_s=t_relu, step_c8_relu_aa_q_s=t_q,
               step_c8_relu_aa_q_bypass_s=t_qb, step_plain_relu_channels_last_s=t_plain_cl,
               step_c8_relu_aa_channels_last_s=t_aa_cl, step_c8_relu_channels_last_s=t_relu_cl)
    print(f"[C] fwd+bwd, 128 channels (C8: 16 regular fields), k=5, {args.size}x{args.size}, batch {args.batch}, "
          f"median of {args.repeats} interleaved runs, {torch.get_num_threads()} threads")
    print(f"    NCHW: nn.Conv2d + ReLU {t_plain * 1e3:.1f} ms | C8 + relu_aa {t_aa * 1e3:.1f} ms (ratio "
          f"{t_aa / t_plain:.2f}x; goal <= 1.3x) | C8 + ReLU {t_relu * 1e3:.1f} ms ({t_relu / t_plain:.2f}x)")
    print(f"          C8 + relu_aa_q {t_q * 1e3:.1f} ms ({t_q / t_plain:.2f}x) | C8 + relu_aa_q_bypass "
          f"{t_qb * 1e3:.1f} ms ({t_qb / t_plain:.2f}x)")
    print(f"    channels-last input (and nn.Conv2d weights): nn.Conv2d + ReLU {t_plain_cl * 1e3:.1f} ms | C8 + relu_aa "
          f"{t_aa_cl * 1e3:.1f} ms ({t_aa_cl / t_plain_cl:.2f}x) | C8 + ReLU {t_relu_cl * 1e3:.1f} ms "
          f"({t_relu_cl / t_plain_cl:.2f}x)")


CT_VARIANTS = ("square", "quincunx", "quincunx_bypass")


def bench_ct(args, res):
    import equinet.nn
    from equinet.__main__ import main as equinet_main
    if args.ct_variant != "square":
        bypass = args.ct_variant == "quincunx_bypass"

        def factory(ftype, function="relu", **kw):  # what equinet.nets.proximal builds for 'relu_aa'
            return QuincunxAliasFreeNonlinearity(ftype, function, linear_bypass=bypass, **kw)
        equinet.nn.AliasFreeNonlinearity = factory
    print(f"[D] quick CT comparison, every proximal network's ReLU alias-free: {args.ct_variant}")
    equinet_main(["compare", "--quick", "--operators", "ct", "--alias-free", "radial"] + args.compare_args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="ABC", help="which parts to run, e.g. 'AC' (D, the CT comparison, only "
                    "on request)")
    ap.add_argument("--seeds", type=int, default=5, help="part A: initialisations (and inputs)")
    ap.add_argument("--inits", type=int, default=3, help="part B: initialisations")
    ap.add_argument("--cutoffs", default="", help="part A: also these low-pass cutoffs (equinet), e.g. '0.3,0.45'")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--ct-variant", choices=CT_VARIANTS, default="square", help="part D: the alias-free ReLU")
    ap.add_argument("compare_args", nargs="*", help="part D: options of `python -m equinet compare` (after --)")
    args = ap.parse_args(argv)
    args.cutoffs = [float(c) for c in args.cutoffs.split(",") if c.strip()]
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, escnn {'yes' if have_escnn() else 'no'}")
    res = {}
    parts = {"A": bench_stack, "B": bench_dncnn, "C": bench_step, "D": bench_ct}
    for k in args.only.upper():
        if k in parts:
            parts[k](args, res)
    if args.json:
        write_json(args.json, res)


if __name__ == "__main__":
    main()
