"""The comparison's data: phantoms (aligned or uniform orientation), exactly rotated test sets, noisy test
measurements and training pools, all derived deterministically from the configuration's seed."""
from __future__ import annotations

import math
from typing import Dict

import numpy as np
import torch

from ...data.phantoms import EllipsePhantoms, align_ellipses, rotate_ellipses
from ...utils.seeding import derived_seed, generator
from .config import OPERATORS, TEST_SETS, ComparisonConfig
from .models import build_prox_specs
from .operators import build_operator, to_operator_images

__all__ = ["phantom_params", "rotate_params", "render_phantoms", "ComparisonData"]

#: rotate_params is `equinet.data.phantoms.rotate_ellipses`
rotate_params = rotate_ellipses


def phantom_params(n: int, image_size: int, seed: int, orientation: str = "uniform",
                   jitter_deg: float = 10.0) -> torch.Tensor:
    """Ellipse parameters ``[n, K, 6]`` of `equinet.data.EllipsePhantoms` ``(n, image_size, seed)``;
    ``orientation='aligned'`` replaces the angles by a jitter of ``jitter_deg`` degrees around the grid axes
    (`equinet.data.phantoms.align_ellipses`)."""
    if orientation not in ("aligned", "uniform"):
        raise ValueError(f"orientation must be 'aligned' or 'uniform', got {orientation!r}")
    params = EllipsePhantoms(n, image_size, seed).all_params()
    return align_ellipses(params, seed, jitter_deg) if orientation == "aligned" else params


def render_phantoms(params: torch.Tensor, image_size: int, support: float = 0.9) -> torch.Tensor:
    """Images ``[n, 1, H, W]`` from ellipse parameters, clipped and masked by the (rotation-invariant) support disk
    exactly as `equinet.data.EllipsePhantoms` renders its items."""
    return EllipsePhantoms(1, image_size, support=support).render_params(params)


class ComparisonData:
    """Everything the run derives from ``cfg`` alone, deterministically: test phantoms and their exact rotations,
    the noise reference, each operator with its fixed test measurements, and the training pools. The main process
    and every worker build the same objects from the same seeds."""

    def __init__(self, cfg: ComparisonConfig, dev: torch.device):
        self.cfg, self.dev = cfg, dev
        n = cfg.image_size
        test_params = self._params(cfg.n_test, 10)
        g = np.random.default_rng([cfg.seed, 11])
        test_angles = torch.from_numpy(g.uniform(0.0, 2 * math.pi, cfg.n_test))
        self.tests = {"held-out": render_phantoms(test_params, n),
                      "rotated": render_phantoms(rotate_ellipses(test_params, test_angles), n)}
        self.noise_ref = render_phantoms(self._params(64, 12), n)
        self._ops: Dict[str, tuple] = {}
        self._pools: Dict[tuple, torch.Tensor] = {}
        self._specs: Dict[str, dict] = {}

    def _params(self, n: int, *keys: int) -> torch.Tensor:
        cfg = self.cfg
        return phantom_params(n, cfg.image_size, derived_seed(cfg.seed, *keys) % 2**31, cfg.orientation,
                              cfg.orientation_jitter)

    def operator(self, op_name: str):
        """(physics on the device, image channels, sigma, description, test measurements per test set)."""
        if op_name not in self._ops:
            physics, ch, sigma, desc = build_operator(op_name, self.cfg, self.noise_ref)
            physics.to(self.dev)
            ys = {}  # one fixed noise draw per test set, the same for every model (paired comparison)
            for k, t in enumerate(TEST_SETS):
                gen = generator(self.cfg.seed, 20, OPERATORS.index(op_name), k)
                ys[t] = physics.measure(to_operator_images(self.tests[t], ch).to(self.dev), gen)
            self._ops[op_name] = (physics, ch, sigma, desc, ys)
        return self._ops[op_name]

    def specs(self, op_name: str) -> dict:
        """The proximal-network spec of every trained model key for this operator's images."""
        if op_name not in self._specs:
            self._specs[op_name] = build_prox_specs(self.cfg, self.operator(op_name)[1])
        return self._specs[op_name]

    def pool(self, op_name: str, repeat: int) -> torch.Tensor:
        """The training pool of a repeat (training sets are its first n images)."""
        ch = self.operator(op_name)[1]
        if (ch, repeat) not in self._pools:
            pool = render_phantoms(self._params(max(self.cfg.train_sizes), 30, repeat), self.cfg.image_size)
            self._pools[(ch, repeat)] = to_operator_images(pool, ch)
        return self._pools[(ch, repeat)]
