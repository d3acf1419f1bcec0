"""Mixed precision in the trainer: bf16/fp16 steps run in the reduced dtype with float32 master weights, fp16's
gradient scaler skips overflowing steps, killed and resumed bf16/fp16 runs are bitwise the uninterrupted ones on
the CPU, fp32 stays the default (and its older checkpoints resume), and bad values are one clear error."""
import math

import pytest
import tomllib
import torch
from torch import nn

from equinet.data import random_ellipses, simulate_measurements
from equinet.losses import EILoss, LossSum, MCLoss
from equinet.nets import PinvReconstructor
from equinet.physics import Blur, GaussianNoise, gaussian_kernel
from equinet.training import TrainConfig, Trainer, read_csv
from equinet.training.cli import main as train_main
from equinet.training.config import ConfigError, build_run, parse_config
from equinet.training.precision import Precision
from equinet.transforms import Rotate
from equinet.utils.cli import UsageError

from .configs import tiny_ei_config

IMAGES = random_ellipses(20, 12, seed=3)
PHYSICS = Blur(gaussian_kernel(1.0), image_size=12, noise=GaussianNoise(0.02))
DATA = simulate_measurements(PHYSICS, IMAGES, seed=0)
VAL = simulate_measurements(PHYSICS, random_ellipses(4, 12, seed=9), seed=1, ground_truth=True)
REDUCED = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _model(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 1, 3, padding=1))
    return PinvReconstructor(net, residual=True, init="pinv")


def _loss(weight=1.0):
    return LossSum([MCLoss(weight=weight), EILoss(Rotate(), weight=weight)])


def _weights(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_steps_are_finite_run_in_that_dtype_and_keep_float32_weights(precision):
    runs = {}
    for p in ("fp32", precision):
        model, seen = _model(), []
        model.net[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype) if m.training else None)
        t = Trainer(model, _loss(), PHYSICS, DATA, steps=4, batch_size=4, precision=p, validation=VAL, seed=1)
        runs[p] = t.fit(), model, seen
        assert all(q.dtype == torch.float32 for q in model.parameters())  # master weights
        assert all(v.dtype == torch.float32 for s in t.optimizer.state.values() for v in s.values()
                   if v.is_floating_point())
    (h32, m32, seen32), (h, m, seen) = runs["fp32"], runs[precision]
    # every training forward (the reconstruction and EI's second pass, 4 steps) ran the conv in the reduced dtype
    assert seen == [REDUCED[precision]] * 8 and seen32 == [torch.float32] * 8
    assert all(math.isfinite(v) for v in h.loss) and len(h.loss) == 4
    assert h.loss != h32.loss and h.loss == pytest.approx(h32.loss, rel=0.05)  # rounded, not another objective
    assert h.validation[-1]["psnr"] == pytest.approx(h32.validation[-1]["psnr"], abs=0.1)
    assert not torch.equal(_weights(m), _weights(m32))


def test_validation_runs_under_the_same_autocast():
    model, seen = _model(), []
    model.net[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype) if not m.training else None)
    t = Trainer(model, _loss(), PHYSICS, DATA, steps=1, batch_size=4, precision="bf16", validation=VAL)
    metrics = t.evaluate()
    assert seen == [torch.bfloat16] and math.isfinite(metrics["psnr"])


def test_fp16_scaler_skips_overflowing_steps_and_lowers_its_scale():
    """With a large loss weight the scaled float16 gradients overflow: the step leaves the weights as they were and
    the scale halves; once the scale fits, the steps update the weights."""
    model = _model()
    w0 = _weights(model).clone()
    t = Trainer(model, _loss(100.0), PHYSICS, DATA, steps=1, batch_size=4, precision="fp16", seed=1)
    t.fit()
    assert t.precision.scaler.get_scale() == 2.0 ** 15 and torch.equal(_weights(model), w0)
    model = _model()
    t = Trainer(model, _loss(100.0), PHYSICS, DATA, steps=8, batch_size=4, precision="fp16", seed=1)
    t.fit()
    assert t.precision.scaler.get_scale() == 2.0 ** 10 and not torch.equal(_weights(model), w0)


def _run(tmp, precision, steps=8, stop=None):
    model = _model()

    def cb(step, value):
        if step == stop:
            raise KeyboardInterrupt

    t = Trainer(model, _loss(100.0 if precision == "fp16" else 1.0), PHYSICS, DATA, steps=steps, batch_size=6,
                micro_batches=2, seed=4, precision=precision, validation=VAL, val_every=4, out=tmp,
                checkpoint_every=3, callback=cb, plots=False, schedule="cosine", grad_clip=1.0)
    return t.fit(), model, t


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_killed_and_resumed_reduced_precision_run_is_bitwise_the_uninterrupted_one(tmp_path, precision):
    ref, m_ref, t_ref = _run(str(tmp_path / "a"), precision)
    with pytest.raises(KeyboardInterrupt):
        _run(str(tmp_path / "b"), precision, stop=5)  # killed after step 5; the checkpoint holds step 3
    h, m, t = _run(str(tmp_path / "b"), precision)
    assert h.resumed_from == 3
    assert h.loss == ref.loss and h.terms == ref.terms and h.lr == ref.lr and h.validation == ref.validation
    assert torch.equal(_weights(m), _weights(m_ref))
    assert t.precision.state_dict() == t_ref.precision.state_dict()
    if precision == "fp16":  # the scale fell during the run: a resume that restarted it would skip other steps
        assert 0 < t.precision.scaler.get_scale() < 2.0 ** 16
    assert read_csv(str(tmp_path / "b" / "log.csv")) == read_csv(str(tmp_path / "a" / "log.csv"))


