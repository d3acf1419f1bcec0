"""Training runs described by a TOML file (``python -m equinet train CONFIG.toml``); see ``docs/training.md``.

`load_config` reads and checks the whole file (unknown sections or keys, wrong types, unknown names of
operators, noise models, networks, losses and transforms, a loss that needs ground truth on measurement-only data)
and `build_run` constructs every object; any problem is one `ConfigError` that names the offending
key, raised before training starts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict

import tomllib
import torch
from torch import nn

from ..data.registry import DATASETS
from ..losses.base import LOSSES, LossSum
from ..nets import NETWORKS, NetSpec
from ..physics.base import PHYSICS
from ..physics.noise import NOISES
from ..reconstructors import RECONSTRUCTORS
from ..transforms.base import TRANSFORMS
from ..utils.checks import check_memory
from ..utils.config import (
    NUMBER,
    REQUIRED,
    ConfigError,
    build_named,
    check_table,
    check_value,
    choice,
    construct,
    named,
    schema_of,
)
from .train_config import OPTIMIZERS, TrainConfig

__all__ = ["ConfigError", "load_config", "parse_config", "build_run", "Run", "PHYSICS", "NOISES", "LOSSES",
           "TRANSFORMS", "MODELS", "BACKBONES", "DATASETS", "OPTIMIZERS"]

#: the registries a configuration names its components from (`equinet.utils.registry.Registry`)
MODELS, BACKBONES = RECONSTRUCTORS, NETWORKS
MEASUREMENTS = ("fixed", "online")

# section -> key -> (accepted types, default); the components' own typed options are the schema
_TRAIN_DEFAULTS = schema_of(TrainConfig)
TOP = {"seed": _TRAIN_DEFAULTS["seed"], "device": _TRAIN_DEFAULTS["device"], "out": ((str,), None)}
SECTIONS: Dict[str, Dict[str, tuple]] = {
    "data": {"name": ((str,), "ellipses"), "image_size": ((int,), REQUIRED), "n_train": ((int,), REQUIRED),
             "n_val": ((int,), 0), "seed": ((int,), 0), "measurements": ((str,), "fixed"),
             "ground_truth": ((bool,), False), "noise_seed": ((int,), None), "grayscale": ((bool,), True)},
    # [model]: name, backbone and net here; the reconstructor's and the backbone's own options are added per name
    "model": {"name": ((str,), "reconstructor"), "backbone": ((str,), "unet"), "net": ((dict,), None)},
    # [train]: TrainConfig (seed and device are top-level keys) and whether to show a progress bar
    "train": {**{k: v for k, v in _TRAIN_DEFAULTS.items() if k not in ("seed", "device")},
              "progress": ((bool,), True)},
}
#: [model.net]: the NetSpec (its defaults; the channels follow the physics)
NET_KEYS = schema_of(NetSpec, skip=("in_channels", "out_channels"))


def _model_schema(m: dict) -> Dict[str, tuple]:
    """[model]'s keys for the named reconstructor and backbone: theirs plus name, backbone and net."""
    choice("model.name", m.get("name", "reconstructor"), MODELS.names())
    choice("model.backbone", m.get("backbone", "unet"), BACKBONES.names())
    rec = MODELS.get(m.get("name", "reconstructor"))
    net = BACKBONES.get(m.get("backbone", "unet"))
    return {**SECTIONS["model"],
            **schema_of(rec.from_backbone, skip=("build_backbone", "physics", "channels")),
            **schema_of(net, skip=("spec", "residual"))}


# ------------------------------------------------------------------------------------------- builders
def _noise(path: str, table):
    return build_named(path, table, NOISES)


def _physics(table: dict, image_size: int):
    name, kw = named("physics", table, PHYSICS)
    cls = PHYSICS.get(name)
    fixed: Dict[str, Any] = {}
    if "image_size" in schema_of(cls):
        if "image_size" in kw and kw["image_size"] != image_size:
            raise ConfigError(f"physics.image_size = {kw['image_size']!r} differs from data.image_size = {image_size}")
        kw.pop("image_size", None)
        fixed["image_size"] = image_size
    if name == "blur":
        from ..physics import gaussian_kernel
        sigma = kw.pop("kernel_sigma", None)
        if sigma is None or "kernel" in kw:
            raise ConfigError("[physics] blur takes kernel_sigma = <width of its Gaussian kernel in pixels>")
        check_value("physics.kernel_sigma", sigma, NUMBER)
        try:
            fixed["kernel"] = gaussian_kernel(float(sigma))
        except ValueError as err:
            raise ConfigError(f"physics.kernel_sigma = {sigma!r}: {err}") from None
    if "mask" in kw:
        raise ConfigError("physics.mask cannot be given in a config; use drop/seed (inpainting) or "
                          "acceleration/seed (mri)")
    count = kw.pop("operators", None)
    if count is None:
        return construct("physics", cls, kw, fixed, {"noise": _noise})
    # a family: `operators` members, member k with the seed derived from (seed, k) (as equinet.physics.mri_family)
    check_value("physics.operators", count, int)
    if count < 1:
        raise ConfigError(f"physics.operators must be >= 1, got {count}")
    if "seed" not in schema_of(cls):
        raise ConfigError(f"physics.operators = {count} draws each member's parameters from physics.seed; [physics] "
                          f"{name} has no seed")
    base = kw.get("seed", schema_of(cls)["seed"][1])
    check_value("physics.seed", base, int)
    if base < 0:
        raise ConfigError(f"physics.seed must be >= 0, got {base}")
    from ..physics.family import OperatorFamily
    from ..utils.seeding import derived_seed
    return OperatorFamily([construct("physics", cls, {**kw, "seed": derived_seed(base, k) % 2 ** 31}, fixed,
                                     {"noise": _noise}) for k in range(count)])


