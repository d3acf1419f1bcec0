"""Turn a finished ``python -m equinet train`` run of a denoiser into a shipped denoiser: the network's weights
(``NAME.pt``) and its model card (``NAME.json``: architecture, data, noise range, PSNR per noise level on held-out
photographs, parameter count, the configuration, the weights' SHA-256).

    python -m equinet.pretrained.publish NAME RUN_DIR [--dest equinet/pretrained/weights]

``RUN_DIR`` holds the run's ``checkpoint.pt`` and ``config.toml`` (a denoising run: ``[model] name =
"reconstructor"``, a ``dncnn`` backbone, ``residual = true``). Both files are written atomically.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import tomllib
import torch

from ..data.natural import TEST_PHOTOS, TRAIN_PHOTOS, natural_test_images
from ..metrics import psnr
from ..nets import NetSpec, build, count_parameters
from ..utils.io import torch_save, write_json
from . import FORMAT, sha256, weights_dir

__all__ = ["publish", "heldout_psnr", "TEST_SIGMAS", "main"]

#: the noise levels of a model card's PSNR table (images in [0, 1])
TEST_SIGMAS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
#: the held-out test set of a card: crops of `TEST_PHOTOS`
TEST_CROPS, TEST_SIZE, TEST_SEED, NOISE_SEED = 32, 64, 7, 8


def heldout_psnr(net: torch.nn.Module, sigmas: Sequence[float] = TEST_SIGMAS) -> dict:
    """``{sigma: (input PSNR, output PSNR)}`` (dB, mean over `TEST_CROPS` 64x64 crops of the held-out photographs,
    one fixed noise pattern scaled to each level)."""
    x = natural_test_images(TEST_CROPS, TEST_SIZE, seed=TEST_SEED)
    n = torch.randn(x.shape, generator=torch.Generator().manual_seed(NOISE_SEED))
    out = {}
    with torch.no_grad():
        for s in sigmas:
            y = x + s * n
            out[float(s)] = (float(psnr(y, x, data_range=1.0).mean()), float(psnr(net(y), x, data_range=1.0).mean()))
    return out


def _run_network(run_dir: str):
    for needed in ("config.toml", "checkpoint.pt"):
        if not os.path.isfile(os.path.join(run_dir, needed)):
            raise FileNotFoundError(f"{run_dir} is not a finished training run: it has no {needed}")
    with open(os.path.join(run_dir, "config.toml"), "rb") as f:
        cfg = tomllib.load(f)
    m = cfg.get("model", {})
    if m.get("name") != "reconstructor" or m.get("backbone") != "dncnn" or not m.get("residual", True) \
            or not isinstance(m.get("net"), dict) or "noise" not in cfg.get("physics", {}):
        raise ValueError(f"{run_dir}: a shipped denoiser is a residual 'reconstructor' with a 'dncnn' backbone, "
                         "trained with a noise model")
    spec = NetSpec(**m["net"])
    if spec.bias:
        raise ValueError(f"{run_dir}: a shipped denoiser is bias-free (model.net.bias = false), blind to the noise "
                         "level")
    state = torch.load(os.path.join(run_dir, "checkpoint.pt"), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{run_dir}/checkpoint.pt is not an equinet training checkpoint")
    sd = {k[len("net."):]: v for k, v in state["model"].items() if k.startswith("net.")}
    net = build("dncnn", spec, residual=True)
    net.load_state_dict(sd)
    return net.eval(), spec, cfg, state


def publish(name: str, run_dir: str, dest: Optional[str] = None, config_path: Optional[str] = None) -> dict:
    """Write ``dest/NAME.pt`` and ``dest/NAME.json`` from the run in ``run_dir``; returns the card."""
    dest = weights_dir() if dest is None else dest
    net, spec, cfg, state = _run_network(run_dir)
    weights = os.path.join(dest, name + ".pt")
    torch_save({"format": FORMAT, "state_dict": net.state_dict()}, weights)
    noise = cfg["physics"]["noise"]
    spacing = noise.get("spacing", "linear")
    table = heldout_psnr(net)
    card = {
        "name": name,
        "architecture": "dncnn",
        "residual": True,
        "spec": {"group": spec.G.name, "width": spec.width, "depth": spec.depth, "kernel_size": spec.kernel_size,
                 "bias": spec.bias, "activation": str(spec.activation)},
        "parameters": count_parameters(net),
        "equivariance": f"{spec.G.name} by design (exact on the pixel grid)" if spec.G.order > 1 else "none",
        "data": {"train": f"{cfg['data']['n_train']} crops {cfg['data']['image_size']}x{cfg['data']['image_size']} "
                          f"of scikit-image photographs {', '.join(TRAIN_PHOTOS)} (grayscale)",
                 "test": f"{TEST_CROPS} crops {TEST_SIZE}x{TEST_SIZE} of the held-out {', '.join(TEST_PHOTOS)}"},
        "noise": {"model": f"additive white Gaussian, sigma {'log-uniform' if spacing == 'log' else 'uniform'} "
                           "per patch (blind: no noise level input)",
                  "sigma_min": noise["sigma_min"], "sigma_max": noise["sigma_max"], "spacing": spacing},
        "training": {"steps": int(state.get("step", cfg["train"]["steps"])), "batch_size": cfg["train"]["batch_size"],
                     "lr": cfg["train"]["lr"], "loss": "supervised MSE", "seed": cfg.get("seed", 0)},
        "psnr": [{"sigma": s, "input": round(a, 2), "output": round(b, 2)} for s, (a, b) in table.items()],
        "config": config_path or f"experiments/configs/{os.path.basename(os.path.normpath(run_dir))}.toml",
        "weights": name + ".pt",
        "sha256": sha256(weights),
    }
    write_json(os.path.join(dest, name + ".json"), card, indent=1)
    return card


def main(argv=None):
    """``python -m equinet.pretrained.publish NAME RUN_DIR [--dest DIR] [--config PATH]``; a bad input is one line
    (exit 2) before anything is written."""
    from ..utils.cli import Parser, user_input
    ap = Parser(prog="python -m equinet.pretrained.publish", description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="the denoiser's name (the files NAME.pt and NAME.json)")
    ap.add_argument("run_dir", help="the training run's folder (checkpoint.pt, config.toml)")
    ap.add_argument("--dest", default=None, help="output folder (default: the package's weights folder)")
    ap.add_argument("--config", default=None, help="the config path recorded in the card")
    a = ap.parse_args(argv)
    with user_input():
        if not a.name.replace("_", "").isalnum():
            raise ValueError(f"NAME must be letters, digits and underscores, got {a.name!r}")
        c = publish(a.name, a.run_dir, a.dest, a.config)
    print(f"{a.name}: {c['parameters']} parameters, sha256 {c['sha256'][:16]}...; PSNR "
          + ", ".join(f"{r['sigma']:g}: {r['output']:.2f}" for r in c["psnr"]))


if __name__ == "__main__":
    from ..utils.cli import run_command
    run_command(main, prog="python -m equinet.pretrained.publish", exit=True)
