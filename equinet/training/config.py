"""Training runs described by a TOML file (``python -m equinet train CONFIG.toml``); see ``docs/training.md``.

`load_config` reads and checks the whole file (unknown sections or keys, wrong types, unknown names of
operators, noise models, networks, losses and transforms, a loss that needs ground truth on measurement-only data)
and `build_run` constructs every object; any problem is one `ConfigError` that names the offending
key, raised before training starts.
"""
from __future__ import annotations

import inspect
import numbers
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict

import torch
from torch import nn

__all__ = ["ConfigError", "load_config", "parse_config", "build_run", "Run", "PHYSICS", "NOISES", "LOSSES",
           "TRANSFORMS", "MODELS", "BACKBONES", "DATASETS", "OPTIMIZERS"]


class ConfigError(ValueError):
    """A training configuration that cannot run; the message names the key and what was expected."""


# section -> key -> (accepted python types, default); None default = optional, "REQUIRED" = must be given
_REQ = "REQUIRED"
_NUM = (int, float)
TOP = {"seed": (int, 0), "device": (str, "cpu"), "out": (str, None)}
SECTIONS = {
    "data": {"name": (str, "ellipses"), "image_size": (int, _REQ), "n_train": (int, _REQ), "n_val": (int, 0),
             "seed": (int, 0), "measurements": (str, "fixed"), "ground_truth": (bool, False),
             "noise_seed": (int, None), "grayscale": (bool, True)},
    "model": {"name": (str, "reconstructor"), "backbone": (str, "unet"), "residual": (bool, True),
              "init": (str, "pinv"), "scales": (int, 2), "n_iter": (int, 4), "tied": (bool, False),
              "learn_step": (bool, True), "net": (dict, None)},
    "train": {"steps": (int, None), "epochs": (int, None), "batch_size": (int, 8), "micro_batches": (int, 1),
              "optimizer": (str, "adam"), "lr": (_NUM, 1e-3), "weight_decay": (_NUM, 0.0), "momentum": (_NUM, 0.9),
              "betas": (list, None), "schedule": (str, "constant"), "min_lr": (_NUM, 0.0),
              "grad_clip": (_NUM, None), "adversary_lr": (_NUM, 1e-4), "checkpoint_every": (int, 100),
              "log_every": (int, 10), "val_every": (int, None), "val_batch_size": (int, 32),
              "data_range": (_NUM, None), "progress": (bool, True), "plots": (bool, True),
              "identifiability": (bool, True)},
}
NET_KEYS = {"group": (str, "C1"), "width": (int, 8), "depth": (int, 5), "kernel_size": (int, 3), "bias": (bool, True),
            "batch_norm": (bool, False), "max_frequency": (int, 3), "activation": ((str, dict), "relu")}

PHYSICS = {"radon": "Radon", "inpainting": "Inpainting", "mri": "MRI", "blur": "Blur", "denoising": "Denoising",
           "compressed_sensing": "CompressedSensing", "single_pixel": "SinglePixel"}
NOISES = {"none": "NoNoise", "gaussian": "GaussianNoise", "poisson": "PoissonNoise",
          "poisson_gaussian": "PoissonGaussianNoise"}
LOSSES = {"supervised": "SupervisedLoss", "mc": "MCLoss", "ei": "EILoss", "ei_sup": "EISupLoss",
          "adversarial_ei": "AdversarialEILoss", "sure_gaussian": "SureGaussianLoss",
          "sure_poisson": "SurePoissonLoss", "sure_pg": "SurePGLoss", "rei": "REILoss", "da": "DALoss"}
TRANSFORMS = {"rotate": "Rotate", "group": "GroupTransform", "rot90": "Rot90", "flip": "Flip", "shift": "Shift",
              "compose": "Compose"}
MODELS = ("reconstructor", "unrolled_pgd")
BACKBONES = ("unet", "dncnn")
DATASETS = ("ellipses", "natural")
OPTIMIZERS = ("adam", "adamw", "sgd")
MEASUREMENTS = ("fixed", "online")