def test_fp32_is_the_default_and_its_checkpoints_without_a_scaler_state_resume(tmp_path):
    assert TrainConfig(steps=1).precision == "fp32"
    ref, m_ref, _ = _run(str(tmp_path / "a"), "fp32")
    with pytest.raises(KeyboardInterrupt):
        _run(str(tmp_path / "b"), "fp32", stop=5)
    path = tmp_path / "b" / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    assert state["precision"] == {} and "precision" not in state["config"]
    del state["precision"]  # as written before the trainer had a precision
    torch.save(state, path)
    h, m, _ = _run(str(tmp_path / "b"), "fp32")
    assert h.resumed_from == 3 and h.loss == ref.loss and torch.equal(_weights(m), _weights(m_ref))


def test_a_resume_in_another_precision_is_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(str(tmp_path / "a"), "fp32", stop=4)
    with pytest.raises(ValueError, match=r"another configuration .*'precision': \(None, 'bf16'\)"):
        _run(str(tmp_path / "a"), "bf16")


def test_bad_precision_is_one_clear_error():
    with pytest.raises(ValueError, match=r"^precision = 'fp8' is unknown; expected one of 'fp32', 'bf16', 'fp16'$"):
        TrainConfig(steps=1, precision="fp8")
    with pytest.raises(ValueError, match="precision = 16 is unknown"):
        Trainer(_model(), _loss(), PHYSICS, DATA, steps=1, precision=16)
    with pytest.raises(ValueError, match=r"^precision = 'fp16' is not supported on 'meta' by torch .*; use "
                                         r"precision = 'fp32'$"):
        Precision("fp16", "meta")


def _toml(precision):
    return tiny_ei_config(seed=3, drop=0.3, sigma=0.01, n_train=8, n_val=4, ei_noise=False,
                          train=f"steps = 2\nbatch_size = 4\nprogress = false\nplots = false\n{precision}")


def test_toml_precision_key_and_its_errors(tmp_path):
    run = build_run(parse_config(tomllib.loads(_toml('precision = "bf16"'))))
    assert run.trainer_kwargs["config"].precision == "bf16"
    assert run.trainer_kwargs["fingerprint"]["train"]["precision"] == "bf16"
    default = build_run(parse_config(tomllib.loads(_toml(""))))
    assert default.trainer_kwargs["config"].precision == "fp32"
    assert "precision" not in default.trainer_kwargs["fingerprint"]["train"]  # runs from before the key resume
    with pytest.raises(ConfigError, match=r"^train.precision = 'half' is unknown; expected one of 'fp32', 'bf16'"):
        parse_config(tomllib.loads(_toml('precision = "half"')))
    cfg = tmp_path / "bad.toml"
    cfg.write_text(_toml("precision = 16"))
    with pytest.raises(UsageError, match=r"^train.precision must be a string, got 16"):
        train_main([str(cfg), "--out", str(tmp_path / "o")])
    cfg.write_text(_toml('precision = "fp16"'))
    s = train_main([str(cfg), "--out", str(tmp_path / "fp16")])
    assert s["steps"] == 2 and math.isfinite(s["final_loss"]) and math.isfinite(s["val_psnr"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (the CPU paths are tested above)")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_step_in_reduced_precision(precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        with pytest.raises(ValueError, match="precision = 'bf16' is not supported on 'cuda'"):
            Precision("bf16", "cuda")
        return
    runs = {}
    for p in ("fp32", precision):
        model, seen = _model(), []
        model.net[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype) if m.training else None)
        t = Trainer(model, _loss(), PHYSICS, DATA, steps=3, batch_size=4, precision=p, validation=VAL,
                    device="cuda", seed=1)
        h = t.fit()
        assert all(q.device.type == "cuda" and q.dtype == torch.float32 for q in model.parameters())
        runs[p] = h, seen
    (h32, _), (h, seen) = runs["fp32"], runs[precision]
    assert seen == [REDUCED[precision]] * 6 and all(math.isfinite(v) for v in h.loss)
    assert h.loss == pytest.approx(h32.loss, rel=0.05)
    assert h.validation[-1]["psnr"] == pytest.approx(h32.validation[-1]["psnr"], abs=0.1)
