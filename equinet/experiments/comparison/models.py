"""The comparison's models: the proximal-network specs of every model key and the unrolled PGD built from them."""
from __future__ import annotations

import warnings
from typing import Dict

from ...nets import NetSpec, build
from ...reconstructors import UnrolledPGD
from .config import ComparisonConfig

__all__ = ["build_prox_specs", "build_model", "ZeroedProx"]


def build_prox_specs(cfg: ComparisonConfig, channels: int) -> Dict[str, NetSpec]:
    """NetSpec of every trained model key in ``cfg.models`` (the reference is C8 with ``cfg.width`` fields).

    Parameter-matched twins are the closest integer width; small networks cannot always match within 10 %, and
    the measured counts are reported once in the table's header (`report.matching_note`), not warned about here.
    """
    ref = cfg.reference_spec(channels)
    specs = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the closest .* parameters", category=UserWarning)
        for key in cfg.models:
            if key != "pinv":  # the baseline has no network
                specs[key] = _spec(cfg, ref, key)
    return specs


def _spec(cfg: ComparisonConfig, ref: NetSpec, key: str) -> NetSpec:
    if key == "c8":
        return ref
    if key == "cnn":
        return ref.translation_twin(match="params", net=cfg.net)
    if key == "cnn-wide":
        return ref.translation_twin(match="width", net=cfg.net)
    if key == "c4":
        return ref.matched_width("C4", net=cfg.net)
    if key == "c4-wide":
        return ref.with_group("C4", cfg.width * ref.hidden_rep.size // 4)
    raise ValueError(f"unknown model key {key!r}")


class ZeroedProx:
    """A picklable factory ``k -> proximal network`` whose last convolution is zero: each network starts as the
    identity, so the untrained unrolled network is plain PGD from its initialisation (the same start for all).

    ``backend='escnn'`` or ``'e2cnn'`` builds the equivariant networks with that library
    (`equinet.interop.build_escnn`, same architecture and parameter count); translation (C1) networks stay
    on equinet, whose trivial-group basis is not band-limited like the libraries' (a fair CNN baseline).
    """

    def __init__(self, net: str, spec: NetSpec, backend: str = "equinet"):
        self.net, self.spec, self.backend = net, spec, backend

    def __call__(self, k: int):
        if self.backend != "equinet" and self.spec.G.order != 1:
            from ...interop import build_escnn
            return build_escnn(self.net, self.spec, library=self.backend).zero_output_layer()
        return build(self.net, self.spec).zero_output_layer()


def build_model(cfg: ComparisonConfig, spec: NetSpec, physics, channels: int) -> UnrolledPGD:
    """Untied unrolled PGD with ``cfg.n_iter`` proximal networks of ``spec`` (starting as the identity); the step
    sizes start at 1/‖A‖² of ``physics``."""
    return UnrolledPGD(physics, ZeroedProx(cfg.net, spec, cfg.backend), n_iter=cfg.n_iter, mode="pgd", tied=False,
                       image_channels=channels, init=cfg.init)
