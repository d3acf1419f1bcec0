"""Smoke test of the bias-free reproduction (imaging paper Fig. 6): tiny sizes, a few steps; outputs exist, the
bias-free denoisers are positively homogeneous (f(3y) = 3 f(y)) and the ones with biases are not."""
import json
import os

import pytest

pytest.importorskip("skimage")

from equinet.experiments.reproduce.bias_free import BiasFreeConfig, interpolate_at, run_bias_free  # noqa: E402


def test_bias_free_tiny(tmp_path):
    cfg = BiasFreeConfig.quick(patch=12, test_size=16, n_train=8, n_test=2, channels=4, depth=3, steps=3,
                               batch_size=4, workers=1, test_sigmas=(0.02, 0.1, 0.32))
    rows = run_bias_free(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md", "psnr_curves.png"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert len(doc["rows"]) == 4 * 3 and len(doc["at_paper_input_psnr"]) == 4
    for r in rows:
        if r["bias"]:
            assert r["homogeneity_error"] > 1e-4
        else:
            assert r["homogeneity_error"] < 1e-5
    # the input PSNR is the same for every model (same noisy test images) and falls as sigma grows
    ins = sorted({(r["sigma"], round(r["input_psnr"], 9)) for r in rows})
    assert len(ins) == 3 and ins[0][1] > ins[1][1] > ins[2][1]


def test_interpolate_at():
    curve = {0.1: (20.0, 25.0), 0.2: (14.0, 22.0)}
    assert interpolate_at(curve, 17.0) == pytest.approx(23.5)


def test_bias_free_config_errors():
    with pytest.raises(ValueError, match="multiple of 4"):
        BiasFreeConfig.quick(channels=10)
    with pytest.raises(ValueError, match="train_sigma"):
        BiasFreeConfig.quick(train_sigma=(0.05, 0.02))
