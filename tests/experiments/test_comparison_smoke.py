"""End-to-end smoke test of the translation vs roto-translation comparison (tiny configuration)."""
import csv
import json
import os

import numpy as np

from equinet.experiments.comparison import MODELS, TEST_SETS, main


def test_comparison_end_to_end(tmp_path):
    out = str(tmp_path / "cmp")
    rows = main(["--quick", "--image-size", "16", "--steps", "2", "--train-sizes", "2,3", "--n-test", "2",
                 "--batch-size", "2", "--n-iter", "2", "--depth", "2", "--width", "1", "--models", ",".join(MODELS),
                 "--device", "cpu", "--out", out, "--no-progress", "--seed", "3", "--workers", "1"],
                default_mode="quick")
    for name in ("table.csv", "table.json", "table.md", "psnr_vs_train_size.png", "reconstructions_ct.png",
                 "reconstructions_mri.png"):
        path = os.path.join(out, name)
        assert os.path.getsize(path) > 0, name
    assert not [f for f in os.listdir(out) if f.startswith(".tmp")]  # atomic writes leave no temporaries
    with open(os.path.join(out, "reconstructions_ct.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    with open(os.path.join(out, "table.csv")) as f:
        table = list(csv.DictReader(f))
    trained = [m for m in MODELS if m != "pinv"]
    expected = {(op, "pinv", "0", t) for op in ("ct", "mri") for t in TEST_SETS}
    expected |= {(op, m, str(n), t) for op in ("ct", "mri") for m in trained for n in (2, 3) for t in TEST_SETS}
    got = [(r["operator"], r["model"], r["train_size"], r["test_set"]) for r in table]
    assert len(got) == len(set(got)) and set(got) == expected
    for r in table:
        assert np.isfinite(float(r["psnr_mean"])) and -1.0 <= float(r["ssim_mean"]) <= 1.0
        assert int(r["n_images"]) == 2
        if r["model"] != "pinv":
            assert int(r["params"]) > 0 and float(r["train_seconds"]) > 0
    groups = {r["model"]: r["group"] for r in table}
    assert groups["c8"] == "C8" and groups["c4"] == "C4" and groups["cnn"] == groups["cnn-wide"] == "C1"

    with open(os.path.join(out, "table.json")) as f:
        meta = json.load(f)
    assert meta["config"]["image_size"] == 16 and meta["config"]["mode"] == "quick" and meta["config"]["seed"] == 3
    assert len(meta["rows"]) == len(rows) == len(expected) and meta["wall_seconds"] > 0
    assert set(meta["operators"]) == {"ct", "mri"}
