"""Issue 12, item 1: is there an alias-free ReLU that meets the off-grid goals *and* trains as well as the ReLU?

This measures the trade-off on an idealised family instead of another filter design. `BandLimitedReLU(passband,
stopband)` computes, per channel,

    y = Down( R · FFT( ReLU( Up(x) ) ) )

with Up the exact band-limited (FFT zero-padding) 2x upsampling, ReLU on the fine grid, R a radial raised-cosine
window (1 up to ``passband``, 0 from ``stopband`` cycles/px) and Down the crop back to the input's band, on a canvas
zero-padded by ``pad`` px. On positive inputs the layer is exactly the radial filter R (no interpolation blur,
no filter ripple); with ``passband=None`` it is R = 1, i.e. it removes only the aliasing (the harmonics above the
input's Nyquist frequency). A second family has a gradual Gaussian roll-off R = exp(-ρ²/2s²) (members 'gS'); the
square-grid `relu_aa` is close to s = 0.23. Sweeping the band limit traces how off-grid equivariance and
reconstruction quality trade against each other (docs/alias_free.md, F).

For each member it measures, with the protocols of ``experiments/benchmarks/bench_alias_free.py``:
  A  the 45° error of the C8 lifting -> σ -> group conv -> pooling stack (smooth and sharper inputs), as a ratio to
     escnn's ReLU stack on the same seeds (escnn numbers from the same protocol; pass --escnn to recompute them);
  B  the 45° error of the untrained C8 DnCNN (width 4, depth 5), as a ratio to the Reynolds average;
  D  (--ct) the quick CT comparison proxy: held-out PSNR of the parameter-matched CNN (or --models) at 10 images.

    python experiments/diagnose_alias_free_tradeoff.py --members 0.25,0.35,0.45,none --parts AB
    python experiments/diagnose_alias_free_tradeoff.py --members 0.25,none --parts D -- --models cnn --train-sizes 10 \
        --out /tmp/tradeoff   # one folder per member: /tmp/tradeoff/passband_0.25, ...

No assertions: the output is the result.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "benchmarks"))
from equinet.nn.module import EquivariantModule  # noqa: E402

#: the transition width of every member (cycles/px), and escnn's ReLU stack error on seeds 100-102 (A's baseline,
#: docs/alias_free.md A: 3 seeds, the same inputs)
TRANSITION = 0.1
ESCNN_STACK = {"smooth": 7.18e-3, "sharper": 3.30e-2}


def _centred_pad(X, big):
    """Embed a fftshift-ed spectrum [..., n1, n2] in the centre of a zero [..., big1, big2] one (same zero bin)."""
    n1, n2 = X.shape[-2:]
    out = X.new_zeros(X.shape[:-2] + big)
    o1, o2 = big[0] // 2 - n1 // 2, big[1] // 2 - n2 // 2
    out[..., o1:o1 + n1, o2:o2 + n2] = X
    return out


def _centred_crop(X, small):
    b1, b2 = X.shape[-2:]
    o1, o2 = b1 // 2 - small[0] // 2, b2 // 2 - small[1] // 2
    return X[..., o1:o1 + small[0], o2:o2 + small[1]]


def _nyquist_free(n1, n2, device):
    """Mask of the fftshift-ed bins without the Nyquist row/column of even sizes (kept symmetric)."""
    m = torch.ones(n1, n2, device=device)
    if n1 % 2 == 0:
        m[0] = 0
    if n2 % 2 == 0:
        m[:, 0] = 0
    return m


def radial_window(n1, n2, passband, stopband, device=None, dtype=torch.float64, gauss=None):
    """R on the fftshift-ed bins: raised cosine (1 up to ``passband``, 0 from ``stopband``), or, with ``gauss`` = s,
    the Gaussian exp(-ρ²/2s²) (a gradual roll-off like the square layer's, which is close to s = 0.23)."""
    f1 = torch.fft.fftshift(torch.fft.fftfreq(n1, device=device, dtype=dtype))
    f2 = torch.fft.fftshift(torch.fft.fftfreq(n2, device=device, dtype=dtype))
    r = torch.sqrt(f1[:, None] ** 2 + f2[None] ** 2)
    if gauss is not None:
        return torch.exp(-0.5 * (r / gauss) ** 2)
    if passband is None:
        return torch.ones_like(r)
    t = ((r - passband) / (stopband - passband)).clamp(0, 1)
    return 0.5 * (1 + torch.cos(math.pi * t))


class BandLimitedReLU(EquivariantModule):
    """The idealised alias-free ReLU (module docstring). Shape-preserving, exactly equivariant to 90° rotations and
    flips (all filters are real, even and have the square grid's symmetry; Nyquist bins are dropped). ``ftype``:
    the field type (permutation fields), only for type-checked composition."""

    def __init__(self, passband=0.35, stopband=None, pad=16, fn=F.relu, ftype=None, gauss=None):
        super().__init__()
        self.in_type = self.out_type = ftype
        self.gauss = gauss
        self.passband = passband
        self.stopband = None if passband is None else (stopband if stopband is not None else passband + TRANSITION)
        self.pad, self.fn = pad, fn

    def forward(self, x):
        p = self.pad
        xp = F.pad(x, (p, p, p, p))
        n1, n2 = xp.shape[-2:]
        keep = _nyquist_free(n1, n2, x.device)
        X = torch.fft.fftshift(torch.fft.fft2(xp), dim=(-2, -1)) * keep
        fine = torch.fft.ifft2(torch.fft.ifftshift(_centred_pad(X, (2 * n1, 2 * n2)), dim=(-2, -1))).real * 4
        Y = torch.fft.fftshift(torch.fft.fft2(self.fn(fine)), dim=(-2, -1))
        R = radial_window(n1, n2, self.passband, self.stopband, x.device, gauss=self.gauss).to(x.dtype) * keep
        y = torch.fft.ifft2(torch.fft.ifftshift(_centred_crop(Y, (n1, n2)) * R, dim=(-2, -1))).real / 4
        return y[..., p:p + x.shape[-2], p:p + x.shape[-1]].contiguous()

    def extra_repr(self):
        if self.gauss is not None:
            return f"gauss={self.gauss}, pad={self.pad}"
        return f"passband={self.passband}, stopband={self.stopband}, pad={self.pad}"


def spatial_gauss_filter(s, taps=10, pass_edge=0.45, stop=0.6, weights=(10.0, 1.0), grid=121):
    """A read-back filter for the square-grid layer (bilinear upsampling kept) whose response on positive inputs
    approximates exp(-ρ²/2s²): weighted least squares over the fine grid's band, D4-symmetric taps, target
    Gaussian / sinc²(fx)sinc²(fy) (the bilinear upsampling's baseband response) up to ``pass_edge``, 0 from ``stop``
    cycles per input pixel. Returns a taps x taps array summing to 1."""
    from equinet.nn.alias_free_quincunx import _orbit_basis
    w1 = np.linspace(0.0, 1.0, grid)
    fx, fy = (g.ravel() for g in np.meshgrid(w1, w1))
    r = np.hypot(fx, fy)
    P, orbit = _orbit_basis(taps, fx / 2, fy / 2)  # fine-grid taps are half an input pixel apart
    target = np.exp(-0.5 * (r / s) ** 2) / np.maximum(np.sinc(fx) ** 2 * np.sinc(fy) ** 2, 1e-3)
    pas, sto = r <= pass_edge, r >= stop
    wp, ws = weights
    coef = np.linalg.lstsq(np.concatenate([wp * P[pas], ws * P[sto]]),
                           np.concatenate([wp * target[pas], np.zeros(sto.sum())]), rcond=None)[0]
    h = coef[orbit]
    return h / h.sum()


def spatial_layer(s, ftype):
    """The committed square-grid AliasFreeNonlinearity with `spatial_gauss_filter` as its read-back."""
    from equinet import groups
    from equinet.nn import FieldType
    from equinet.nn.alias_free import AliasFreeNonlinearity  # the class itself (part D patches equinet.nn's name)
    ftype = ftype if ftype is not None else FieldType.regular(groups.cyclic(8), 8)
    h = spatial_gauss_filter(s)
    t = h.shape[0]
    lay = AliasFreeNonlinearity(ftype, taps=t)
    lay.lowpass = torch.tensor(h, dtype=lay.lowpass.dtype).expand(ftype.size, 1, t, t).clone()
    return lay


def layer(name, ftype=None):
    """A member by name: '0.3' (raised cosine, passband 0.3), 'g0.3' (Gaussian, s = 0.3), 'none' (R = 1), or
    'sg0.27' (not idealised: the square-grid layer with a least-squares Gaussian read-back, `spatial_layer`)."""
    if name.startswith("sg"):
        return spatial_layer(float(name[2:]), ftype)
    if name == "none":
        return BandLimitedReLU(None, ftype=ftype)
    if name.startswith("g"):
        return BandLimitedReLU(None, ftype=ftype, gauss=float(name[1:]))
    return BandLimitedReLU(float(name), ftype=ftype)


def swap(net, name):
    from equinet import nn as enn
    for n, child in net.named_children():
        if isinstance(child, enn.AliasFreeNonlinearity):
            setattr(net, n, layer(name, child.in_type))
        else:
            swap(child, name)
    return net


def part_a(members, seeds):
    from bench_alias_free import patch_stack_error, stack_weights
    from equinet import groups
    H = groups.cyclic(8).element(steps=1).matrix
    W = [w for w in stack_weights(range(seeds)) if w[0] == "equinet"]
    print(f"[A] C8 lifting -> σ -> group conv -> pooling, 45°, {seeds} seeds; ratio to escnn's ReLU stack "
          f"({ESCNN_STACK['smooth']:.2e} smooth, {ESCNN_STACK['sharper']:.2e} sharper; goal <= 0.5x)")
    out = {}
    for m in members:
        act = layer(m).double()
        e = {k: float(np.mean([patch_stack_error(w1, act, w2, H, k, seed=100 + s, act_reach=12)
                               for _, s, w1, w2 in W])) for k in ("smooth", "sharper")}
        out[m] = e
        print(f"    passband {m:>5s}: smooth {e['smooth']:.2e} ({e['smooth'] / ESCNN_STACK['smooth']:.2f}x) | "
              f"sharper {e['sharper']:.2e} ({e['sharper'] / ESCNN_STACK['sharper']:.2f}x)", flush=True)
    return out


def part_b(members, inits):
    import copy
    from bench_alias_free import SHARPER_SIGMA_PX, blob_widths
    from bench_layers import offgrid_error
    from equinet import groups
    from equinet.nets import Activation, NetSpec, build
    G = groups.cyclic(8)
    els = G.elements()
    print(f"[B] untrained C8 DnCNN (width 4, depth 5, k = 5), 45°, {inits} inits; ratio to the Reynolds average of "
          f"the plain ReLU DnCNN (goal <= 0.5x)")
    out = {}
    for kind, sig in (("smooth", None), ("sharper", SHARPER_SIGMA_PX)):
        rey, errs = [], {m: [] for m in members}
        for seed in range(inits):
            torch.manual_seed(seed)
            spec = NetSpec(G, width=4, depth=5, kernel_size=5, activation=Activation("relu", "radial"))
            base = build("dncnn", spec).eval()
            plain = copy.deepcopy(build("dncnn", NetSpec(G, width=4, depth=5, kernel_size=5).translation_twin(
                "width")).eval()).double()
            with blob_widths(sig):
                rey.append(offgrid_error(lambda u: sum(groups.act(g.inverse, plain(groups.act(g, u, method="fourier")),
                                                                  method="fourier") for g in els) / len(els)))
                for m in members:
                    net = swap(copy.deepcopy(base), m).double()
                    errs[m].append(offgrid_error(net))
        r = float(np.mean(rey))
        for m in members:
            e = float(np.mean(errs[m]))
            out[(m, kind)] = e / r
            print(f"    {kind:8s} passband {m:>5s}: {e:.2e} ({e / r:.2f}x Reynolds {r:.2e})", flush=True)
    return out


def part_d(members, compare_args):
    import equinet.nn
    from equinet.__main__ import main as equinet_main
    args = list(compare_args)
    out = args[args.index("--out") + 1] if "--out" in args else os.path.join("outputs", "alias_free_tradeoff")
    args = [a for i, a in enumerate(args) if a != "--out" and (i == 0 or args[i - 1] != "--out")]
    for m in members:
        equinet.nn.AliasFreeNonlinearity = lambda ftype, function="relu", _m=m, **kw: layer(_m, ftype)
        print(f"[D] quick CT comparison, every proximal network's ReLU -> {layer(m)}", flush=True)
        equinet_main(["compare", "--quick", "--operators", "ct", "--alias-free", "radial",
                      "--out", os.path.join(out, f"passband_{m}")] + args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", default="0.25,0.35,0.45,none", help="passbands (cycles/px; 'none': no low-pass; "
                    "'g0.3': a Gaussian roll-off of s = 0.3 cycles/px)")
    ap.add_argument("--parts", default="AB", help="A, B and/or D")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--inits", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("compare_args", nargs="*", help="part D: options of `python -m equinet compare` (after --)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    members = [m.strip() for m in a.members.split(",") if m.strip()]
    if "A" in a.parts.upper():
        part_a(members, a.seeds)
    if "B" in a.parts.upper():
        part_b(members, a.inits)
    if "D" in a.parts.upper():
        part_d(members, a.compare_args)


if __name__ == "__main__":
    main()
