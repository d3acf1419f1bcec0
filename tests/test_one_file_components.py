"""Adding a component is one new file: a copy of the package gains the loss of docs/architecture.md's worked example
and a transform, each as one new module and nothing else, and a TOML configuration uses both by name (and a wrong
option of the new loss is a one-line error naming it)."""
import os
import re
import shutil
import subprocess
import sys
import textwrap

import equinet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRANSFORM = '''
import torch

from .base import TRANSFORMS, Transform


@TRANSFORMS.register("vflip")
class VerticalFlip(Transform):
    """Flip each image upside down with probability 1/2 (its own inverse)."""

    def _draw(self, n, generator):
        return torch.randint(0, 2, (n, 1), generator=generator).double()

    def _apply(self, x, params):
        flip = params[:, 0].to(x.device).bool()
        return torch.where(flip[:, None, None, None], x.flip(-2), x)

    _inverse = _apply
'''

CONFIG = '''
seed = 0
[physics]
name = "inpainting"
drop = 0.3
[data]
name = "ellipses"
image_size = 16
n_train = 8
measurements = "fixed"
[model]
name = "reconstructor"
backbone = "dncnn"
[model.net]
group = "C1"
width = 2
depth = 2
kernel_size = 3
[[loss]]
name = "scaled_mc"
weight = 0.5
[[loss]]
name = "ei"
transform = { name = "vflip" }
[train]
steps = 2
batch_size = 4
'''


def _docs_loss() -> str:
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"`equinet/losses/scaled_mc\.py`:\n\n```python\n(.*?)```", text, re.S)
    assert m, "docs/architecture.md lost its worked example of a new loss"
    return m.group(1)


def test_a_new_loss_and_a_new_transform_are_one_file_each(tmp_path):
    pkg = tmp_path / "equinet"
    shutil.copytree(os.path.dirname(equinet.__file__), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    before = {os.path.relpath(os.path.join(d, f), pkg) for d, _, fs in os.walk(pkg) for f in fs}
    (pkg / "losses" / "scaled_mc.py").write_text(_docs_loss())
    (pkg / "transforms" / "vflip.py").write_text(TRANSFORM)
    after = {os.path.relpath(os.path.join(d, f), pkg) for d, _, fs in os.walk(pkg) for f in fs}
    assert after - before == {os.path.join("losses", "scaled_mc.py"), os.path.join("transforms", "vflip.py")}
    (tmp_path / "run.toml").write_text(CONFIG)
    (tmp_path / "bad.toml").write_text(CONFIG.replace("weight = 0.5", "weight = 0.5\nscale = 2"))
    script = textwrap.dedent('''
        import equinet, sys
        assert equinet.__file__.startswith(sys.argv[1]), equinet.__file__
        from equinet.losses import LOSSES
        from equinet.transforms import TRANSFORMS
        from equinet.training.config import build_run, load_config, ConfigError
        assert LOSSES.get("scaled_mc").__name__ == "ScaledMCLoss"
        assert TRANSFORMS.get("vflip").__name__ == "VerticalFlip"
        run = build_run(load_config(sys.argv[2]))
        names = sorted(type(t).__name__ for t in run.loss.losses)
        assert names == ["EILoss", "ScaledMCLoss"], names
        try:
            build_run(load_config(sys.argv[3]))
        except ConfigError as err:
            print("ERR", err)
        print("OK")
    ''')
    env = dict(os.environ, PYTHONPATH=str(tmp_path), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", script, str(pkg), str(tmp_path / "run.toml"), str(tmp_path / "bad.toml")],
                       cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "OK"
    err = next(line for line in lines if line.startswith("ERR"))
    assert "unknown key 'scale'" in err and "ScaledMCLoss accepts: weight" in err