def _type_name(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    names = {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "an array",
             dict: "a table"}
    return " or ".join(dict.fromkeys("a number" if t in (int, float) and len(types) == 2 else names[t] for t in types))


def _check_value(path: str, value, types) -> None:
    types = types if isinstance(types, tuple) else (types,)
    ok = any(isinstance(value, t) and not (isinstance(value, bool) and t in (int, float)) for t in types)
    if not ok:
        raise ConfigError(f"{path} must be {_type_name(types)}, got {value!r} ({type(value).__name__})")


def _check_table(path: str, table, schema: Dict[str, tuple]) -> Dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"[{path}] must be a table, got {type(table).__name__}")
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise ConfigError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in "
                          f"[{path}]; expected keys: {', '.join(sorted(schema))}")
    out = {}
    for key, (types, default) in schema.items():
        where = f"{path}.{key}" if path else key
        if key in table:
            _check_value(where, table[key], types)
            out[key] = table[key]
        elif default == _REQ:
            raise ConfigError(f"missing key {where} ({_type_name(types)})")
        else:
            out[key] = default
    return out


def _choice(path: str, value, choices) -> str:
    if value not in choices:
        raise ConfigError(f"{path} = {value!r} is unknown; expected one of {', '.join(map(repr, choices))}")
    return value


def _named(path: str, table, registry: Dict[str, str]) -> tuple:
    if not isinstance(table, dict):
        raise ConfigError(f"[{path}] must be a table with a name, got {table!r}")
    if "name" not in table:
        raise ConfigError(f"[{path}] needs name = one of {', '.join(map(repr, registry))}")
    _check_value(f"{path}.name", table["name"], str)
    _choice(f"{path}.name", table["name"], tuple(registry))
    return table["name"], {k: v for k, v in table.items() if k != "name"}


def _class(module: str, class_name: str, path: str):
    import importlib
    cls = getattr(importlib.import_module(module), class_name, None)
    if cls is None:
        raise ConfigError(f"{path}: {module}.{class_name} is not available in this version of equinet")
    return cls


