"""TOML training configurations: every bad case is one clear ConfigError before training; the examples build."""
import copy
import glob
import os

import pytest
import torch

from equinet.training.cli import main as train_main

from .configs import tiny_ei_config
from equinet.utils.cli import UsageError
from equinet.training.config import ConfigError, build_run, load_config, parse_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TINY = tiny_ei_config(seed=3, drop=0.3, sigma=0.01, n_train=8, n_val=4, ei_noise=False, train="""
steps = 4
batch_size = 4
checkpoint_every = 2
progress = false
plots = false
""")


def _raw():
    import tomllib
    return tomllib.loads(TINY)


def _build(raw):
    return build_run(parse_config(raw))


def _with(path, value):
    raw = _raw()
    *head, last = path
    node = raw
    for k in head:
        node = node[k]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return raw


BAD = [
    (("colour",), "blue", r"unknown key or section 'colour'"),
    (("train", "lrate"), 0.1, r"unknown key 'lrate' in \[train\]; expected keys: .*lr"),
    (("train", "lr"), "fast", r"train.lr must be a number, got 'fast'"),
    (("train", "steps"), 2.5, r"train.steps must be an integer"),
    (("train", "steps"), True, r"train.steps must be an integer"),
    (("data", "ground_truth"), 1, r"data.ground_truth must be true/false"),
    (("train", "epochs"), 2, r"exactly one of steps or epochs"),
    (("train", "lr"), 0.0, r"train.lr must be a finite number > 0"),
    (("train", "schedule"), "linear", r"train.schedule = 'linear' is unknown; expected one of 'constant', 'cosine'"),
    (("train", "optimizer"), "lbfgs", r"train.optimizer = 'lbfgs' is unknown"),
    (("train",), KeyError, r"missing section \[train\]"),
    (("data", "n_train"), KeyError, r"missing key data.n_train"),
    (("data", "name"), "mnist", r"data.name = 'mnist' is unknown; expected one of 'ellipses', 'natural'"),
    (("data", "measurements"), "live", r"data.measurements = 'live' is unknown"),
    (("physics", "name"), "pet", r"physics.name = 'pet' is unknown; expected one of 'radon'"),
    (("physics", "drop"), "many", r"physics.drop must be a number"),
    (("physics", "angles"), 30, r"unknown key 'angles' in \[physics\]; Inpainting accepts"),
    (("physics", "drop"), 1.5, r"\[physics\] \(Inpainting\): .*drop"),
    (("physics", "noise"), {"name": "speckle"}, r"physics.noise.name = 'speckle' is unknown"),
    (("physics", "noise"), {"name": "gaussian", "sigma": -1.0}, r"\[physics.noise\] \(GaussianNoise\)"),
    (("model", "name"), "transformer", r"model.name = 'transformer' is unknown"),
    (("model", "backbone"), "resnet", r"model.backbone = 'resnet' is unknown; expected one of 'unet', 'dncnn'"),
    (("model", "net"), {"group": "C4", "widht": 4}, r"unknown key 'widht' in \[model.net\]"),
    (("model", "net"), {"group": "Z7"}, r"\[model.net\]: unknown group 'Z7'"),
    (("loss",), [{"name": "perceptual"}], r"loss\[0\].name = 'perceptual' is unknown; expected one of 'supervised'"),
    (("loss",), [{"weight": 1.0}], r"\[loss\[0\]\] needs name"),
    (("loss",), [{"name": "mc", "wieght": 2.0}], r"unknown key 'wieght' in \[loss\[0\]\]; MCLoss accepts: weight"),
    (("loss",), [{"name": "ei", "noise": "yes", "transform": {"name": "rotate"}}], r"loss\[0\].noise must be true/false"),
    (("loss",), [{"name": "ei"}], r"\[loss\[0\]\] \(EILoss\) needs transform"),
    (("loss",), [{"name": "ei", "transform": {"name": "zoom"}}], r"loss\[0\].transform.name = 'zoom' is unknown"),
    (("loss",), [{"name": "ei", "transform": {"name": "group", "group": "Q3"}}], r"loss\[0\].transform.group: unknown group"),
    (("loss",), [{"name": "supervised"}], r"needs ground-truth images, but the dataset holds measurements only"),
]


