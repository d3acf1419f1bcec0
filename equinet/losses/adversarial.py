"""Adversarial equivariant imaging (EI paper eq. 7): MC + EI + a least-squares GAN term on x1 vs T_g x1."""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn

from ._common import check_image_like, check_transform, check_weight, mse
from .base import LOSSES, Loss, LossInputs
from .ei import ei_term

__all__ = ["AdversarialEILoss", "Discriminator"]


class Discriminator(nn.Module):
    """A small convolutional critic ``[B, C, H, W] -> [B]``: ``depth`` stride-2 3x3 convolutions with LeakyReLU,
    global average pooling and a linear read-out (the LSGAN score)."""

    def __init__(self, in_channels: int = 1, width: int = 16, depth: int = 3):
        super().__init__()
        for v, n in ((in_channels, "in_channels"), (width, "width"), (depth, "depth")):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{n} must be a positive int, got {v!r}")
        layers, c = [], in_channels
        for i in range(depth):
            layers += [nn.Conv2d(c, width * 2 ** i, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c = width * 2 ** i
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(-2, -1))).squeeze(-1)


@LOSSES.register("adversarial_ei")
class AdversarialEILoss(Loss):
    """EI_adv (EI paper eq. 7) with a least-squares GAN (Mao et al.): terms
    ``'mc' = weight_mc * mean((A x1 - y)^2)``, ``'ei' = weight * mean((x3 - x2)^2)`` and
    ``'adv' = weight_adv * mean((D(x2) - 1)^2)`` (the reconstruction network tries to make transformed
    reconstructions ``x2 = T_g x1`` look like untransformed ones to ``D``).

    The discriminator ``D`` (``self.discriminator``) has its own optimizer, created by the trainer from
    ``loss.discriminator.parameters()``; `adversary_step` makes one LSGAN step of ``D`` on
    ``x1`` (label 1) vs ``T_g x1`` (label 0), with fresh ``g`` from ``inputs.generator``, both detached.
    """

    name = "ei_adv"

    def __init__(self, transform, weight: float = 1.0, weight_adv: float = 0.1, weight_mc: float = 1.0,
                 noise: bool = False, discriminator: Optional[nn.Module] = None, in_channels: int = 1):
        super().__init__()
        self.transform = check_transform(transform)
        self.weight = check_weight(weight)
        self.weight_adv = check_weight(weight_adv, "weight_adv")
        self.weight_mc = check_weight(weight_mc, "weight_mc")
        if not isinstance(noise, bool):
            raise TypeError(f"noise must be a bool, got {type(noise).__name__}")
        self.noise = noise
        if discriminator is None:
            discriminator = Discriminator(in_channels)
        if not isinstance(discriminator, nn.Module):
            raise TypeError(f"discriminator must be a torch.nn.Module, got {type(discriminator).__name__}")
        self.discriminator = discriminator  # type: ignore[misc]

    def _scores(self, x: torch.Tensor) -> torch.Tensor:
        s = self.discriminator(x)  # type: ignore[misc]
        if not isinstance(s, torch.Tensor) or s.dim() == 0 or s.shape[0] != x.shape[0]:
            raise ValueError(f"the discriminator must return one score per image (shape [B] or [B, ...]), got "
                             f"{tuple(getattr(s, 'shape', ()))} for a batch of {x.shape[0]}")
        return s

    def terms(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        x2, x3 = ei_term(inputs, self.transform, self.noise)
        s = self._scores(x2)
        return {"mc": self.weight_mc * mse(inputs.physics(inputs.x1), inputs.y),
                "ei": self.weight * mse(x3, x2),
                "adv": self.weight_adv * (s - 1).pow(2).mean()}

    def adversary_step(self, inputs: LossInputs, optimizer: torch.optim.Optimizer) -> Dict[str, float]:
        """One LSGAN update of the discriminator: ``0.5 * [mean((D(x1) - 1)^2) + mean(D(T_g x1)^2)]``."""
        if not isinstance(inputs, LossInputs):
            raise TypeError(f"adversary_step expects an equinet.losses.LossInputs, got {type(inputs).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"adversary_step expects a torch.optim.Optimizer, got {type(optimizer).__name__}")
        check_image_like(inputs.x1, "AdversarialEILoss")
        x1 = inputs.x1.detach()
        with torch.no_grad():
            x2 = self.transform.apply(x1, self.transform.sample(x1.shape[0], inputs.generator))
        optimizer.zero_grad(set_to_none=True)
        real, fake = self._scores(x1), self._scores(x2)
        loss = 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())
        loss.backward()
        optimizer.step()
        return {"adv_d": float(loss.detach()), "adv_d_real": float(real.detach().mean()),
                "adv_d_fake": float(fake.detach().mean())}

    def extra_repr(self):
        return (f"transform={self.transform!r}, weight={self.weight}, weight_adv={self.weight_adv}, "
                f"weight_mc={self.weight_mc}, noise={self.noise}")
