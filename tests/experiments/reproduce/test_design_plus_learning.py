"""Smoke test of the design + learning experiment (imaging paper Sec. VI): tiny sizes, a few steps; outputs exist,
every (problem, prox, method, size) is reported, and the CNN twin has as many parameters as the C8 proximal nets
(up to the width rounding of the twin)."""
import json
import os

import pytest

pytest.importorskip("skimage")

from equinet.experiments.reproduce.design_plus_learning import DesignLearningConfig, run_design_plus_learning  # noqa: E402


def test_design_plus_learning_tiny(tmp_path):
    cfg = DesignLearningConfig.quick(image_size=16, train_sizes=(2, 4), n_test=2, n_iter=1, width=3, depth=2,
                                     steps=2, batch_size=2, workers=1, problems=("inpainting",))
    rows = run_design_plus_learning(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert len(doc["gains"]) == 2 * 2 and len(rows) == 2 * 2 * 2 * 3
    params = {r["prox"]: r["params"] for r in rows}
    assert abs(params["cnn"] - params["c8"]) <= 0.25 * params["c8"]
    assert {r["train_size"] for r in rows} == {2, 4}
