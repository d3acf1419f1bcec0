import json
import math
import os

import pytest
import torch

from equinet.data import random_ellipses
from equinet.experiments.comparison import (ComparisonConfig, build_model, build_operator, build_prox_specs,
                                            phantom_params, render_phantoms, rotate_params, run_comparison)
from equinet.nets import count_parameters


def test_local_rendering_matches_equinet_data():
    params = phantom_params(5, 24, seed=4, orientation="uniform")
    assert torch.equal(render_phantoms(params, 24), random_ellipses(5, 24, seed=4))


@pytest.mark.parametrize("size", [23, 24])
def test_rotating_parameters_is_an_exact_rotation(size):
    params = phantom_params(4, size, seed=1, orientation="aligned")
    img = render_phantoms(params, size)
    quarter = render_phantoms(rotate_params(params, torch.full((4,), math.pi / 2)), size)
    assert torch.allclose(quarter, torch.rot90(img, 1, dims=(-2, -1)), atol=1e-6)
    # an arbitrary angle moves the content but keeps its mass (no interpolation loss); 360° is the identity
    rot = render_phantoms(rotate_params(params, torch.tensor([0.3, 1.1, 2.0, 4.0])), size)
    assert not torch.allclose(rot, img, atol=1e-2)
    assert torch.allclose(rot.sum(dim=(1, 2, 3)), img.sum(dim=(1, 2, 3)), rtol=0.03)
    assert torch.allclose(render_phantoms(rotate_params(params, torch.full((4,), 2 * math.pi)), size), img, atol=1e-6)


def test_aligned_orientation():
    p = phantom_params(6, 32, seed=2, orientation="aligned", jitter_deg=5.0)
    u = phantom_params(6, 32, seed=2, orientation="uniform")
    live = p[..., 0] != 0
    assert bool((p[..., 5][live].abs() <= math.radians(5.0)).all())
    assert torch.equal(p[..., :5], u[..., :5])  # only the ellipse angles change
    with pytest.raises(ValueError, match="orientation"):
        phantom_params(2, 16, 0, orientation="diagonal")


def test_specs_match_parameters_and_widths():
    cfg = ComparisonConfig.quick(models=("pinv", "cnn", "cnn-wide", "c4", "c4-wide", "c8"))
    specs = build_prox_specs(cfg, 1)
    from equinet.nets import build
    n = {k: count_parameters(build("dncnn", s)) for k, s in specs.items()}
    assert specs["c8"].G.name == "C8" and specs["c4"].G.name == "C4"
    assert specs["cnn"].is_translation_only and specs["cnn-wide"].is_translation_only
    assert abs(n["cnn"] - n["c8"]) / n["c8"] < 0.3 and abs(n["c4"] - n["c8"]) / n["c8"] < 0.3
    channels = {k: s.width * s.hidden_rep.size for k, s in specs.items()}
    assert channels["cnn-wide"] == channels["c4-wide"] == channels["c8"] == 8 * cfg.width
    assert all(s.in_channels == s.out_channels == 2 for s in build_prox_specs(cfg, 2).values())  # MRI: re, im


@pytest.mark.parametrize("op", ["ct", "mri"])
def test_untrained_model_is_plain_pgd(op):
    cfg = ComparisonConfig.quick(image_size=16, n_iter=3, depth=3, width=1, models=("c8", "cnn"))
    ref = render_phantoms(phantom_params(4, 16, 9), 16)
    physics, ch, sigma, _ = build_operator(op, cfg, ref)
    assert sigma > 0 and physics.noise.sigma == sigma
    x = ref if ch == 1 else torch.cat([ref, torch.zeros_like(ref)], 1)
    y = physics.measure(x, torch.Generator().manual_seed(0))
    for spec in build_prox_specs(cfg, ch).values():
        model = build_model(cfg, spec, physics, ch)
        with torch.no_grad():
            u = physics.pinv(y)
            for tau in model.step_sizes:
                u = u - tau * physics.grad_data_fidelity(u, y)
            assert torch.allclose(model(y, physics), u, atol=1e-5)


def test_config_validation():
    with pytest.raises(ValueError, match="operators"):
        ComparisonConfig(operators=("pet",))
    with pytest.raises(ValueError, match="models"):
        ComparisonConfig(models=("resnet",))
    with pytest.raises(ValueError, match="train_sizes"):
        ComparisonConfig(train_sizes=(0, 10))
    with pytest.raises(ValueError, match="image_size"):
        ComparisonConfig(image_size=8)
    with pytest.raises(ValueError, match="figure_index"):
        ComparisonConfig(n_test=4, figure_index=4)
    with pytest.raises(TypeError):
        run_comparison({"image_size": 16})
    q = ComparisonConfig.quick()
    assert (q.train_sizes, q.image_size, q.depth, q.width, q.steps) == ((10, 30, 100), 32, 3, 3, 300)
    with pytest.raises(ValueError, match="activation"):
        ComparisonConfig(activation="gelu")
    specs = build_prox_specs(ComparisonConfig(activation="elu", width=1, depth=2), 1)
    assert {s.activation for s in specs.values()} == {"elu"}
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="workers"):
            ComparisonConfig(workers=bad)


