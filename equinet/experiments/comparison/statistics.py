"""The comparison's statistics: per-image PSNR/SSIM and the table rows (means, spreads, paired differences)."""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import numpy as np
import torch

from ...metrics import psnr, ssim
from .config import label

__all__ = ["image_metrics", "paired_difference", "summarise"]


def image_metrics(u: torch.Tensor, x: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
    """Per-image PSNR and SSIM (data range 1) of reconstructions ``u`` against ``x``, in float64."""
    u, x = u.detach().cpu().double(), x.detach().cpu().double()
    return psnr(u, x, data_range=1.0).numpy(), ssim(u, x, data_range=1.0).numpy()


def paired_difference(a: np.ndarray, b: np.ndarray) -> Tuple[float, float]:
    """Mean and standard error of the paired differences ``a - b`` (same images, same noise)."""
    d = a - b
    return float(np.mean(d)), float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else 0.0


def summarise(per_image: Dict[tuple, Dict[str, List[np.ndarray]]]) -> List[dict]:
    """Table rows from per-image metrics ``{(operator, model, train_size, test_set): {'psnr': [per repeat], ...}}``:
    mean and std over all (repeat, image) pairs and the std of the per-repeat means; for trained models also the
    paired PSNR difference to ``cnn`` (same training size and test set) and, on ``rotated`` rows, the paired
    difference rotated - held-out of the same phantoms (mean and standard error)."""
    cat = {k: np.concatenate(d["psnr"]) for k, d in per_image.items()}
    rows = []
    for (op, model, size, test), d in per_image.items():
        p, s = cat[(op, model, size, test)], np.concatenate(d["ssim"])
        rep_means = [float(np.mean(v)) for v in d["psnr"]]
        row = dict(operator=op, model=model, label=label(model, op), train_size=size, test_set=test,
                   psnr_mean=float(np.mean(p)), psnr_std=float(np.std(p)),
                   ssim_mean=float(np.mean(s)), ssim_std=float(np.std(s)), n_images=int(p.size),
                   repeats=len(d["psnr"]), psnr_repeat_std=float(np.std(rep_means)) if len(rep_means) > 1 else 0.0,
                   dpsnr_vs_cnn_mean=None, dpsnr_vs_cnn_se=None, rotated_minus_heldout_mean=None,
                   rotated_minus_heldout_se=None)
        ref = cat.get((op, "cnn", size, test))
        if model != "pinv" and ref is not None and ref.size == p.size:
            row["dpsnr_vs_cnn_mean"], row["dpsnr_vs_cnn_se"] = paired_difference(p, ref)
        held = cat.get((op, model, size, "held-out"))
        if test == "rotated" and held is not None and held.size == p.size:
            row["rotated_minus_heldout_mean"], row["rotated_minus_heldout_se"] = paired_difference(p, held)
        rows.append(row)
    return rows
