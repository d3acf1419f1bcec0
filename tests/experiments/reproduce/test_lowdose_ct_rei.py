"""Smoke test of the low-dose CT reproduction (imaging paper Fig. 9): tiny sizes, a few steps; outputs exist; the
measurements are noisy (the same noise for the same seed) and REI trains."""
import json
import os

import pytest
import torch

pytest.importorskip("skimage")

from equinet.experiments.reproduce.lowdose_ct_rei import LowDoseCTConfig, build_problems, run_lowdose_ct_rei  # noqa: E402


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