def test_deterministic_given_seed(tmp_path):
    cfg = ComparisonConfig.quick(image_size=16, steps=2, train_sizes=(2,), n_test=2, batch_size=2, n_iter=2, depth=2,
                                 width=1, operators=("ct",), models=("pinv", "c8"), device="cpu", seed=5)
    a = run_comparison(cfg, str(tmp_path / "a"), progress=False, log=None)
    b = run_comparison(cfg, str(tmp_path / "b"), progress=False, log=None)
    key = lambda r: (r["model"], r["test_set"])  # noqa: E731
    va = {key(r): (r["psnr_mean"], r["ssim_mean"], r["final_train_loss"]) for r in a}
    vb = {key(r): (r["psnr_mean"], r["ssim_mean"], r["final_train_loss"]) for r in b}
    assert va == vb


def test_summarise_paired_differences():
    import numpy as np
    from equinet.experiments.comparison import markdown_table, summarise
    a = np.array([30.0, 32.0, 34.0])
    per = {("ct", "cnn", 10, "held-out"): {"psnr": [a], "ssim": [a / 40]},
           ("ct", "cnn", 10, "rotated"): {"psnr": [a - 1.0], "ssim": [a / 40]},
           ("ct", "c8", 10, "held-out"): {"psnr": [a + np.array([1.0, 2.0, 3.0])], "ssim": [a / 40]},
           ("ct", "c8", 10, "rotated"): {"psnr": [a + 2.0], "ssim": [a / 40]}}
    rows = {(r["model"], r["test_set"]): r for r in summarise(per)}
    c8 = rows[("c8", "held-out")]
    assert c8["psnr_mean"] == 34.0 and abs(c8["psnr_std"] - np.std(a + [1, 2, 3])) < 1e-12
    assert c8["dpsnr_vs_cnn_mean"] == 2.0 and abs(c8["dpsnr_vs_cnn_se"] - 1.0 / np.sqrt(3)) < 1e-12
    assert rows[("c8", "rotated")]["dpsnr_vs_cnn_mean"] == 3.0 and rows[("c8", "rotated")]["dpsnr_vs_cnn_se"] == 0.0
    assert rows[("cnn", "rotated")]["rotated_minus_heldout_mean"] == -1.0
    assert rows[("c8", "rotated")]["rotated_minus_heldout_mean"] == 0.0
    assert rows[("c8", "held-out")]["rotated_minus_heldout_mean"] is None
    assert rows[("cnn", "held-out")]["dpsnr_vs_cnn_mean"] == 0.0
    md = markdown_table([dict(r, params=1) for r in rows.values()])
    assert "+2.00 ± 0.58" in md and "-1.00 ± 0.00" in md


def test_worker_processes_give_the_same_table(tmp_path):
    """Training in 2 spawned worker processes gives exactly the rows of the serial run (each training run depends on
    the configuration and its own seeds only), and the figures and tables are written the same way."""
    from equinet.experiments.comparison import config_from_args, build_parser
    kw = dict(image_size=16, steps=3, train_sizes=(2, 3), n_test=2, batch_size=2, n_iter=2, depth=2, width=1,
              models=("pinv", "cnn", "c8"), device="cpu", seed=7)
    a = run_comparison(ComparisonConfig.quick(workers=1, **kw), str(tmp_path / "a"), progress=False, log=None)
    b = run_comparison(ComparisonConfig.quick(workers=2, **kw), str(tmp_path / "b"), progress=False, log=None)
    fields = ("operator", "model", "train_size", "test_set", "params", "psnr_mean", "psnr_std", "ssim_mean",
              "dpsnr_vs_cnn_mean", "rotated_minus_heldout_mean", "final_train_loss")
    assert [tuple(r[f] for f in fields) for r in a] == [tuple(r[f] for f in fields) for r in b]
    assert sorted(os.listdir(tmp_path / "a")) == sorted(os.listdir(tmp_path / "b"))
    with open(tmp_path / "b" / "table.json") as f:
        assert json.load(f)["workers"] == 2
    # the command line's quick mode uses the cores (up to 2); the Python API and full mode default to 1 process
    cli = config_from_args(build_parser("quick").parse_args([]))
    assert cli.workers == max(1, min(2, os.cpu_count() or 1))
    assert config_from_args(build_parser("full").parse_args([])).workers is None
    assert config_from_args(build_parser("quick").parse_args(["--workers", "1"])).workers == 1


def test_quick_twins_match_within_14_percent_and_say_so_once(recwarn):
    """The quick mode's twins are the closest integer widths (measured: CT +2 % / -7 %, MRI -13 % / -5 %); building
    them warns nothing, and `matching_note` states the counts once."""
    from equinet.experiments.comparison.report import matching_note
    from equinet.nets import build
    cfg = ComparisonConfig.quick()
    rows = []
    for op, ch in (("ct", 1), ("mri", 2)):
        specs = build_prox_specs(cfg, ch)
        counts = {k: sum(p.numel() for p in build("dncnn", s).parameters()) for k, s in specs.items()}
        for k in ("cnn", "c4"):
            assert abs(counts[k] - counts["c8"]) <= 0.14 * counts["c8"], (op, k, counts)
        rows += [dict(operator=op, model=k, params=n) for k, n in counts.items()]
    assert not [w for w in recwarn if "closest" in str(w.message)]
    note = matching_note(rows)
    assert note.count("ct: C8") == 1 and note.count("mri: C8") == 1 and "(-13%)" in note and "(+2%)" in note
