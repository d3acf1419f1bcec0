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


def test_design_plus_learning_converged_fills_a_results_file(tmp_path):
    from equinet.experiments.reproduce.converged import load_results
    from equinet.experiments.reproduce.design_plus_learning import main
    from equinet.utils.cli import UsageError
    tiny = dict(image_size=16, train_sizes=(2,), n_test=2, n_val=2, n_iter=1, width=3, depth=2, steps=6, val_every=3,
                min_steps=3, batch_size=2, problems=("inpainting",))
    res = str(tmp_path / "r.json")
    run_design_plus_learning(DesignLearningConfig.converged(methods=("ei",), **tiny), str(tmp_path / "a"),
                             progress=False, results=res)
    doc = load_results(res)
    assert set(doc["entries"]) == {"inpainting_n2/ei_cnn", "inpainting_n2/ei_c8"}
    e = doc["entries"]["inpainting_n2/ei_c8"]
    assert [s for s, _ in e["curve"]][:3] == [0, 3, 6] and e["params"] > 0 and doc["gaps"][0]["gap"] == "C8 − CNN (EI)"
    run_design_plus_learning(DesignLearningConfig.converged(methods=("sup",), proxes=("c8",), **tiny),
                             str(tmp_path / "b"), progress=False, results=res)   # another sitting adds a run
    assert set(load_results(res)["entries"]) == {"inpainting_n2/ei_cnn", "inpainting_n2/ei_c8", "inpainting_n2/sup_c8"}
    assert os.path.getsize(str(tmp_path / "r_inpainting_n2.png")) > 0
    with pytest.raises(UsageError, match="unknown prox 'c4'"):
        main(["--converged", "--proxes", "c4"])
    with pytest.raises(UsageError, match="training-set sizes"):
        main(["--converged", "--train-sizes", "ten"])


def test_the_controls_are_run_only_when_named_and_get_their_gaps(tmp_path):
    from equinet.experiments.reproduce.converged import load_results
    from equinet.experiments.reproduce.design_plus_learning import LABELS, METHODS
    from equinet.losses import DALoss, LossSum
    from equinet.experiments.reproduce.common import make_loss
    from equinet.transforms import Rotate
    assert "sup_da" not in METHODS and "mc" not in METHODS
    assert LABELS["sup_da_c8"] == "Sup+DA C8" and LABELS["mc_cnn"] == "MC CNN"
    loss = make_loss("sup_da", Rotate(multiples=1.0), 100.0)   # supervised + DA with EI's own rotations
    assert isinstance(loss, LossSum) and any(isinstance(t, DALoss) for t in loss.losses)
    tiny = dict(image_size=16, train_sizes=(2,), n_test=2, n_val=2, n_iter=1, width=3, depth=2, steps=6, val_every=3,
                min_steps=3, batch_size=2, problems=("ct",), ct_views=8, proxes=("cnn",))
    res = str(tmp_path / "r.json")
    run_design_plus_learning(DesignLearningConfig.converged(methods=("ei", "sup_da", "mc"), **tiny), str(tmp_path / "a"),
                             progress=False, results=res)
    doc = load_results(res)
    assert set(doc["entries"]) == {"ct_n2/ei_cnn", "ct_n2/sup_da_cnn", "ct_n2/mc_cnn"}
    gap = {g["gap"]: g["measured"] for g in doc["gaps"]}
    v = {e["method"]: e["psnr"]["test"][0] for e in doc["entries"].values()}
    assert gap == {"Sup+DA − EI (CNN)": pytest.approx(v["sup_da_cnn"] - v["ei_cnn"], abs=1e-3),
                   "EI − MC (CNN)": pytest.approx(v["ei_cnn"] - v["mc_cnn"], abs=1e-3)}
    with pytest.raises(ValueError, match="unknown method 'da'"):
        DesignLearningConfig.converged(methods=("da",))
