"""Off-grid equivariance of a sampled convolution kernel, measured without any interpolation.

Protocol (used by the tests, the docs and the benchmarks, for equinet and escnn kernels alike): the input field
u: R² -> R^{d_in} is an analytic function (a sum of random Gaussian blobs, 'smooth', or of random discs,
'sharp'), so it can be read at any point. A kernel ``w`` used as an ``F.conv2d`` weight computes
``(w ⋆ u)(x) = Σ_p w(p) u(x + p)`` over the kernel's grid offsets p. For an element g with matrix H we compare,
at the pixel centres x of a central disk,

    out_1(x) = Σ_p w(p) π_in(g) u(H⁻¹(x + p))        (the layer applied to the rotated input T_g u)
    out_2(x) = π_out(g) Σ_p w(p) u(H⁻¹x + p)          (the rotated output T_g (w ⋆ u))

and report ‖out_1 − out_2‖ / ‖out_2‖. Both sides are exact evaluations, so the number measures only the
kernel's sampling error.
"""
from __future__ import annotations

import numpy as np


def analytic_field(kind: str, channels: int, seed: int, extent: float, n_items: int = 24):
    """A random analytic field u(points) -> (n_points, channels); 'smooth' (Gaussian blobs, σ in [1.5, 3] px)
    or 'sharp' (discs of radius 2-6 px with hard edges)."""
    rng = np.random.default_rng(seed)
    rad = extent * np.sqrt(rng.uniform(0, 1, n_items))
    ang = rng.uniform(0, 2 * np.pi, n_items)
    centres = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
    amps = rng.standard_normal((n_items, channels))
    if kind == "smooth":
        sig = rng.uniform(1.5, 3.0, n_items)

        def u(pts):
            d2 = ((pts[:, None, :] - centres[None]) ** 2).sum(-1)
            return np.exp(-0.5 * d2 / sig[None] ** 2) @ amps
    elif kind == "sharp":
        rr = rng.uniform(2.0, 6.0, n_items)

        def u(pts):
            d2 = ((pts[:, None, :] - centres[None]) ** 2).sum(-1)
            return (d2 <= rr[None] ** 2).astype(np.float64) @ amps
    else:
        raise ValueError(f"kind must be 'smooth' or 'sharp', got {kind!r}")
    return u


def conv_equivariance_error(weight: np.ndarray, rho_in: np.ndarray, rho_out: np.ndarray, H: np.ndarray,
                            kind: str = "smooth", seed: int = 0, radius: float = 12.0) -> float:
    """Relative equivariance error of one convolution weight (d_out, d_in, k, k) for the element with plane
    matrix ``H`` and representation matrices ``rho_in``, ``rho_out`` (see the module docstring)."""
    w = np.asarray(weight, dtype=np.float64)
    d_out, d_in, k, _ = w.shape
    c = (k - 1) / 2
    rows, cols = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    P = np.stack([cols.ravel() - c, c - rows.ravel()], axis=1)  # (k², 2) offsets in (x, y)
    Wf = w.reshape(d_out, d_in, k * k)
    n = int(np.ceil(radius))
    gx, gy = np.meshgrid(np.arange(-n, n + 1, dtype=float), np.arange(-n, n + 1, dtype=float))
    X = np.stack([gx.ravel(), gy.ravel()], axis=1)
    X = X[(X ** 2).sum(1) <= radius ** 2]
    u = analytic_field(kind, d_in, seed, extent=radius + k)
    Hinv = np.linalg.inv(H)
    pts1 = ((X[:, None, :] + P[None]) @ Hinv.T).reshape(-1, 2)
    U1 = u(pts1).reshape(len(X), k * k, d_in) @ np.asarray(rho_in).T
    out1 = np.einsum("oip,mpi->mo", Wf, U1)
    pts2 = ((X @ Hinv.T)[:, None, :] + P[None]).reshape(-1, 2)
    U2 = u(pts2).reshape(len(X), k * k, d_in)
    out2 = np.einsum("oip,mpi->mo", Wf, U2) @ np.asarray(rho_out).T
    return float(np.linalg.norm(out1 - out2) / np.linalg.norm(out2))


def basis_equivariance_error(basis: np.ndarray, in_rep, out_rep, g, kind: str = "smooth", n_trials: int = 8,
                             seed: int = 0) -> float:
    """Mean `conv_equivariance_error` of random kernels (Gaussian weights on ``basis``) for element g."""
    B = np.asarray(basis, dtype=np.float64)
    rng = np.random.default_rng(seed)
    errs = []
    for t in range(n_trials):
        w = np.tensordot(rng.standard_normal(B.shape[0]), B, axes=1)
        errs.append(conv_equivariance_error(w, in_rep(g), out_rep(g), g.matrix, kind=kind, seed=seed + 1000 + t))
    return float(np.mean(errs))


def stack_equivariance_error(weights, activation, H: np.ndarray, rho_in: np.ndarray, rho_out: np.ndarray,
                             kind: str = "smooth", seed: int = 0, radius: float = 10.0) -> float:
    """Exact (interpolation-free) equivariance error of a stack ``conv -> activation -> conv -> ... -> conv``.

    Every layer is evaluated at arbitrary points by recursion (the input field is analytic), so
    ``stack(T_g u)(x)`` and ``ρ_out(g) stack(u)(H⁻¹x)`` are both computed exactly at the pixels of a central disk.
    ``weights``: list of (d_out, d_in, k, k) arrays; ``activation``: elementwise numpy callable applied between
    convolutions; ``rho_out`` acts on the last layer's output (use a pooling matrix to compare pooled outputs).
    """
    Ws = [np.asarray(w, dtype=np.float64) for w in weights]
    offs = []
    for w in Ws:
        k = w.shape[-1]
        c = (k - 1) / 2
        rows, cols = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        offs.append(np.stack([cols.ravel() - c, c - rows.ravel()], axis=1))
    n = int(np.ceil(radius))
    gx, gy = np.meshgrid(np.arange(-n, n + 1, dtype=float), np.arange(-n, n + 1, dtype=float))
    X = np.stack([gx.ravel(), gy.ravel()], axis=1)
    X = X[(X ** 2).sum(1) <= radius ** 2]
    reach = sum((w.shape[-1] - 1) / 2 for w in Ws) * np.sqrt(2)
    u = analytic_field(kind, Ws[0].shape[1], seed, extent=radius + reach)
    Hinv = np.linalg.inv(H)

    def evaluate(points, field):
        # points (M, 2) -> outputs (M, d_out) through all layers, recursively from the last
        def layer(i, pts):
            w, P = Ws[i], offs[i]
            q = (pts[:, None, :] + P[None]).reshape(-1, 2)
            inp = field(q) if i == 0 else activation(layer(i - 1, q))
            inp = inp.reshape(len(pts), P.shape[0], -1)
            return np.einsum("oip,mpi->mo", w.reshape(w.shape[0], w.shape[1], -1), inp)
        return layer(len(Ws) - 1, points)

    rotated_input = lambda q: u(q @ Hinv.T) @ np.asarray(rho_in).T  # noqa: E731  (T_g u)(q) = π_in u(H⁻¹q)
    out1 = evaluate(X, rotated_input)
    out2 = evaluate(X @ Hinv.T, u) @ np.asarray(rho_out).T
    return float(np.linalg.norm(out1 - out2) / np.linalg.norm(out2))
