"""Claim 6 (imaging paper 001, Sec. IV-B, eq. 13-14): if the clean-signal distribution and the noise are invariant,
p(T_g u) = p(u) and p(T_g y | T_g u) = p(y | u), the Bayes-optimal (MMSE) denoiser is equivariant,
T_g û(y) = û(T_g y).

Closed form: a Gaussian-mixture prior p(u) = 1/|G| Σ_g N(u; T_g μ, s² I) whose means form the D4 orbit of one
image μ (8x8) is D4-invariant; with white Gaussian noise of variance σ² the MMSE denoiser is
û(y) = Σ_g w_g(y) (T_g μ + s²/(s² + σ²) (y − T_g μ)), w_g ∝ exp(−‖y − T_g μ‖² / (2(s² + σ²))).

Measured (float64): max over g in D4 and 16 noisy inputs of ‖û(T_g y) − T_g û(y)‖/‖T_g û(y)‖, and the invariance of
the prior density itself. Controls: the same mixture with unequal weights on the orbit (a prior that is not
invariant), and one whose means are not an orbit (an extra component): the denoiser is no longer equivariant.

    python proofs/mmse_denoiser.py [--seed 0]
"""
from __future__ import annotations

import argparse
import math
import sys

import _common  # noqa: F401
import torch
from _common import Claim, rel

from equinet import groups

TOL = 1e-12


def mmse(y, means, logw, s2, sigma2):
    """Posterior mean of u given y = u + N(0, σ² I) under Σ_k w_k N(μ_k, s² I) (flattened images)."""
    d = y[:, None, :] - means[None]                                  # [B, K, n]
    logp = logw[None] - d.pow(2).sum(-1) / (2 * (s2 + sigma2))        # [B, K]
    w = torch.softmax(logp, dim=1)
    comp = means[None] + s2 / (s2 + sigma2) * d                       # E[u | y, k]
    return (w[..., None] * comp).sum(1)


def log_prior(u, means, logw, s2):
    d = u[:, None, :] - means[None]
    return torch.logsumexp(logw[None] - d.pow(2).sum(-1) / (2 * s2), dim=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=8)
    a = ap.parse_args(argv)
    c = Claim(6, "the MMSE denoiser of an invariant prior is equivariant (closed form, Gaussian mixture on a D4 orbit)",
              "001_85888c81389e56ff.txt, Sec. IV-B, eq. 13-14")
    G = groups.dihedral(4)
    n = a.size
    g = torch.Generator().manual_seed(a.seed)
    mu = 0.1 * torch.randn(1, 1, n, n, generator=g, dtype=torch.float64)  # overlapping components
    T = lambda e, v: groups.act(e, v.reshape(-1, 1, n, n)).reshape(v.shape[0], -1)  # noqa: E731
    means = torch.cat([T(e, mu.reshape(1, -1)) for e in G.elements()])
    s2, sigma2 = 0.05, 0.1
    u = means[torch.randint(0, 8, (16,), generator=g)] + math.sqrt(s2) * torch.randn(16, n * n, generator=g,
                                                                                     dtype=torch.float64)
    y = u + math.sqrt(sigma2) * torch.randn(16, n * n, generator=g, dtype=torch.float64)
    cases = {
        "invariant prior (equal weights on the orbit)": (means, torch.full((8,), -math.log(8.0), dtype=torch.float64)),
        "unequal weights on the orbit (control)": (means, torch.log_softmax(torch.arange(8.0, dtype=torch.float64), 0)),
        "orbit plus one extra component (control)": (torch.cat([means, 0.1 * torch.randn(1, n * n, generator=g,
                                                                                          dtype=torch.float64)]),
                                                     torch.full((9,), -math.log(9.0), dtype=torch.float64)),
    }
    for label, (M, lw) in cases.items():
        base = mmse(y, M, lw, s2, sigma2)
        err = max(rel(mmse(T(e, y), M, lw, s2, sigma2), T(e, base)) for e in G.elements())
        lp = log_prior(u, M, lw, s2)
        inv = max(float((log_prior(T(e, u), M, lw, s2) - lp).abs().max()) for e in G.elements())
        if "control" in label:
            c.control(f"{label}: denoiser equivariance error", err, TOL)
            c.control(f"{label}: prior invariance error |log p(T_g u) − log p(u)|", inv, TOL)
        else:
            c.check(f"{label}: prior invariance error |log p(T_g u) − log p(u)|", inv, TOL)
            c.check(f"{label}: MMSE denoiser equivariance error, all of D4, 16 inputs", err, TOL)
            w = torch.softmax(lw[None] - (y[:, None] - M[None]).pow(2).sum(-1) / (2 * (s2 + sigma2)), 1)
            c.note(f"posterior weights: the largest per input is {float(w.max(1).values.mean()):.2f} on average,"
                   " so several components of the orbit contribute")
            c.note(f"denoising is real: ‖û(y) − u‖/‖u‖ = {rel(base, u):.3f} vs ‖y − u‖/‖u‖ = {rel(y, u):.3f}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
