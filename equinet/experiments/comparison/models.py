"""The comparison's models: the proximal-network specs of every model key and the unrolled PGD built from them."""
from __future__ import annotations

from typing import Dict

from ...nets import NetSpec, build
from ...reconstructors import UnrolledPGD
from .config import ComparisonConfig

__all__ = ["build_prox_specs", "build_model", "ZeroedProx"]


def build_prox_specs(cfg: ComparisonConfig, channels: int) -> Dict[str, NetSpec]:
    """NetSpec of every trained model key in ``cfg.models`` (the reference is C8 with ``cfg.width`` fields)."""
    ref = cfg.reference_spec(channels)
    specs = {}
    for key in cfg.models:
        if key == "c8":
            specs[key] = ref
        elif key == "cnn":
            specs[key] = ref.translation_twin(match="params", net=cfg.net)
        elif key == "cnn-wide":
            specs[key] = ref.translation_twin(match="width", net=cfg.net)
        elif key == "c4":
            specs[key] = ref.matched_width("C4", net=cfg.net)
        elif key == "c4-wide":
            specs[key] = ref.with_group("C4", cfg.width * ref.hidden_rep.size // 4)
    return specs


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
        if self.backend != "equinet" and self.spec.group.order != 1:
            from ...interop import build_escnn
            return build_escnn(self.net, self.spec, library=self.backend).zero_output_layer()
        return build(self.net, self.spec).zero_output_layer()


def build_model(cfg: ComparisonConfig, spec: NetSpec, physics, channels: int) -> UnrolledPGD:
    """Untied unrolled PGD with ``cfg.n_iter`` proximal networks of ``spec`` (starting as the identity); the step
    sizes start at 1/‖A‖² of ``physics``."""
    return UnrolledPGD(physics, ZeroedProx(cfg.net, spec, cfg.backend), n_iter=cfg.n_iter, mode="pgd", tied=False,
                       image_channels=channels, init=cfg.init)
