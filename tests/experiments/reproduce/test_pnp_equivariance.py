"""Smoke test of the PnP-equivariance reproduction (shipped denoisers in PnP-PGD; tiny sizes, a few iterations):
the table has every (problem, row), the full C4 average of the plain denoiser and the C4 denoiser are exactly C4-
equivariant (so their Jacobians' statistics are the same at rotated images), and the Jacobian estimates are exact
on known matrices."""
import json
import os

import pytest
import torch

pytest.importorskip("skimage")

from equinet.experiments.reproduce.pnp_equivariance import (  # noqa: E402
    ROWS,
    Channelwise,
    PnPEquivarianceConfig,
    jacobian_asymmetry,
    jacobian_norm,
    run_pnp_equivariance,
)


def test_pnp_equivariance_tiny(tmp_path):
    cfg = PnPEquivarianceConfig.quick(n_test=2, image_size=24, n_iter=4, early=2, power_iter=3, probes=2, views=8,
                                      rows=("plain", "plain + random D4", "plain + full C4", "C4 by design"))
    rows = run_pnp_equivariance(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert len(doc["rows"]) == 4 * 4 and set(doc["answers"]) == {"deblurring", "mri", "ct", "inpainting"}
    for r in rows:
        assert r["iterations"] == 4 and r["diverged_at"] is None
        assert r["psnr_best"] >= max(r["psnr_last"], r["psnr_early"]) - 1e-9
        assert r["passes"] == (4 if r["row"] == "plain + full C4" else 1)
        assert 0 < r["jacobian_norm"] < 10 and 0 <= r["jacobian_asymmetry"] < 2 and 0 < r["jacobian_norm_last"] < 10
    # the same Jacobian statistics for every problem (measured once per denoiser, at the test images)
    for label in cfg.rows:
        assert len({(r["jacobian_norm"], r["jacobian_asymmetry"]) for r in rows if r["row"] == label}) == 1
    # PnP improves on A†y for the well-posed problems
    for r in rows:
        if r["problem"] in ("deblurring", "ct"):
            assert r["psnr_last"] > r["psnr_pinv"] + 3


def test_jacobian_estimates_on_known_matrices():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(2, 12, 12, generator=g, dtype=torch.float64)  # one matrix per image of the batch
    f = lambda x: torch.einsum("bij,bj->bi", M, x.reshape(2, 12)).reshape(x.shape)  # noqa: E731
    x = torch.zeros(2, 1, 3, 4, dtype=torch.float64)
    exact = torch.linalg.matrix_norm(M, ord=2)
    assert torch.allclose(jacobian_norm(f, x, n_iter=300), exact, rtol=1e-6)
    asym = torch.linalg.matrix_norm(M - M.transpose(1, 2)) / torch.linalg.matrix_norm(M)
    est = jacobian_asymmetry(f, x, probes=2000)
    assert torch.allclose(est, asym, rtol=0.05)
    S = M + M.transpose(1, 2)
    fs = lambda x: torch.einsum("bij,bj->bi", S, x.reshape(2, 12)).reshape(x.shape)  # noqa: E731
    assert float(jacobian_asymmetry(fs, x, probes=3).max()) < 1e-12


def test_channelwise_and_bad_config():
    D = Channelwise(lambda x: x.flip(-1))
    x = torch.randn(2, 2, 4, 5)
    assert torch.equal(D(x), x.flip(-1))
    with pytest.raises(ValueError, match="rows must be among"):
        PnPEquivarianceConfig.quick(rows=("plain", "plain + magic"))
    with pytest.raises(ValueError, match="problems must be among"):
        PnPEquivarianceConfig.quick(problems=("denoising",))
    with pytest.raises(ValueError, match="early .* at most n_iter"):
        PnPEquivarianceConfig.quick(n_iter=10, early=20)
    assert set(ROWS) >= {"plain", "C4 by design", "C8 by design", "D4 by design"}
