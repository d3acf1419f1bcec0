"""Smoke test of the MRI reproduction (imaging paper Fig. 8): tiny sizes, a few steps; outputs exist, every test set
is reported, and the trained models differ from A†y."""
import json
import os

import pytest

pytest.importorskip("skimage")

import torch  # noqa: E402

from equinet.experiments.reproduce.mri_ei import MRIEIConfig, build_problems, run_mri_ei  # noqa: E402


def test_mri_ei_tiny(tmp_path):
    cfg = MRIEIConfig.quick(image_size=16, width=4, scales=1, steps=3, n_train=4, n_test=2, workers=1, batch_size=2)
    rows = run_mri_ei(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md", "reconstructions_mri.png"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert len(doc["rows"]) == 4 * 3 and {t["target"] for t in doc["targets"]} == {
        "EI > MC (learns beyond the range)", "EI within 1 dB of Sup"}
    v = {(r["method"], r["test_set"]): r["psnr_mean"] for r in rows}
    for t in ("test", "photos", "photos_rotated"):
        assert v[("sup", t)] != v[("pinv", t)] and v[("ei", t)] != v[("pinv", t)]
    # the A†y row is the zero-filled inverse FFT's magnitude PSNR, recomputed here independently
    p = build_problems(cfg)["mri"]
    x, y = p.tests["test"]
    z = torch.fft.ifft2(torch.fft.ifftshift(torch.complex(y[:, 0], y[:, 1]), dim=(-2, -1)), norm="ortho")
    z = torch.fft.fftshift(z, dim=(-2, -1)).abs()
    mse = (z - x[:, 0]).pow(2).flatten(1).mean(1)
    assert doc["per_image_psnr"]["mri/pinv"]["test"] == pytest.approx((-10 * torch.log10(mse)).tolist(), abs=1e-4)
