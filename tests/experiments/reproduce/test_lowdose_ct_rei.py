"""Smoke test of the low-dose CT reproduction (imaging paper Fig. 9): tiny sizes, a few steps; outputs exist; the
measurements are noisy (the same noise for the same seed) and REI trains. On the reproduction's own problem,
SURE-PG is an unbiased estimate of the measurement-domain MSE and its gradient points along the true one."""
import json
import os

import pytest
import torch

pytest.importorskip("skimage")

from equinet.experiments.reproduce.common import residual_unet  # noqa: E402
from equinet.experiments.reproduce.lowdose_ct_rei import (  # noqa: E402
    LowDoseCTConfig, build_problems, run_lowdose_ct_rei, sure_check)


def test_lowdose_ct_rei_tiny(tmp_path):
    cfg = LowDoseCTConfig.quick(image_size=16, width=4, scales=1, steps=3, n_train=4, n_test=2, workers=1,
                                batch_size=2)
    rows = run_lowdose_ct_rei(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md", "reconstructions_lowdose_ct.png"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert len(doc["rows"]) == 4 * 3 and len(doc["targets"]) == 2
    assert all(r["paper_psnr"] is not None for r in rows if r["test_set"] == "test")
    assert {r["method"] for r in rows} == {"pinv", "ei", "rei", "sup"}


def test_lowdose_measurements_are_noisy_and_seeded():
    cfg = LowDoseCTConfig.quick(image_size=16, n_train=3, n_test=2, scales=1)
    a, b = build_problems(cfg)["lowdose_ct"], build_problems(cfg)["lowdose_ct"]
    assert torch.equal(a.y_train, b.y_train)
    clean = a.physics(a.x_train)
    assert float((a.y_train - clean).abs().max()) > 0.1


def test_sure_on_the_reproduction_problem_is_unbiased_and_points_along_the_risk_gradient():
    cfg = LowDoseCTConfig.quick(image_size=16, n_train=8, n_test=2, scales=1, width=4)
    p = build_problems(cfg)["lowdose_ct"]
    torch.manual_seed(0)
    model = residual_unet(4, 1)
    with torch.no_grad():  # the output layer starts at zero: make the network nonlinear in y
        for q in model.parameters():
            if q.abs().max() == 0:
                q.normal_(0, 0.05)
    r = sure_check(p, model, draws=10)
    assert abs(r["bias"]) < 3 * r["bias_se"] and r["bias_se"] < 0.05 * r["true_mse"]
    assert r["grad_cosine"] > 0.999 and r["grad_cosine_single"] > 0.98  # measured 0.99996, 0.9994
    # the former default curvature step (1e-2 at gain 1): the ReLU kinks make the gradient mostly noise
    old = sure_check(p, model, draws=10, tau2=1e-2)
    assert old["grad_cosine"] < 0.95 and old["grad_cosine_single"] < 0.8  # measured 0.88, 0.50
    with pytest.raises(TypeError, match="Problem"):
        sure_check("lowdose_ct", model)