def _construct(path: str, cls, kwargs: Dict[str, Any], fixed: Dict[str, Any] = None,
               convert: Dict[str, Callable] = None):
    """``cls(**fixed, **kwargs)`` with the keys checked against the signature and the default values' types."""
    fixed, convert = dict(fixed or {}), dict(convert or {})
    sig = inspect.signature(cls)
    params = {n: p for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    var_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    allowed = sorted(set(params) - set(fixed) - {"self"})
    for key, value in kwargs.items():
        where = f"{path}.{key}"
        if key in fixed or (key not in params and not var_kw):
            raise ConfigError(f"unknown key {key!r} in [{path}]; {cls.__name__} accepts: {', '.join(allowed)}")
        if key in convert:
            kwargs[key] = convert[key](where, value)
            continue
        default = params[key].default if key in params else inspect.Parameter.empty
        if isinstance(default, bool):
            _check_value(where, value, bool)
        elif isinstance(default, int):
            _check_value(where, value, int)
        elif isinstance(default, float):
            _check_value(where, value, _NUM)
        elif isinstance(default, str):
            _check_value(where, value, str)
    missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in kwargs
               and n not in fixed]
    if missing:
        raise ConfigError(f"[{path}] ({cls.__name__}) needs {', '.join(missing)}")
    try:
        return cls(**fixed, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[{path}] ({cls.__name__}): {err}") from None


# ------------------------------------------------------------------------------------------- builders
def _noise(path: str, table):
    name, kw = _named(path, table, NOISES)
    return _construct(path, _class("equinet.physics", NOISES[name], path), kw)


def _physics(table: dict, image_size: int):
    name, kw = _named("physics", table, PHYSICS)
    cls = _class("equinet.physics", PHYSICS[name], "physics")
    fixed = {}
    if "image_size" in inspect.signature(cls).parameters:
        if "image_size" in kw and kw["image_size"] != image_size:
            raise ConfigError(f"physics.image_size = {kw['image_size']!r} differs from data.image_size = {image_size}")
        kw.pop("image_size", None)
        fixed["image_size"] = image_size
    if name == "blur":
        from ..physics import gaussian_kernel
        sigma = kw.pop("kernel_sigma", None)
        if sigma is None or "kernel" in kw:
            raise ConfigError("[physics] blur takes kernel_sigma = <width of its Gaussian kernel in pixels>")
        _check_value("physics.kernel_sigma", sigma, _NUM)
        fixed["kernel"] = gaussian_kernel(float(sigma))
    if "mask" in kw:
        raise ConfigError("physics.mask cannot be given in a config; use drop/seed (inpainting) or "
                          "acceleration/seed (mri)")
    return _construct("physics", cls, kw, fixed, {"noise": _noise})


def _transform(path: str, table):
    name, kw = _named(path, table, TRANSFORMS)
    cls = _class("equinet.transforms", TRANSFORMS[name], path)

    def group(where, v):
        _check_value(where, v, str)
        from ..groups import get
        try:
            return get(v)
        except ValueError as err:
            raise ConfigError(f"{where}: {err}") from None

    def parts(where, v):
        if not isinstance(v, list) or not v:
            raise ConfigError(f"{where} must be a non-empty array of transform tables")
        return [_transform(f"{where}[{i}]", t) for i, t in enumerate(v)]

    return _construct(path, cls, kw, convert={"group": group, "transforms": parts})


def _loss_term(path: str, table):
    name, kw = _named(path, table, LOSSES)
    cls = _class("equinet.losses", LOSSES[name], path)
    if "discriminator" in kw:
        raise ConfigError(f"{path}.discriminator cannot be set in a config (the loss builds its own)")

    def sure(where, v):
        return _loss_term(where, v)

    return _construct(path, cls, kw, convert={"transform": _transform, "sure": sure})


def _loss(value):
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError("[[loss]] must be one or more tables with a name, e.g. [[loss]] name = \"mc\"")
    terms = [_loss_term(f"loss[{i}]", t) for i, t in enumerate(value)]
    if len(terms) == 1:
        return terms[0]
    from ..losses import LossSum
    try:
        return LossSum(terms)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[[loss]]: {err}") from None


def _model(m: dict, physics, seed: int) -> nn.Module:
    from ..nets import NetSpec, build
    from ..reconstructors import PinvReconstructor, UnrolledPGD
    from ..utils.seeding import derived_seed
    _choice("model.name", m["name"], MODELS)
    _choice("model.backbone", m["backbone"], BACKBONES)
    _choice("model.init", m["init"], ("pinv", "adjoint") if m["name"] == "reconstructor" else ("pinv", "adjoint",
                                                                                                  "zero"))
    net = _check_table("model.net", m["net"] or {}, NET_KEYS)
    ch = getattr(physics, "channels", None) or 1
    try:
        spec = NetSpec(in_channels=ch, out_channels=ch, **net)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[model.net]: {err}") from None
    extra = {"scales": m["scales"]} if m["backbone"] == "unet" else {}
    torch.manual_seed(derived_seed(seed, 20))
    try:
        if m["name"] == "reconstructor":
            return PinvReconstructor(build(m["backbone"], spec, residual=False, **extra), residual=m["residual"],
                                     init=m["init"])
        return UnrolledPGD(physics, build(m["backbone"], spec, residual=True, **extra), n_iter=m["n_iter"],
                           tied=m["tied"], learn_step=m["learn_step"], image_channels=ch, init=m["init"])
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[model]: {err}") from None


def _images(d: dict, n: int, channels: int) -> torch.Tensor:
    if d["name"] == "ellipses":
        from ..data import random_ellipses
        x = random_ellipses(n, d["image_size"], seed=d["seed"])
    else:
        from ..data import NaturalImageCrops
        ds = NaturalImageCrops(n, d["image_size"], seed=d["seed"], grayscale=d["grayscale"])
        x = torch.stack([ds[i] for i in range(n)]).float()
    if channels == 2 and x.shape[1] == 1:  # complex-valued operators (MRI): real image, zero imaginary part
        x = torch.cat([x, torch.zeros_like(x)], dim=1)
    return x


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
    cfg = _check_table("", {k: raw[k] for k in TOP if k in raw}, TOP)
    if cfg["seed"] < 0:
        raise ConfigError(f"seed must be >= 0, got {cfg['seed']}")
    for sec, schema in SECTIONS.items():
        cfg[sec] = _check_table(sec, raw.get(sec, {}), schema)
    cfg["physics"], cfg["loss"] = raw["physics"], raw["loss"]
    d, t = cfg["data"], cfg["train"]
    _choice("data.name", d["name"], DATASETS)
    _choice("data.measurements", d["measurements"], MEASUREMENTS)
    for key in ("image_size", "n_train"):
        if d[key] < 1:
            raise ConfigError(f"data.{key} must be >= 1, got {d[key]}")
    if d["n_val"] < 0 or d["seed"] < 0:
        raise ConfigError("data.n_val and data.seed must be >= 0")
    if d["measurements"] == "online" and d["ground_truth"]:
        raise ConfigError("data.ground_truth applies to measurements = \"fixed\" (on-line simulation always "
                          "has the images)")
    if (t["steps"] is None) == (t["epochs"] is None):
        raise ConfigError("[train] needs exactly one of steps or epochs")
    for key in ("steps", "epochs", "batch_size", "micro_batches", "checkpoint_every", "log_every", "val_every",
                "val_batch_size"):
        if t[key] is not None and t[key] < 1:
            raise ConfigError(f"train.{key} must be >= 1, got {t[key]}")
    _choice("train.optimizer", t["optimizer"], OPTIMIZERS)
    _choice("train.schedule", t["schedule"], ("constant", "cosine"))
    for key in ("lr", "adversary_lr"):
        if not t[key] > 0:
            raise ConfigError(f"train.{key} must be > 0, got {t[key]}")
    for key in ("weight_decay", "min_lr", "momentum"):
        if t[key] < 0:
            raise ConfigError(f"train.{key} must be >= 0, got {t[key]}")
    if t["grad_clip"] is not None and not t["grad_clip"] > 0:
        raise ConfigError(f"train.grad_clip must be > 0, got {t['grad_clip']}")
    if t["betas"] is not None and (len(t["betas"]) != 2 or not all(
            isinstance(b, numbers.Real) and not isinstance(b, bool) and 0 <= b < 1 for b in t["betas"])):
        raise ConfigError(f"train.betas must be two numbers in [0, 1), got {t['betas']!r}")
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
    return parse_config(raw, path)


#: settings that may change between a run and its resume (they do not change the computation)
RESUMABLE_CHANGES = {"": ("out", "device"), "train": ("progress", "plots", "log_every", "checkpoint_every",
                                                        "identifiability")}


def fingerprint(cfg: dict) -> dict:
    """The settings a checkpoint must have been written with to be resumed (``cfg`` without
    `RESUMABLE_CHANGES`)."""
    out = {k: v for k, v in cfg.items() if k not in RESUMABLE_CHANGES[""]}
    out["train"] = {k: v for k, v in cfg["train"].items() if k not in RESUMABLE_CHANGES["train"]}
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
    from .schedules import make_schedule
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
    except (TypeError, ValueError, ImportError) as err:
        raise ConfigError(f"[data]: {err}") from None
    train_x, val_x = images[:d["n_train"]], images[d["n_train"]:]
    noise_seed = derived_seed(seed, 10) % 2 ** 62 if d["noise_seed"] is None else d["noise_seed"]
    try:
        if d["measurements"] == "fixed":
            data = simulate_measurements(physics, train_x, seed=noise_seed, ground_truth=d["ground_truth"])
        else:
            data = train_x
        validation = simulate_measurements(physics, val_x, seed=derived_seed(noise_seed, 1) % 2 ** 62,
                                           ground_truth=True) if d["n_val"] else None
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[physics]/[data]: cannot measure the images: {err}") from None

    lr, wd = float(t["lr"]), float(t["weight_decay"])
    betas = tuple(float(b) for b in t["betas"]) if t["betas"] is not None else (0.9, 0.999)
    name = t["optimizer"]

    def optimizer(params):
        if name == "sgd":
            return torch.optim.SGD(params, lr=lr, momentum=float(t["momentum"]), weight_decay=wd)
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(params, lr=lr, betas=betas, weight_decay=wd)

    adv_lr = float(t["adversary_lr"])
    kwargs = dict(steps=t["steps"], epochs=t["epochs"], batch_size=t["batch_size"], micro_batches=t["micro_batches"],
                  optimizer=optimizer, scheduler=lambda opt, total: make_schedule(t["schedule"], opt, total,
                                                                                   float(t["min_lr"])),
                  adversary_optimizer=lambda p: torch.optim.Adam(p, lr=adv_lr, betas=(0.5, 0.999)),
                  seed=seed, device=cfg["device"], validation=validation, val_every=t["val_every"],
                  val_batch_size=t["val_batch_size"], data_range=t["data_range"], grad_clip=t["grad_clip"],
                  checkpoint_every=t["checkpoint_every"], log_every=t["log_every"], progress=t["progress"],
                  plots=t["plots"], identifiability=t["identifiability"], fingerprint=fingerprint(cfg))
    return Run(model, loss, physics, data, validation, kwargs)