def _transform(path: str, table):
    def group(where, v):
        check_value(where, v, str)
        from ..groups import get
        try:
            return get(v)
        except ValueError as err:
            raise ConfigError(f"{where}: {err}") from None

    def parts(where, v):
        if not isinstance(v, list) or not v:
            raise ConfigError(f"{where} must be a non-empty array of transform tables")
        return [_transform(f"{where}[{i}]", t) for i, t in enumerate(v)]

    return build_named(path, table, TRANSFORMS, convert={"group": group, "transforms": parts})


def _loss_term(path: str, table):
    if isinstance(table, dict) and "discriminator" in table:
        raise ConfigError(f"{path}.discriminator cannot be set in a config (the loss builds its own)")
    return build_named(path, table, LOSSES, convert={"transform": _transform, "sure": _loss_term})


def _loss(value):
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError("[[loss]] must be one or more tables with a name, e.g. [[loss]] name = \"mc\"")
    terms = [_loss_term(f"loss[{i}]", t) for i, t in enumerate(value)]
    if len(terms) == 1:
        return terms[0]
    try:
        return LossSum(terms)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[[loss]]: {err}") from None


def _model(m: dict, physics, seed: int) -> nn.Module:
    from ..utils.seeding import derived_seed
    net_opts = schema_of(BACKBONES.get(m["backbone"]), skip=("spec", "residual"))
    rec_opts = {k: m[k] for k in schema_of(MODELS.get(m["name"]).from_backbone,
                                           skip=("build_backbone", "physics", "channels"))}
    net = check_table("model.net", m["net"] or {}, NET_KEYS)
    ch = getattr(physics, "channels", None) or 1
    try:
        spec = NetSpec(in_channels=ch, out_channels=ch, **net)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[model.net]: {err}") from None
    cls = BACKBONES.get(m["backbone"])
    torch.manual_seed(derived_seed(seed, 20))
    try:
        return MODELS.get(m["name"]).from_backbone(
            lambda residual: cls(spec, residual=residual, **{k: m[k] for k in net_opts}), physics, ch, **rec_opts)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[model]: {err}") from None


def _images(d: dict, n: int, channels: int) -> torch.Tensor:
    x = DATASETS.get(d["name"])(n, d["image_size"], seed=d["seed"], grayscale=d["grayscale"])
    if channels == 2 and x.shape[1] == 1:  # complex-valued operators (MRI): real image, zero imaginary part
        x = torch.cat([x, torch.zeros_like(x)], dim=1)
    return x


def train_config(cfg: dict) -> TrainConfig:
    """The `TrainConfig` of a checked configuration (its [train] table, seed and device)."""
    t = {k: v for k, v in cfg["train"].items() if k != "progress"}
    for k in ("betas", "adversary_betas"):
        if isinstance(t[k], list):
            t[k] = tuple(t[k])
    try:
        return TrainConfig(seed=cfg["seed"], device=cfg["device"], **t)
    except (TypeError, ValueError) as err:
        msg = str(err)
        raise ConfigError(f"[train]: {msg}" if msg.startswith("exactly") else f"train.{msg}") from None


