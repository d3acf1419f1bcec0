"""The split every transform follows: ``params = T.sample(batch, generator)``, ``T.apply(x, params)``,
``T.inverse(x, params)``, ``T.enumerate()``.

Parameters are data, not hidden state: ``sample`` draws them (a float64 tensor of shape ``[batch * n_trans, k]``,
one row per output image, ``k = T.param_dim``) from a ``torch.Generator`` on the CPU, and ``apply``/``inverse``
are deterministic functions of ``(x, params)``. So a training step can re-apply, invert, log or checkpoint exactly
the transformation it used.

* ``per_sample=True`` (default): every image gets its own draw;
* ``per_sample=False``: one draw for the whole batch (deepinv's behaviour), repeated on every row;
* ``n_trans = n``: the batch is used ``n`` times with independent draws; rows are copy-major
  (row ``c * batch + b`` is image ``b`` under draw ``c``), and ``apply`` repeats ``x`` to match.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from ..utils.checks import check_positive_int
from ..utils.registry import Registry

__all__ = ["Transform", "check_positive_int", "TRANSFORMS"]

#: name -> transform class (the TOML's ``transform = { name = ... }``); each registers itself where defined
TRANSFORMS: Registry = Registry("transform")


class Transform:
    """Base class of the random image transformations used by the EI, REI and DA losses.

    Subclasses set `param_dim` and implement ``_draw(n, generator) -> [n, k]`` (independent draws),
    ``_apply(x, params)`` and ``_inverse(x, params)`` on batches whose length equals the number of rows, and
    optionally ``_enumerate(n)``.
    """

    #: number of parameter columns of one image
    param_dim: int = 1

    def __init__(self, n_trans: int = 1, per_sample: bool = True):
        self.n_trans = check_positive_int(n_trans, "n_trans")
        if not isinstance(per_sample, bool):
            raise TypeError(f"per_sample must be a bool, got {type(per_sample).__name__}")
        self.per_sample = per_sample

    # ------------------------------------------------------------------------------------- sampling
    def sample(self, batch: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw parameters for ``batch`` images: a float64 CPU tensor ``[batch * n_trans, param_dim]``."""
        batch = check_positive_int(batch, "batch")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        if generator is not None and generator.device.type != "cpu":
            raise ValueError(f"transform parameters are drawn on the CPU; got a generator on {generator.device}")
        if self.per_sample:
            return self._draw(batch * self.n_trans, generator)
        return self._draw(self.n_trans, generator).repeat_interleave(batch, dim=0)

    def enumerate(self, n: Optional[int] = None) -> torch.Tensor:
        """Parameters of all elements (finite transforms) or of ``n`` evenly spaced ones (continuous transforms)."""
        return self._enumerate(n)

    # ----------------------------------------------------------------------------------- applying
    def apply(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """``T_{g_i} x_i`` for every row ``i`` of ``params``; ``x`` is repeated when ``params`` has more rows."""
        x, params = self._prepare(x, params)
        return self._apply(x, params)

    def inverse(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """``T_{g_i}^{-1} x_i``: undoes `apply` with the same ``params``."""
        x, params = self._prepare(x, params)
        return self._inverse(x, params)

    def __call__(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw parameters for ``x`` and apply them (``n_trans`` copies)."""
        self._check_image(x)
        return self.apply(x, self.sample(x.shape[0], generator))

    # ------------------------------------------------------------------------------------ checks
    def _check_image(self, x) -> None:
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: expected an image batch [B, C, H, W] as a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"{name}: expected an image batch of shape [B, C, H, W], got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name}: expected a floating-point image batch, got dtype {x.dtype}")
        if x.shape[0] == 0:
            raise ValueError(f"{name}: the image batch is empty")

    def _check_params(self, params) -> torch.Tensor:
        name = type(self).__name__
        if not isinstance(params, torch.Tensor):
            raise TypeError(f"{name}: params must be the tensor returned by sample()/enumerate(), "
                            f"got {type(params).__name__}")
        if params.dim() != 2 or params.shape[1] != self.param_dim or params.shape[0] == 0:
            raise ValueError(f"{name}: params must have shape [N, {self.param_dim}] (N >= 1), "
                             f"got {tuple(params.shape)}")
        if not bool(torch.isfinite(params).all()):
            raise ValueError(f"{name}: params contain NaN or inf")
        return params.detach().to("cpu", torch.float64)

    def _prepare(self, x, params) -> Tuple[torch.Tensor, torch.Tensor]:
        self._check_image(x)
        params = self._check_params(params)
        n, b = params.shape[0], x.shape[0]
        if n != b:
            if n % b:
                raise ValueError(f"{type(self).__name__}: {n} parameter rows do not match a batch of {b} images "
                                 "(need as many rows as images, or a multiple for n_trans copies)")
            x = x.repeat(n // b, 1, 1, 1)
        return x, params

    # ------------------------------------------------------------------------------- subclass hooks
    def _draw(self, n: int, generator: Optional[torch.Generator]) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _draw")

    def _apply(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _apply")

    def _inverse(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _inverse")

    def _enumerate(self, n: Optional[int]) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} cannot enumerate its elements")

    def __repr__(self) -> str:
        extra = self._repr_args()
        extra = f"{extra}, " if extra else ""
        return f"{type(self).__name__}({extra}n_trans={self.n_trans}, per_sample={self.per_sample})"

    def _repr_args(self) -> str:
        return ""
