"""The configuration builds from the registries and the components' own typed options: one set of defaults, and a
component registered where it is defined is usable by name with no other edit."""
import sys
import textwrap

import pytest
import tomllib
import torch

from equinet.losses import LOSSES, Loss
from equinet.nets import NetSpec
from equinet.training import TrainConfig
from equinet.training.config import NET_KEYS, SECTIONS, build_run, parse_config
from equinet.utils.config import ConfigError


BASE = """
[physics]
name = "denoising"
[data]
image_size = 12
n_train = 4
ground_truth = true
[model]
backbone = "dncnn"
[model.net]
width = 1
depth = 2
[train]
steps = 1
batch_size = 2
progress = false
plots = false
identifiability = false
"""


def test_one_set_of_defaults():
    assert {k: d for k, (_, d) in NET_KEYS.items()} == {
        k: getattr(NetSpec(), k) if k != "group" else "C4" for k in NET_KEYS}
    defaults = TrainConfig(steps=1)
    assert {k: d for k, (_, d) in SECTIONS["train"].items() if k not in ("progress", "steps")} == \
        {k: getattr(defaults, k) for k in SECTIONS["train"] if k not in ("progress", "steps")}
    run = build_run(parse_config(tomllib.loads(BASE + '[[loss]]\nname = "mc"\n')))
    spec = run.model.net.spec
    assert (spec.group.name, spec.kernel_size, spec.activation) == ("C4", NetSpec().kernel_size, "relu")
    assert run.trainer_kwargs["config"] == TrainConfig(steps=1, batch_size=2, plots=False, identifiability=False)


class HalfMSE(Loss):
    """A new loss, defined and registered in one place (here: this test module)."""

    name = "half_mse"
    needs_ground_truth = True

    def __init__(self, weight: float = 0.5):
        super().__init__()
        self.weight = float(weight)

    def terms(self, inputs):
        return {"half_mse": self.weight * torch.mean((inputs.x1 - inputs.x) ** 2)}


def test_a_registered_loss_is_usable_by_name_with_its_options_checked():
    LOSSES.register("half_mse")(HalfMSE)
    run = build_run(parse_config(tomllib.loads(BASE + '[[loss]]\nname = "half_mse"\nweight = 0.25\n')))
    assert isinstance(run.loss, HalfMSE) and run.loss.weight == 0.25
    with pytest.raises(ConfigError, match=r"loss\[0\].weight must be a number, got 'x'"):
        build_run(parse_config(tomllib.loads(BASE + '[[loss]]\nname = "half_mse"\nweight = "x"\n')))
    with pytest.raises(ValueError, match="loss 'half_mse' is already registered"):
        LOSSES.register("half_mse")(SupervisedLike)


class SupervisedLike(HalfMSE):
    pass


def test_a_new_module_of_a_package_registers_itself(tmp_path, monkeypatch):
    pkg = tmp_path / "plugpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from equinet.utils.registry import Registry, import_submodules
        THINGS = Registry("thing")
        import_submodules(__name__, __path__)
        """))
    (pkg / "square.py").write_text("from . import THINGS\n\n\n@THINGS.register('square')\nclass Square:\n    pass\n")
    (pkg / "_private.py").write_text("raise RuntimeError('private helpers are not imported by discovery')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugpkg
    assert plugpkg.THINGS.names() == ("square",)
    del sys.modules["plugpkg"], sys.modules["plugpkg.square"]
