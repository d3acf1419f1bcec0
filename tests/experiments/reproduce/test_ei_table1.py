"""Smoke test of the EI Table 1 reproduction: tiny sizes, a few steps; outputs exist and Proposition 1 holds
(MC on inpainting stays at A†y exactly, while the other learned methods move away from it)."""
import json
import os

import pytest

pytest.importorskip("skimage")

from equinet.experiments.reproduce.ei_table1 import PAPER, EITable1Config, run_ei_table1  # noqa: E402


def test_ei_table1_tiny(tmp_path):
    cfg = EITable1Config.quick(image_size=16, width=4, scales=1, steps=3, n_train=4, n_test=2, workers=1,
                               batch_size=2, methods=("pinv", "mc", "ei", "sup"))
    rows = run_ei_table1(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md", "reconstructions_ct.png", "reconstructions_inpainting.png"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert doc["config"]["steps"] == 3 and doc["wall_seconds"] > 0 and "torch" in doc["versions"]
    assert len(doc["rows"]) == 8 and {g["gap"] for g in doc["gaps"]} == {"EI − A†y", "Sup − EI"}
    by = {(r["problem"], r["method"]): r for r in rows}
    # Proposition 1: the MC gradient vanishes at f = A† for inpainting, so MC is A†y bit for bit
    assert by[("inpainting", "mc")]["max_dev_pinv"] == 0.0
    assert by[("inpainting", "mc")]["psnr_test"] == by[("inpainting", "pinv")]["psnr_test"]
    # ... whereas EI and Sup did train (the same three steps move them off A†y)
    assert by[("inpainting", "ei")]["max_dev_pinv"] > 1e-4 and by[("inpainting", "sup")]["max_dev_pinv"] > 1e-4
    # CT's FBP is not an exact pseudo-inverse: MC moves there
    assert by[("ct", "mc")]["max_dev_pinv"] > 0
    assert by[("ct", "pinv")]["paper_psnr"] == PAPER["ct"]["pinv"]
    assert {"psnr_photos_rotated"} <= set(by[("ct", "ei")]) and by[("ct", "ei")]["psnr_photos_rotated"] > 0


def test_ei_table1_config_errors():
    with pytest.raises(ValueError, match="unknown method"):
        EITable1Config.quick(methods=("pinv", "bogus"))
    with pytest.raises(ValueError, match="divisible"):
        EITable1Config.quick(image_size=30, scales=2)
    with pytest.raises(ValueError, match="steps"):
        EITable1Config.quick(steps=0)
    with pytest.raises(ValueError, match="rotation_interpolation"):
        EITable1Config.quick(rotation_interpolation="nearest")