@pytest.mark.parametrize("path,value,message", BAD, ids=[".".join(map(str, b[0])) + "=" + repr(b[1])[:20] for b in BAD])
def test_bad_config_is_one_clear_error(path, value, message):
    with pytest.raises(ConfigError, match=message):
        _build(_with(path, value))


def test_supervised_loss_is_accepted_with_ground_truth_or_online_simulation():
    for data in ({"ground_truth": True}, {"measurements": "online"}):
        raw = _with(("loss",), [{"name": "supervised"}])
        raw["data"].update(data)
        run = _build(raw)
        assert run.loss.needs_ground_truth


def test_tiny_config_builds_the_documented_objects():
    run = _build(_raw())
    from equinet.data import MeasurementDataset, PairedMeasurementDataset
    from equinet.losses import LossSum
    from equinet.nets import PinvReconstructor
    assert isinstance(run.model, PinvReconstructor) and isinstance(run.loss, LossSum)
    assert type(run.data) is MeasurementDataset and len(run.data) == 8
    assert isinstance(run.validation, PairedMeasurementDataset) and len(run.validation) == 4
    y = run.data.y[:2]
    assert run.model(y, run.physics).shape == (2, 1, 12, 12)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "experiments", "configs", "*.toml"))),
                         ids=os.path.basename)
def test_example_configs_are_valid(path):
    cfg = load_config(path)
    assert cfg["train"]["steps"] or cfg["train"]["epochs"]
    from equinet.training.config import _loss, _physics
    _physics(cfg["physics"], cfg["data"]["image_size"])
    _loss(cfg["loss"])


def _write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_cli_errors_before_training(tmp_path, capsys):
    good = _write(tmp_path, TINY)
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(UsageError, match="output folder .* is a file"):
        train_main([good, "--out", str(afile)])
    with pytest.raises(UsageError, match="config file .* does not exist"):
        train_main([str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")])
    with pytest.raises(UsageError, match=".* not valid TOML"):
        train_main([_write(tmp_path, "seed = = 1", "bad.toml"), "--out", str(tmp_path / "o")])
    out = tmp_path / "o2"
    with pytest.raises(UsageError, match="unknown key 'lrate'"):
        train_main([_write(tmp_path, TINY.replace("steps = 4", "steps = 4\nlrate = 1"), "b2.toml"), "--out", str(out)])
    assert not (out / "log.csv").exists() and not (out / "checkpoint.pt").exists()
    out3 = tmp_path / "o3"
    devices = ["tpu"] + ([] if torch.cuda.is_available() else ["cuda"])
    for dev in devices:  # an unknown device, or CUDA asked for but absent: one line, nothing created
        with pytest.raises(UsageError, match=f"device = '{dev}'"):
            train_main([_write(tmp_path, f'device = "{dev}"\n' + TINY, f"{dev}.toml"), "--out", str(out3)])
    assert not out3.exists()


def test_cli_trains_refuses_to_overwrite_and_resumes(tmp_path):
    cfg, out = _write(tmp_path, TINY), str(tmp_path / "run")
    s = train_main([cfg, "--out", out])
    assert s["steps"] == 4 and s["resumed_from"] is None and "val_psnr" in s
    for name in ("log.csv", "checkpoint.pt", "config.toml"):
        assert os.path.exists(os.path.join(out, name))
    with pytest.raises(UsageError, match="already holds a run.*--resume"):
        train_main([cfg, "--out", out])
    again = train_main([cfg, "--out", out, "--resume"])  # a finished run: nothing left to do
    assert again["resumed_from"] == 4 and again["final_loss"] == s["final_loss"]
    other = _write(tmp_path, TINY.replace("seed = 3", "seed = 4"), "other.toml")
    with pytest.raises(UsageError, match="checkpoint .* another configuration .*'seed': \\(3, 4\\)"):
        train_main([other, "--out", out, "--resume"])


def test_main_module_dispatches_train(tmp_path, capsys):
    from equinet.__main__ import main
    assert main(["train", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m equinet train: error: config file") and len(err.splitlines()) == 1
