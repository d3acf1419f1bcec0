"""Mixed precision of a training run: ``"fp32"`` (the default), ``"bf16"`` or ``"fp16"``.

bf16 and fp16 run the model's forward pass and the loss (and validation) inside ``torch.autocast(device_type,
dtype)``: convolutions and matrix products compute in the reduced dtype, the operators and the losses in float32
(`equinet.physics.base.in_working_precision`, `equinet.losses.LossInputs.in_float32`), and the weights and the
optimizer's state stay float32 (master weights); the backward pass runs outside autocast, as torch recommends.
float16's narrow range needs loss scaling: a ``torch.amp.GradScaler`` multiplies the loss before the backward
pass, unscales the gradients before clipping and skips the steps whose gradients overflow (lowering its scale).
Its state is saved in the checkpoint, so a resumed fp16 run is the uninterrupted one bit for bit on the CPU.

>>> p = Precision("bf16", "cpu")
>>> with p.autocast():
...     torch.nn.Linear(2, 2)(torch.ones(1, 2)).dtype
torch.bfloat16
>>> Precision("fp16", "cpu").scaler is not None, Precision("fp32", "cpu").state_dict()
(True, {})
>>> Precision("fp8", "cpu")
Traceback (most recent call last):
...
ValueError: precision = 'fp8' is unknown; expected one of 'fp32', 'bf16', 'fp16'
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Dict, Optional

import torch

__all__ = ["PRECISIONS", "Precision", "check_precision"]

#: the accepted names and the autocast dtype of each (None: no autocast)
PRECISIONS: Dict[str, Optional[torch.dtype]] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(name) -> str:
    """``name`` if it is one of `PRECISIONS`, else a one-line ValueError listing them.

    >>> check_precision("bf16")
    'bf16'
    """
    if not isinstance(name, str) or name not in PRECISIONS:
        raise ValueError(f"precision = {name!r} is unknown; expected one of {', '.join(map(repr, PRECISIONS))}")
    return name


def _check_supported(name: str, dtype: torch.dtype, device: str) -> None:
    """A one-line ValueError when this torch cannot autocast ``device`` to ``dtype`` (autocast warns and turns
    itself off, or refuses, e.g. bfloat16 on a CUDA card without it)."""
    why, available = None, getattr(torch.amp, "is_autocast_available", lambda d: d in ("cpu", "cuda"))
    if not available(device):
        why = "no autocast on this device type"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with torch.autocast(device, dtype=dtype):
                    on = _autocast_enabled(device)
                if not on:
                    why = f"cannot autocast to {dtype}"
            except RuntimeError as err:
                why = str(err).split("\n")[0]
    if why is not None:
        raise ValueError(f"precision = {name!r} is not supported on {device!r} by torch {torch.__version__} "
                         f"({why}); use precision = 'fp32'")


def _autocast_enabled(device: str) -> bool:
    try:
        return torch.is_autocast_enabled(device)
    except TypeError:  # torch < 2.4 takes no device type
        return torch.is_autocast_enabled() if device == "cuda" else torch.is_autocast_cpu_enabled()


class Precision:
    """The precision of a `equinet.training.Trainer`'s steps on ``device`` (see the module docstring): `autocast`
    around forward and loss, `backward`, and `step` (unscale, clip, optimizer step, scaler update)."""

    def __init__(self, name: str, device):
        self.name = check_precision(name)
        self.device = torch.device(device)
        self.dtype = PRECISIONS[name]
        if self.dtype is not None:
            _check_supported(name, self.dtype, self.device.type)
        self.scaler: Optional[torch.amp.GradScaler] = None
        if name == "fp16":
            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)  # torch warns and disables the scaler where it cannot
                try:
                    self.scaler = torch.amp.GradScaler(self.device.type)
                except (RuntimeError, UserWarning, AttributeError, TypeError) as err:  # torch < 2.3: none
                    raise ValueError(f"precision = 'fp16' needs a gradient scaler on {self.device.type!r}, which "
                                     f"torch {torch.__version__} lacks ({str(err).splitlines()[0]}); use "
                                     "precision = 'bf16' or 'fp32'") from None

    def autocast(self):
        """The context of the forward pass and the loss: ``torch.autocast`` to the reduced dtype (fp32: none)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Back-propagate ``loss`` (fp16: scaled by the scaler's current scale)."""
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def step(self, optimizer: torch.optim.Optimizer, params, grad_clip: Optional[float] = None,
             grad_factor: float = 1) -> None:
        """Multiply the gradients of ``params`` by ``grad_factor`` (the number of DDP processes, whose mean it undoes:
        each process back-propagates the loss of its own slices, as one process would, so float16 overflows at
        the same scale whatever the number of processes), clip the (unscaled) gradients to the norm ``grad_clip``
        and take the optimizer step; fp16: the step is skipped when a gradient overflowed, the scale updated."""
        if grad_factor != 1:
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(grad_factor)
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        if self.scaler is None:
            optimizer.step()
        else:
            self.scaler.step(optimizer)
            self.scaler.update()

    def state_dict(self) -> Dict[str, Any]:
        """The scaler's state (scale and growth counter; empty without a scaler), for the checkpoint."""
        return {} if self.scaler is None else self.scaler.state_dict()

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore what `state_dict` saved (an empty state, as in a checkpoint without a scaler, changes nothing)."""
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)

    def __repr__(self) -> str:
        return f"Precision({self.name!r}, {str(self.device)!r})"
