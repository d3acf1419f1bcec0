"""experiments/diagnose_ema_batchnorm.py: recomputed batch-norm statistics are the plain averages of the batches'
statistics and leave the weights alone; bad flags are one-line usage errors."""
import importlib.util
import os

import pytest
import torch

from equinet.utils.cli import run_command

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module():
    spec = importlib.util.spec_from_file_location(
        "diagnose_ema_batchnorm", os.path.join(ROOT, "experiments", "diagnose_ema_batchnorm.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Net(torch.nn.Module):
    """``net(y, physics)``: a convolution and a batch norm (the physics is ignored)."""

    def __init__(self):
        super().__init__()
        self.conv, self.norm = torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.BatchNorm2d(3)

    def forward(self, y, physics):
        return self.norm(self.conv(y))


def test_recomputed_statistics_are_the_average_over_the_batches():
    mod = _module()
    torch.manual_seed(0)
    net, y = Net(), torch.randn(8, 1, 6, 6) * 3 + 1
    net.norm.running_mean.fill_(5.0)
    fresh = mod.recompute_batch_norm(net, None, y, batch=4)
    with torch.no_grad():
        feats = [net.conv(y[i:i + 4]) for i in (0, 4)]
    mean = torch.stack([f.mean(dim=(0, 2, 3)) for f in feats]).mean(0)
    var = torch.stack([f.var(dim=(0, 2, 3), unbiased=True) for f in feats]).mean(0)
    assert torch.allclose(fresh.norm.running_mean, mean, atol=1e-6)
    assert torch.allclose(fresh.norm.running_var, var, atol=1e-5)
    assert torch.equal(fresh.conv.weight, net.conv.weight) and net.norm.running_mean[0] == 5.0  # a copy
    assert not fresh.training


@pytest.mark.parametrize("argv,match", [(["--steps", "0"], "--steps >= 1"), (["--decay", "1"], "0 < --decay < 1"),
                                        (["--checkpoint", "/nonexistent.pt"], "no checkpoint")])
def test_bad_flags_are_one_line_errors(argv, match, capsys):
    assert run_command(_module().main, argv, prog="diagnose") == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
