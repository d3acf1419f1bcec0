"""Smoke test of the EI Table 1 reproduction: tiny sizes, a few steps; outputs exist and Proposition 1 holds
(MC on inpainting stays at A†y exactly, while the other learned methods move away from it); the few-image runs train
on the first images only, and CT's own step budget is the one its models were trained for."""
import csv
import json
import os

import pytest

pytest.importorskip("skimage")

from equinet.experiments.reproduce.ei_table1 import PAPER, EITable1Config, run_ei_table1  # noqa: E402


def test_ei_table1_tiny(tmp_path):
    cfg = EITable1Config.quick(image_size=16, width=4, scales=1, steps=3, steps_ct=4, n_train=4, n_test=2,
                               workers=1, batch_size=2, methods=("pinv", "mc", "ei", "sup"), n_few=2,
                               few_methods=("mc", "sup"))
    rows = run_ei_table1(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md", "reconstructions_ct.png", "reconstructions_inpainting.png"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert doc["config"]["steps"] == 3 and doc["wall_seconds"] > 0 and "torch" in doc["versions"]
    assert len(doc["rows"]) == 8 + 4 and {g["gap"] for g in doc["gaps"]} == {"EI − A†y", "Sup − EI"}
    by = {(r["problem"], r["method"]): r for r in rows if r["n_train"] == 4}
    few = {(r["problem"], r["method"]): r for r in rows if r["n_train"] == 2}
    assert set(few) == {(p, m) for p in ("ct", "inpainting") for m in ("mc", "sup")}
    # each model's own budget was trained: the last logged step of every CT run is 4, of every inpainting run 3
    for (p, m, k) in [(p, m, k) for p in ("ct", "inpainting") for m in ("mc", "ei", "sup") for k in (4, 2)
                      if k == 4 or m != "ei"]:
        log = tmp_path / "runs" / ("_".join([p, m] + ([] if k == 4 else ["n2"]))) / "log.csv"
        assert int(list(csv.reader(open(log)))[-1][0]) == (4 if p == "ct" else 3), log
    # a few-image model is evaluated on its own 2 training images and on the same test images as the others
    per = doc["per_image_psnr"]
    assert len(per["ct/sup/n2"]["train"]) == 2 and len(per["ct/sup"]["train"]) == 4
    assert len(per["inpainting/sup/n2"]["test"]) == len(per["inpainting/sup"]["test"]) == 2
    assert per["ct/sup/n2"]["test"] != per["ct/sup"]["test"]  # other data, other model
    # Proposition 1 does not depend on the data: MC trained on 2 images is A†y too
    assert few[("inpainting", "mc")]["max_dev_pinv"] == 0.0
    assert {f["method"] for f in doc["few_images"]} == {"mc", "sup"} and "Trained on few images" in (
        tmp_path / "table.md").read_text()
    f = next(f for f in doc["few_images"] if f["problem"] == "ct" and f["method"] == "sup")
    assert f["change"] == pytest.approx(few[("ct", "sup")]["psnr_test"] - by[("ct", "sup")]["psnr_test"], abs=1e-12)
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
    with pytest.raises(ValueError, match="n_few"):
        EITable1Config.quick(n_few=90)
    with pytest.raises(ValueError, match="few_methods"):
        EITable1Config.quick(methods=("pinv", "mc", "ei"), few_methods=("sup",))
    with pytest.raises(ValueError, match="steps_ct"):
        EITable1Config.quick(steps_ct=0)


def test_ei_table1_quick_settings():
    """--quick keeps the paper's CT undersampling ratio at 64x64 (25 views; full: 50 at 128x128); steps_ct sets
    CT's own budget; the jobs run longest first."""
    cfg = EITable1Config.quick()
    assert (cfg.ct_views, EITable1Config.full().ct_views, EITable1Config.quick(ct_views=50).ct_views) == (25, 50, 50)
    assert (cfg.steps_for("ct"), cfg.steps_for("inpainting")) == (800, 800)
    assert EITable1Config.quick(steps_ct=50).steps_for("ct") == 50 and EITable1Config.full().steps_for("ct") == 20000
    jobs = EITable1Config.quick(steps_ct=2000).jobs()
    assert len(jobs) == 2 * 5 + 2 * 2 and jobs[0] == ("ct", "ei", 90) and ("inpainting", "sup", 8) in jobs


def test_the_augmentation_control_is_sup_plus_da_with_the_problems_group(tmp_path):
    from equinet.experiments.reproduce.common import make_loss
    from equinet.losses import DALoss, LossSum, SupervisedLoss
    from equinet.transforms import Shift
    shift = Shift(image_size=8)
    loss = make_loss("sup_da", shift, alpha=100.0)
    assert isinstance(loss, LossSum) and loss.needs_ground_truth
    sup, da = loss.losses
    assert isinstance(sup, SupervisedLoss) and isinstance(da, DALoss) and da.transform is shift and da.weight == 1.0
    with pytest.raises(ValueError, match="sup_da"):
        make_loss("da_sup", shift, alpha=1.0)
    cfg = EITable1Config.quick(image_size=16, width=4, scales=1, steps=3, n_train=4, n_test=2, workers=1,
                               batch_size=2, problems=("inpainting",), methods=("pinv", "sup", "sup_da"), n_few=0)
    rows = run_ei_table1(cfg, str(tmp_path), progress=False)
    by = {r["method"]: r for r in rows}
    assert by["sup_da"]["label"] == "Sup+DA" and by["sup_da"]["paper_psnr"] is None
    assert by["sup_da"]["psnr_test"] != by["sup"]["psnr_test"]  # same start and batches, another loss
    doc = json.loads((tmp_path / "table.json").read_text())
    assert "sup_da" not in doc["ordering"]["inpainting"]["measured"]  # ordered against the paper: its methods only
    with pytest.raises(ValueError, match="unknown method 'da'"):
        EITable1Config.quick(methods=("pinv", "da"))
