"""Smoke test of the multi-operator reproduction: tiny sizes, a few steps; outputs exist, every family size and method
is reported with its identifiability, test items are reconstructed with their own masks, and bad settings are one
line."""
import json
import os

import pytest
import torch

from equinet.diagnostics import family_rank
from equinet.experiments.reproduce.multi_operator import (MultiOperatorConfig, build_problems, family_of,
                                                          identifiability, run_multi_operator)
from equinet.groups import cyclic


def _cfg(**kw):
    return MultiOperatorConfig.quick(**{**dict(image_size=8, width=4, scales=1, steps=2, n_train=4, n_test=3,
                                               workers=1, batch_size=2, masks=(1, 2)), **kw})


def test_multi_operator_tiny(tmp_path):
    cfg = _cfg()
    rows = run_multi_operator(cfg, str(tmp_path), progress=False)
    for f in ("table.csv", "table.json", "table.md", "reconstructions_masks1.png", "reconstructions_masks2.png"):
        assert os.path.getsize(tmp_path / f) > 0
    doc = json.loads((tmp_path / "table.json").read_text())
    assert len(rows) == 2 * 5 and {r["method"] for r in rows} == {"pinv", "moi", "ei", "moi_ei", "sup"}
    ranks = identifiability(cfg)
    r2 = family_rank(family_of(cfg, 2), cyclic(4))
    assert ranks[2]["nullity_stacked"] == r2.nullity_stacked and ranks[2]["nullity_group"] == r2.nullity_group
    md = (tmp_path / "table.md").read_text()
    assert "## Identifiability and PSNR by family size" in md
    assert f"| 2 | {r2.nullity_stacked} of 128 | {r2.nullity_group} of 128 |" in md
    assert any("closer to Sup" in t["target"] for t in doc["targets"])
    # A†y on the test set: each test image with its own mask (i mod g), recomputed independently
    p = build_problems(cfg)["masks2"]
    x, y = p.tests["test"]
    fam = family_of(cfg, 2)
    z = torch.cat([fam[i % 2].pinv(y[i:i + 1]) for i in range(3)]).pow(2).sum(1).sqrt()
    mse = (z - x[:, 0]).pow(2).flatten(1).mean(1)
    assert doc["per_image_psnr"]["masks2/pinv"]["test"] == pytest.approx((-10 * torch.log10(mse)).tolist(), abs=1e-4)


def test_families_are_nested_and_settings_are_checked():
    cfg = _cfg(masks=(1, 4))
    small, large = family_of(cfg, 1), family_of(cfg, 4)
    assert torch.equal(small[0].mask, large[0].mask)
    with pytest.raises(ValueError, match="masks must be family sizes >= 1"):
        _cfg(masks=(0,))
    with pytest.raises(ValueError, match="needs at least as many training images"):
        _cfg(masks=(8,), n_train=4)


@pytest.mark.parametrize("args,message", [(["--masks", "1,x"], "expected family sizes such as '1,2,4,8'"),
                                          (["--masks", "0"], "masks must be family sizes >= 1")])
def test_bad_flags_are_one_line_errors(args, message, capsys, tmp_path):
    from equinet.experiments.reproduce import main
    from equinet.utils.cli import run_command
    status = run_command(lambda a: main(["multi-operator", *a, "--out", str(tmp_path / "o")]), args,
                         prog="python -m equinet reproduce")
    err = capsys.readouterr().err.strip()
    assert status == 2 and message in err and len(err.splitlines()) == 1


def test_converged_mode_keeps_exact_ranks_and_validates_each_item_with_its_own_mask(tmp_path):
    from equinet.experiments.reproduce.converged import load_results
    from equinet.experiments.reproduce.multi_operator import MAX_RANK_SIDE
    default = MultiOperatorConfig.converged()
    assert default.converge is default and default.image_size <= MAX_RANK_SIDE and default.steps == 40000
    cfg = MultiOperatorConfig.converged(image_size=12, width=4, scales=1, steps=20, n_train=4, n_test=3, n_val=3,
                                        workers=1, batch_size=2, masks=(1, 2), methods=("pinv", "moi", "sup"),
                                        val_every=10, min_steps=10)
    p = build_problems(cfg)["masks2"]
    x, y, ops = p.validation
    fam = family_of(cfg, 2)
    assert ops.tolist() == [0, 1, 0] and not torch.equal(x, p.tests["test"][0])
    for i in range(3):
        assert torch.allclose(y[i:i + 1], fam[i % 2](x[i:i + 1]))
    res = str(tmp_path / "results" / "multi-operator.json")
    run_multi_operator(cfg, str(tmp_path / "o"), progress=False, results=res)
    doc = load_results(res)
    assert set(doc["entries"]) == {f"masks{g}/{m}" for g in (1, 2) for m in ("pinv", "moi", "sup")}
    curve = doc["entries"]["masks2/moi"]["curve"]
    assert curve[0][0] == 0 and curve[-1][0] == doc["entries"]["masks2/moi"]["steps"]
    v = {k: e["psnr"]["test"][0] for k, e in doc["entries"].items()}
    gaps = {(g["problem"], g["gap"]): g["measured"] for g in doc["gaps"]}
    assert gaps[("masks2", "Sup − MOI")] == pytest.approx(v["masks2/sup"] - v["masks2/moi"], abs=1e-3)
    assert os.path.getsize(str(tmp_path / "results" / "multi-operator_masks2.png")) > 0


def test_converged_runs_of_other_family_sizes_fill_one_results_file():
    from equinet.experiments.reproduce.converged import merge_results
    a, b = MultiOperatorConfig.converged(masks=(1, 2)), MultiOperatorConfig.converged(masks=(16,))
    doc = merge_results(None, "multi-operator", a, {"masks1/sup": {"cpu_seconds": 1.0}}, {})
    doc = merge_results(doc, "multi-operator", b, {"masks16/sup": {"cpu_seconds": 2.0}}, {})
    assert set(doc["entries"]) == {"masks1/sup", "masks16/sup"} and "masks" not in doc["config"]
    with pytest.raises(ValueError, match="other settings.*acceleration"):
        merge_results(doc, "multi-operator", MultiOperatorConfig.converged(acceleration=8.0), {}, {})
