"""Smoke test of the 1-D toy (EI paper Fig. 3): tiny sizes, a few steps; outputs exist and the table is sound."""
import json
import os

import pytest
import torch

from equinet.experiments.reproduce.toy_1d import SETS, Toy1DConfig, metrics, run_toy_1d


def test_toy_1d_tiny(tmp_path):
    cfg = Toy1DConfig.quick(steps=4, n_train=8, n_test=8, hidden=16, batch_size=4, workers=1)
    rows = run_toy_1d(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md", "toy_1d.png"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert len(doc["rows"]) == 2 * 4 and doc["config"]["steps"] == 4
    mask = torch.tensor(doc["mask"])
    assert mask.numel() == cfg.length and int((mask == 0).sum()) == round(cfg.drop * cfg.length)
    for w in SETS:
        pinv = next(r for r in rows if r["set"] == w and r["method"] == "pinv")
        assert pinv["nullspace_rel_error"] == pytest.approx(1.0, abs=1e-12)  # A†y is zero on the dropped entries


def test_toy_metrics_exact():
    x = torch.zeros(2, 1, 1, 4)
    x[..., 1] = 1.0
    mask = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    m = metrics(x.clone(), x, mask)
    assert m["nullspace_rel_error"] == 0.0 and m["psnr"] == float("inf")
    u = x.clone()
    u[..., 1] = 0.5  # half the dropped entry's value: relative error 0.5; MSE 0.0625 -> PSNR 12.04 dB
    m = metrics(u, x, mask)
    assert m["nullspace_rel_error"] == pytest.approx(0.5, abs=1e-12)
    assert m["psnr"] == pytest.approx(-10 * torch.log10(torch.tensor(0.0625)).item(), abs=1e-5)
