"""Denoisers trained once and shipped with the package: blind bias-free DnCNNs, plain (C1) and equivariant by
design (C4, C8, D4), of about equal parameter counts (docs/pretrained.md).

Each denoiser is two files in ``equinet/pretrained/weights/``: ``NAME.pt`` (the network's state dict, with the
basis signature of every steerable layer) and ``NAME.json``, its model card (architecture, training data, noise
range, PSNR per noise level on held-out photographs, parameter count, the training configuration and the SHA-256 of
``NAME.pt``). `load` checks the file's checksum against the card, then every layer's basis signature against the
network the card describes, before anything is copied: a modified or corrupted file is refused with one line.

>>> from equinet import pretrained
>>> pretrained.available()
('dncnn_c1', 'dncnn_c4', 'dncnn_c8', 'dncnn_d4')
>>> D = pretrained.load("dncnn_c4")
>>> import torch
>>> x = torch.rand(1, 1, 32, 32)
>>> torch.allclose(D(x.rot90(1, (-2, -1))), D(x).rot90(1, (-2, -1)), atol=1e-5)  # C4-equivariant by design
True
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Optional, Tuple

import torch

from ..nets import NetSpec, build

__all__ = ["load", "available", "list", "card", "weights_dir", "PretrainedError", "FORMAT", "sha256"]

#: the format tag of a shipped weight file
FORMAT = "equinet.pretrained/1"


class PretrainedError(ValueError):
    """A shipped denoiser that cannot be loaded: unknown name, missing file, checksum or signature mismatch."""


def weights_dir() -> str:
    """The folder of the shipped weights and model cards (inside the installed package)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")


def available(directory: Optional[str] = None) -> Tuple[str, ...]:
    """The names of the shipped denoisers (those with a model card), sorted."""
    d = weights_dir() if directory is None else os.fspath(directory)
    if not os.path.isdir(d):
        return ()
    return tuple(sorted(f[:-5] for f in os.listdir(d) if f.endswith(".json")))


#: the same as `available` (``equinet.pretrained.list()``)
list = available  # noqa: A001


def sha256(path: str) -> str:
    """The SHA-256 of a file, as hexadecimal."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def card(name: str, directory: Optional[str] = None) -> dict:
    """The model card of the denoiser ``name`` (a dict: ``architecture``, ``spec``, ``parameters``, ``data``,
    ``noise``, ``psnr``, ``config``, ``sha256``, ...).

    >>> card("dncnn_d4")["spec"]["group"]
    'D4'
    """
    d = weights_dir() if directory is None else os.fspath(directory)
    names = available(d)
    if not isinstance(name, str) or name not in names:
        raise PretrainedError(f"no shipped denoiser {name!r}; expected one of: {', '.join(names) or '(none)'}")
    path = os.path.join(d, name + ".json")
    try:
        with open(path, encoding="utf-8") as f:
            c = json.load(f)
    except (OSError, ValueError) as err:
        raise PretrainedError(f"the model card {path} cannot be read ({err})") from None
    for key in ("architecture", "spec", "residual", "sha256", "weights"):
        if key not in c:
            raise PretrainedError(f"the model card {path} has no {key!r}")
    return c


def _network(c: dict):
    s = c["spec"]
    spec = NetSpec(group=s["group"], width=s["width"], depth=s["depth"], kernel_size=s["kernel_size"],
                   bias=s["bias"], activation=s["activation"])
    return build(c["architecture"], spec, residual=c["residual"])


def load(name: str, directory: Optional[str] = None, device: "str | torch.device" = "cpu") -> torch.nn.Module:
    """The shipped denoiser ``name`` (see `available`), in eval mode: a bias-free DnCNN called ``D(x)`` on
    ``[B, 1, H, W]`` images, for Gaussian noise of any level in its card's range (no noise level given).

    The weight file's SHA-256 must equal its card's, and every layer's basis signature the network's: otherwise a
    `PretrainedError` (a ValueError) says which file failed and how. ``directory``: another folder of weights and
    cards (default: the package's, `weights_dir`).

    >>> D = load("dncnn_c1")
    >>> sum(p.numel() for p in D.parameters()) == card("dncnn_c1")["parameters"]
    True
    """
    d = weights_dir() if directory is None else os.fspath(directory)
    c = card(name, d)
    path = os.path.join(d, c["weights"])
    if not os.path.isfile(path):
        raise PretrainedError(f"the weights of {name!r} are missing: {path}")
    digest = sha256(path)
    if digest != c["sha256"]:
        raise PretrainedError(f"the weights of {name!r} fail their checksum ({path}: sha256 {digest[:16]}..., the "
                              f"model card says {c['sha256'][:16]}...): the file was modified or corrupted; refusing "
                              "to load it")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is one error
        raise PretrainedError(f"the weights of {name!r} cannot be read ({path}: {type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or not isinstance(state.get("state_dict"), dict):
        raise PretrainedError(f"{path} is not an equinet pretrained weight file (format {FORMAT!r})")
    net = _network(c)
    from ..nn.loading import state_dict_problems
    problems = state_dict_problems(net, state["state_dict"])
    if problems:
        raise PretrainedError(f"the weights of {name!r} do not match the network of their model card: "
                              f"{problems[0].splitlines()[0]}")
    try:
        net.load_state_dict(state["state_dict"])
    except (RuntimeError, ValueError) as err:
        raise PretrainedError(f"the weights of {name!r} do not fit the network of their model card: "
                              f"{str(err).splitlines()[0]}") from None
    return net.to(device).eval()
