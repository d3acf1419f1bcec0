"""The comparison's settings: `ComparisonConfig`, the model and operator keys, and their labels."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ...nets import NETWORKS, Activation, AliasFree, NetSpec
from ...reconstructors.unrolled_pgd import MAX_ITERATIONS
from ...utils.checks import check_at_most, check_memory, check_number, check_positive_int
from ...utils.seeding import check_seed

__all__ = ["ComparisonConfig", "MODELS", "OPERATORS", "TEST_SETS", "LABELS", "label"]

#: model keys: the pseudo-inverse baseline, translation twins of the reference (C8) network, and steerable nets
MODELS = ("pinv", "cnn", "cnn-wide", "c4", "c4-wide", "c8")
OPERATORS = ("ct", "mri")
BACKENDS = ("equinet", "escnn", "e2cnn")  # who builds the equivariant proximal networks
TEST_SETS = ("held-out", "rotated")
LABELS = {"pinv": "pseudo-inverse", "cnn": "CNN (params)", "cnn-wide": "CNN (width)", "c4": "C4 (params)",
          "c4-wide": "C4 (width)", "c8": "C8"}


def label(model: str, operator: str) -> str:
    """The display name of a model key (the baseline is named after the operator: FBP or zero-filled)."""
    if model == "pinv":
        return {"ct": "FBP", "mri": "zero-filled"}.get(operator, LABELS[model])
    return LABELS[model]


@dataclass
class ComparisonConfig:
    """Settings of the comparison (the defaults are the full mode; `quick` the ~3-minute CPU mode).

    Data: ``image_size`` x ``image_size`` ellipse phantoms; ``orientation='aligned'`` draws ellipse axes along the
    grid (angle jitter ``orientation_jitter`` degrees) so that the training distribution is invariant only to 90°
    turns and flips and the rotated test set is out of distribution; ``'uniform'`` uses the rotation-invariant
    distribution of `equinet.data.EllipsePhantoms` (the rotated test set is then in distribution).

    Operators: ``'ct'`` = ``Radon(image_size, ct_angles)`` with Gaussian noise of standard deviation
    ``ct_noise`` x the RMS of clean sinograms (FBP with the ``ct_filter`` filter as baseline and initialisation);
    ``'mri'`` = single-coil Cartesian MRI (``mri_acceleration``, ``mri_center_fraction``), images as 2 channels,
    noise ``mri_noise`` x the RMS of the full k-space (= the image RMS); metrics on the magnitude image.

    Runs: ``workers`` processes of ``threads`` threads; ``checkpoints`` saves every training run under
    ``out/checkpoints`` every ``checkpoint_every`` steps (default: a tenth of the steps) and resumes from there.

    Models: see `MODELS`. The reference is a C8 DnCNN with ``width`` regular fields; ``cnn``/``c4`` match
    its parameter count, ``cnn-wide``/``c4-wide`` its number of channels (``8 * width``).
    """

    image_size: int = 64
    operators: Tuple[str, ...] = OPERATORS
    models: Tuple[str, ...] = ("pinv", "cnn", "cnn-wide", "c4", "c8")
    train_sizes: Tuple[int, ...] = (10, 30, 100, 300)
    n_test: int = 100
    repeats: int = 1
    steps: int = 3000
    batch_size: int = 8
    lr: float = 1e-3
    schedule: Optional[str] = "cosine"
    n_iter: int = 6
    depth: int = 5
    kernel_size: int = 5
    width: int = 4
    net: str = "dncnn"
    activation: str = "relu"
    alias_free: str = "none"
    backend: str = "equinet"
    init: str = "pinv"
    ct_angles: int = 50
    ct_noise: float = 0.05
    ct_filter: Optional[str] = "hann"
    mri_acceleration: float = 4.0
    mri_center_fraction: float = 0.08
    mri_noise: float = 0.05
    orientation: str = "aligned"
    orientation_jitter: float = 10.0
    figure_index: int = 0
    seed: int = 0
    device: str = "auto"
    threads: Optional[int] = None
    workers: Optional[int] = None
    checkpoints: bool = False
    checkpoint_every: Optional[int] = None
    mode: str = "full"

    @classmethod
    def quick(cls, **overrides) -> "ComparisonConfig":
        """The quick mode: about 2.5 minutes on 2 CPU cores (32x32 images, 3-layer networks whose C1/C4 twins
        are within 13 % of the C8 network's parameters, 300 steps, 1 thread per process; the command line runs it
        in 2 worker processes). ``quick(image_size=64, depth=4, width=2)`` is the larger ~10-minute run.

        >>> ComparisonConfig.quick().image_size, ComparisonConfig.quick(image_size=64).image_size
        (32, 64)
        """
        base: dict[str, Any] = dict(image_size=32, train_sizes=(10, 30, 100), n_test=32, steps=300, n_iter=4,
                                    depth=3, width=3, batch_size=8, lr=2e-3, threads=1, mode="quick")
        base.update(overrides)
        return cls(**base)

    def __post_init__(self):
        self.operators = tuple(self.operators)
        self.models = tuple(self.models)
        self.train_sizes = tuple(int(s) for s in self.train_sizes)
        bad = [o for o in self.operators if o not in OPERATORS]
        if bad or not self.operators:
            raise ValueError(f"operators must be a non-empty subset of {OPERATORS}, got {self.operators}")
        bad = [m for m in self.models if m not in MODELS]
        if bad or not self.models:
            raise ValueError(f"models must be a non-empty subset of {MODELS}, got {self.models}")
        if len(set(self.models)) != len(self.models) or len(set(self.operators)) != len(self.operators):
            raise ValueError("operators and models must not repeat")
        for name in ("image_size", "n_test", "repeats", "steps", "batch_size", "n_iter", "depth", "kernel_size",
                     "width", "ct_angles"):
            check_positive_int(getattr(self, name), name)
        if self.image_size < 11:
            raise ValueError(f"image_size must be >= 11 (the SSIM window), got {self.image_size}")
        if not self.train_sizes or min(self.train_sizes) < 1 or len(set(self.train_sizes)) != len(self.train_sizes):
            raise ValueError(f"train_sizes must be distinct positive ints, got {self.train_sizes}")
        self.train_sizes = tuple(sorted(self.train_sizes))
        for name in ("lr", "ct_noise", "mri_noise", "orientation_jitter"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.lr <= 0:
            raise ValueError("lr must be > 0")
        if self.orientation not in ("aligned", "uniform"):
            raise ValueError(f"orientation must be 'aligned' or 'uniform', got {self.orientation!r}")
        if self.net not in NETWORKS:
            raise ValueError(f"net must be one of {NETWORKS.names()}, got {self.net!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.backend != "equinet":
            if self.net != "dncnn":
                raise ValueError(f"backend {self.backend!r} builds DnCNN proximal networks only (got net={self.net!r})")
            from ...interop import require
            require(self.backend)  # a missing library fails here, before any training
        self.activation_options()
        if self.init not in ("zero", "pinv", "adjoint"):
            raise ValueError(f"init must be 'zero', 'pinv' or 'adjoint', got {self.init!r}")
        if not 0 <= self.figure_index < self.n_test:
            raise ValueError(f"figure_index must be in [0, n_test), got {self.figure_index}")
        for name in ("threads", "workers", "checkpoint_every"):
            if getattr(self, name) is not None:
                try:
                    check_positive_int(getattr(self, name), name)
                except ValueError as err:
                    raise ValueError(f"{err} (or None)") from None
        check_seed(self.seed)
        check_number(self.mri_acceleration, "mri_acceleration", 1)
        check_at_most(self.repeats, "repeats", 1000)
        check_at_most(self.n_iter, "n_iter", MAX_ITERATIONS)
        if self.threads is not None:
            check_at_most(self.threads, "threads", 1024)
        check_number(self.mri_center_fraction, "mri_center_fraction", 0, 1, strict_minimum=True)
        n = self.image_size
        check_memory(8.0 * n * n, f"one image of image_size = {n}")
        check_memory(16.0 * (max(self.train_sizes) + 4 * self.n_test) * n * n,
                     f"{max(self.train_sizes)} training and {self.n_test} test images of {n}x{n}")
        if "ct" in self.operators:
            check_memory(48.0 * self.ct_angles * n * n, f"CT with ct_angles = {self.ct_angles} views of {n}x{n}")
        self.reference_spec(1)  # the network settings (kernel size, activation, ...) are checked by NetSpec now

    def reference_spec(self, channels: int) -> NetSpec:
        """The reference network: a C8 DnCNN/U-Net spec with ``width`` regular fields on ``channels`` images."""
        return NetSpec("C8", in_channels=channels, out_channels=channels, width=self.width, depth=self.depth,
                       kernel_size=self.kernel_size, activation=self.activation_options())

    def activation_options(self) -> Activation:
        """The typed `Activation` of ``activation`` (a function name) and ``alias_free``."""
        act = Activation.parse(self.activation, "activation")
        if self.alias_free not in tuple(a.value for a in AliasFree):
            raise ValueError(f"alias_free must be one of {tuple(a.value for a in AliasFree)}, got {self.alias_free!r}")
        if self.alias_free != AliasFree.NONE.value:
            if act.alias_free is not AliasFree.NONE:
                raise ValueError(f"give the alias-free variant once: activation={self.activation!r} and "
                                 f"alias_free={self.alias_free!r}")
            act = Activation(act.function, AliasFree(self.alias_free))
        return act

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