# --------------------------------------------------------------------------------------------- parsing
def parse_config(raw: dict, source: str = "config") -> dict:
    """Check a parsed TOML document; returns it normalised (defaults filled in). Raises `ConfigError`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the configuration must be a TOML table")
    known = set(TOP) | set(SECTIONS) | {"physics", "loss"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown key{'s' if len(unknown) > 1 else ''} or section "
                          f"{', '.join(map(repr, unknown))}; expected: {', '.join(sorted(known))}")
    for need in ("physics", "data", "loss", "train"):
        if need not in raw:
            raise ConfigError(f"{source}: missing section [{need}]" if need != "loss" else
                              f"{source}: missing [[loss]] (e.g. [[loss]] name = \"mc\")")
    cfg = check_table("", {k: raw[k] for k in TOP if k in raw}, TOP)
    if cfg["seed"] < 0:
        raise ConfigError(f"seed must be >= 0, got {cfg['seed']}")
    for sec, schema in SECTIONS.items():
        table = raw.get(sec, {})
        if sec == "model" and isinstance(table, dict):
            schema = _model_schema(table)
        cfg[sec] = check_table(sec, table, schema)
    cfg["physics"], cfg["loss"] = raw["physics"], raw["loss"]
    d = cfg["data"]
    choice("data.name", d["name"], DATASETS.names())
    choice("data.measurements", d["measurements"], MEASUREMENTS)
    for key in ("image_size", "n_train"):
        if d[key] < 1:
            raise ConfigError(f"data.{key} must be >= 1, got {d[key]}")
    if d["n_val"] < 0 or d["seed"] < 0:
        raise ConfigError("data.n_val and data.seed must be >= 0")
    if d["measurements"] == "online" and d["ground_truth"]:
        raise ConfigError("data.ground_truth applies to measurements = \"fixed\" (on-line simulation always "
                          "has the images)")
    train_config(cfg)  # the [train] values: TrainConfig's own checks, with the key named
    try:  # the images and their measurements are held in memory (MRI: two channels; measurements ~ images)
        check_memory(16.0 * (d["n_train"] + d["n_val"]) * d["image_size"] ** 2,
                     f"data.n_train + data.n_val = {d['n_train'] + d['n_val']} images of data.image_size = "
                     f"{d['image_size']}")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return cfg


def load_config(path: str) -> dict:
    """Read and check a TOML training configuration (see `parse_config`)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path!r} does not exist" if not os.path.exists(path)
                          else f"config path {path!r} is not a file")
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text, so not a TOML file (byte {err.start}: "
                          f"{err.object[err.start:err.start + 1]!r})") from None
    except OSError as err:
        raise ConfigError(f"config file {path!r} cannot be read: {err.strerror}") from None
    return parse_config(raw, path)


#: settings that may change between a run and its resume (they do not change the computation)
RESUMABLE_CHANGES = {"": ("out", "device"), "train": ("progress", "plots", "log_every", "checkpoint_every",
                                                        "identifiability")}


def fingerprint(cfg: dict) -> dict:
    """The settings a checkpoint must have been written with to be resumed (``cfg`` without
    `RESUMABLE_CHANGES`, and without the default ``precision = "fp32"``)."""
    out = {k: v for k, v in cfg.items() if k not in RESUMABLE_CHANGES[""]}
    out["train"] = {k: v for k, v in cfg["train"].items() if k not in RESUMABLE_CHANGES["train"]
                    and not (k == "precision" and v == "fp32")}  # as before it existed: older runs still resume
    return out


@dataclass
class Run:
    """Everything a configured run needs: the objects and the `Trainer` arguments."""

    model: nn.Module
    loss: Any
    physics: Any
    data: Any
    validation: Any
    trainer_kwargs: Dict[str, Any] = field(default_factory=dict)


def build_run(cfg: dict) -> Run:
    """Construct the physics, data, model, loss and optimizer settings of a checked config (`ConfigError`
    for anything that cannot be built)."""
    from ..data.measurements import simulate_measurements
    from ..utils.seeding import derived_seed
    seed, d, t = cfg["seed"], cfg["data"], cfg["train"]
    physics = _physics(cfg["physics"], d["image_size"])
    loss = _loss(cfg["loss"])
    if loss.needs_ground_truth and d["measurements"] == "fixed" and not d["ground_truth"]:
        raise ConfigError(f"the loss {type(loss).__name__} needs ground-truth images, but the dataset holds "
                          "measurements only (data.measurements = \"fixed\", data.ground_truth = false); set "
                          "data.ground_truth = true or use an unsupervised loss (mc, ei, sure_*, rei)")
    model = _model(cfg["model"], physics, seed)
    ch = getattr(physics, "channels", None) or 1
    try:
        images = _images(d, d["n_train"] + d["n_val"], ch)
    except (TypeError, ValueError, ImportError, RuntimeError) as err:  # RuntimeError: phantoms too small to draw
        raise ConfigError(f"[data]: {err}") from None
    train_x, val_x = images[:d["n_train"]], images[d["n_train"]:]
    noise_seed = derived_seed(seed, 10) % 2 ** 62 if d["noise_seed"] is None else d["noise_seed"]
    try:
        data: Any = train_x  # images: measured on line at every step
        if d["measurements"] == "fixed":
            data = simulate_measurements(physics, train_x, seed=noise_seed, ground_truth=d["ground_truth"])
        validation = simulate_measurements(physics, val_x, seed=derived_seed(noise_seed, 1) % 2 ** 62,
                                           ground_truth=True) if d["n_val"] else None
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[physics]/[data]: cannot measure the images: {err}") from None

    kwargs = dict(config=train_config(cfg), validation=validation, progress=t["progress"],
                  fingerprint=fingerprint(cfg))
    return Run(model, loss, physics, data, validation, kwargs)
