"""Validation of a reconstruction model: mean PSNR and SSIM on held-out measurements."""
from __future__ import annotations

import contextlib
from typing import Callable, ContextManager, Dict, Optional

import torch
from torch import nn

from ..metrics import psnr, ssim
from ..physics.family import physics_for

__all__ = ["evaluate"]


def _operators_of(dataset, idx):
    """The operator indices of the items ``idx`` (None for a single operator or a dataset without them)."""
    ops = getattr(dataset, "operators", None)
    return None if ops is None else ops[idx]


@torch.no_grad()
def evaluate(model: nn.Module, physics, dataset, batch_size: int = 32, data_range: Optional[float] = None,
             device=None, autocast: Callable[[], ContextManager] = contextlib.nullcontext) -> Dict[str, float]:
    """Mean PSNR and SSIM of ``model(y, physics)`` against ``x`` over a `equinet.data.PairedMeasurementDataset`
    (eval mode, no gradients, batches of ``batch_size`` on ``device``; the model's mode is restored). The model
    runs inside ``autocast()`` (e.g. `equinet.training.precision.Precision.autocast`), the metrics in float32 or
    better outside it. With an `equinet.physics.OperatorFamily` each item is reconstructed with its own member (the
    dataset's indices).

    >>> import torch
    >>> from equinet.data import simulate_measurements
    >>> from equinet.physics import Denoising
    >>> A = Denoising()
    >>> val = simulate_measurements(A, torch.rand(3, 1, 16, 16), seed=0, ground_truth=True)
    >>> m = evaluate(lambda y, physics: y, A, val)           # noiseless: y = x
    >>> m["psnr"], round(m["ssim"], 6)
    (inf, 1.0)
    """
    was = getattr(model, "training", False)
    if isinstance(model, nn.Module):
        model.eval()
    p, s = [], []
    try:
        for i in range(0, len(dataset), batch_size):
            idx = torch.arange(i, min(i + batch_size, len(dataset)))
            x, y = dataset.batch(idx)
            with autocast():
                u = model(y if device is None else y.to(device), physics_for(physics, _operators_of(dataset, idx)))
            u = u.float() if u.dtype in (torch.float16, torch.bfloat16) else u
            x = x if device is None else x.to(device)
            p.append(psnr(u, x, data_range).double().cpu())
            s.append(ssim(u, x, data_range).double().cpu())
    finally:
        if isinstance(model, nn.Module):
            model.train(was)
    return {"psnr": float(torch.cat(p).mean()), "ssim": float(torch.cat(s).mean())}
