"""deepinv physics in equinet and equinet physics in deepinv (deepinv is optional: imported on first use).

* `from_deepinv(physics)`: any deepinv ``LinearPhysics`` (``A``, ``A_adjoint``, ``A_dagger``, ``noise_model``) as an
  `equinet.physics.LinearPhysics`, accepted by ``UnrolledPGD``, the losses, the trainer and the diagnostics. Its
  noise model becomes the equinet noise model of the same law (Gaussian, Poisson, Poisson-Gaussian, none), so SURE
  and the noisy EI re-measurement read their parameters from it; other deepinv noise models are called as they are.
* `to_deepinv(op)`: an equinet operator as a ``deepinv.physics.LinearPhysics`` (``A``, ``A_adjoint``, ``A_dagger`` =
  ``op.pinv``, the noise model converted the other way), accepted by deepinv's losses, solvers and trainer.
* `as_physics(p)`: the equinet view of either kind (cached per deepinv object); everything else is returned as is.

Wrapping keeps adjointness exactly: the wrapper calls the wrapped operator's own forward and adjoint.
"""
from __future__ import annotations

import weakref
from typing import Any, Optional, Tuple

import torch

from ..physics.base import LinearPhysics, as_image_size
from ..physics.noise import GaussianNoise, NoiseModel, NoNoise, PoissonGaussianNoise, PoissonNoise

__all__ = ["from_deepinv", "to_deepinv", "as_physics", "is_deepinv", "DeepinvPhysics", "DeepinvNoise",
           "noise_from_deepinv", "noise_to_deepinv", "require_deepinv", "DEEPINV_INSTALL"]

DEEPINV_INSTALL = ("pip install deepinv (deepinv 0.5 needs torchvision; with a CPU torch use torch==2.14.1 "
                   "torchvision==0.29.1, see docs/interop.md)")


def require_deepinv():
    """The ``deepinv`` module, or `equinet.interop.MissingLibraryError` naming the install command."""
    from ._libs import MissingLibraryError
    try:
        import deepinv
    except Exception as err:  # ImportError, or torchvision failing to load beside this torch
        raise MissingLibraryError(f"equinet.interop needs deepinv, which cannot be imported ({err}); install it "
                                  f"with: {DEEPINV_INSTALL}") from None
    return deepinv


def is_deepinv(obj) -> bool:
    """True when ``obj`` is an instance of a deepinv class (or of a subclass of one); imports nothing."""
    return any((cls.__module__ or "").split(".")[0] == "deepinv" for cls in type(obj).__mro__)


def _scalar(t, what: str) -> Optional[float]:
    """A Python float from a number or a tensor holding one value (None for per-item tensors)."""
    if isinstance(t, torch.Tensor):
        return float(t.reshape(-1)[0]) if t.numel() == 1 else None
    return float(t) if t is not None else None


# ---------------------------------------------------------------------------------------------- noise
class DeepinvNoise(NoiseModel):
    """A deepinv noise model called as an equinet one: ``noise(y, generator)``.

    With a generator on ``y``'s device the draw uses it (the deepinv model's own ``rng`` is restored afterwards), so
    the trainer's seeded streams stay deterministic. The variance is not known in general (SURE needs one of the
    converted laws).
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def _sample(self, y, generator):
        own = getattr(self.model, "rng", None)
        use = generator is not None and generator.device == y.device and hasattr(self.model, "rng")
        if use:
            self.model.rng = generator
        try:
            return self.model(y)
        finally:
            if use:
                self.model.rng = own

    def extra_repr(self) -> str:
        return type(self.model).__name__


def noise_from_deepinv(model) -> NoiseModel:
    """The equinet noise model with the law of a deepinv one: ZeroNoise -> `NoNoise`, GaussianNoise(σ) ->
    `GaussianNoise`, PoissonNoise(gain, normalize=True) -> `PoissonNoise`, PoissonGaussianNoise -> the same; any
    other model (per-item σ, non-normalised Poisson, Gamma, ...) is wrapped as `DeepinvNoise`."""
    if model is None:
        return NoNoise()
    if isinstance(model, NoiseModel):
        return model
    name = type(model).__name__ if is_deepinv(model) else ""
    if name == "ZeroNoise":
        return NoNoise()
    if name == "GaussianNoise":
        sigma = _scalar(getattr(model, "sigma", None), "sigma")
        if sigma is not None:
            return GaussianNoise(sigma)
    if name == "PoissonNoise" and bool(getattr(model, "normalize", True)) \
            and not getattr(model, "clip_positive", False):
        gain = _scalar(getattr(model, "gain", None), "gain")
        if gain is not None and gain > 0:
            return PoissonNoise(gain)
    if name == "PoissonGaussianNoise" and not getattr(model, "clip_positive", False):
        gain, sigma = _scalar(model.gain, "gain"), _scalar(model.sigma, "sigma")
        if gain is not None and sigma is not None and gain > 0:
            return PoissonGaussianNoise(gain, sigma)
    if not callable(model):
        raise TypeError(f"noise model must be callable, got {type(model).__name__}")
    return DeepinvNoise(model)


def noise_to_deepinv(noise: NoiseModel):
    """The deepinv noise model of the same law as an equinet one (the reverse of `noise_from_deepinv`)."""
    dinv = require_deepinv()
    if isinstance(noise, DeepinvNoise):
        return noise.model
    if isinstance(noise, NoNoise):
        return dinv.physics.ZeroNoise()
    if type(noise) is GaussianNoise:
        return dinv.physics.GaussianNoise(sigma=noise.sigma)
    if type(noise) is PoissonNoise:
        return dinv.physics.PoissonNoise(gain=noise.gain, normalize=True)
    if type(noise) is PoissonGaussianNoise:
        return dinv.physics.PoissonGaussianNoise(gain=noise.gain, sigma=noise.sigma)
    model = noise
    base: Any = dinv.physics.NoiseModel  # deepinv's class, imported at run time

    class _Wrapped(base):
        def __init__(self):
            super().__init__()
            self.equinet = model

        def forward(self, x, seed=None, **kwargs):
            g = None if seed is None else torch.Generator(device=x.device).manual_seed(int(seed))
            return self.equinet(x, generator=g)

    return _Wrapped()


# -------------------------------------------------------------------------------- deepinv -> equinet
def _image_size_of(physics) -> Optional[Tuple[int, int]]:
    """(H, W) a deepinv physics declares (``img_size`` / ``img_width``), or None."""
    size = getattr(physics, "img_size", None)
    if isinstance(size, (tuple, list, torch.Size)) and len(size) >= 2 and \
            all(isinstance(s, int) and s > 0 for s in size[-2:]):
        return int(size[-2]), int(size[-1])
    width = getattr(physics, "img_width", None)
    if isinstance(width, int) and width > 0:
        return width, width
    return None


def _working_dtype(module) -> Optional[torch.dtype]:
    if not isinstance(module, torch.nn.Module):
        return None
    for t in list(module.parameters()) + list(module.buffers()):
        if t.is_floating_point() and t.numel() > 1:
            return t.dtype
    return None


class DeepinvPhysics(LinearPhysics):
    """A deepinv linear operator seen as an `equinet.physics.LinearPhysics` (built by `from_deepinv`).

    ``forward`` is ``physics.A``, ``adjoint`` ``physics.A_adjoint``, ``pinv`` ``physics.A_dagger``; the noise model is
    converted by `noise_from_deepinv`; for operators whose deepinv ``noise`` masks the noise (inpainting, MRI) the
    same mask is applied by `measure`. Inputs in another floating dtype than the operator's tensors are cast to it
    and the results cast back. Measurements may have any shape ``[B, ...]`` (deepinv's compressed sensing gives
    ``[B, m]``).
    """

    def __init__(self, physics, image_size=None, channels: Optional[int] = None):
        for name in ("A", "A_adjoint"):
            if not callable(getattr(physics, name, None)):
                raise TypeError(f"from_deepinv needs a deepinv LinearPhysics (with A and A_adjoint); "
                                f"{type(physics).__name__} has no {name}")
        size = image_size if image_size is not None else _image_size_of(physics)
        super().__init__(None if size is None else as_image_size(size),
                         noise=noise_from_deepinv(getattr(physics, "noise_model", None)))
        if channels is not None and (isinstance(channels, bool) or not isinstance(channels, int) or channels < 1):
            raise ValueError(f"channels must be None or a positive int, got {channels!r}")
        if channels is None and callable(getattr(physics, "to_torch_complex", None)):
            channels = 2  # deepinv's MRI operators: complex images as two real channels, as equinet's MRI
        self.channels = channels
        self.physics = physics
        self._noise_source = getattr(physics, "noise_model", None)
        self._dtype = _working_dtype(physics)
        noise_fn = getattr(type(physics), "noise", None)
        self._masks_noise = noise_fn is not None and getattr(noise_fn, "__qualname__", "") != "Physics.noise"

    def refresh_noise(self) -> NoiseModel:
        """Re-read the deepinv operator's noise model if it was replaced since (``set_noise_model``); returns it."""
        source = getattr(self.physics, "noise_model", None)
        if source is not self._noise_source:
            self.noise, self._noise_source = noise_from_deepinv(source), source
        return self.noise

    def measure(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``noise(A x)`` with the deepinv operator's current noise model (see `LinearPhysics.measure`)."""
        self.refresh_noise()
        return super().measure(x, generator)

    def _run(self, fn, t: torch.Tensor) -> torch.Tensor:
        if self._dtype is None or t.dtype == self._dtype:
            return fn(t)
        return fn(t.to(self._dtype)).to(t.dtype)

    # shapes: measurements are whatever A gives
    def _measurement_tail(self, image_hw):
        c = self.channels or 1
        with torch.no_grad():
            y = self._forward(torch.zeros(1, c, *image_hw, dtype=self._dtype or torch.get_default_dtype(),
                                          device=self._default_device()))
        return tuple(y.shape[2:]) if y.dim() >= 3 else tuple(y.shape[1:])

    @property
    def out_shape(self):
        h, w = self._require_size()
        with torch.no_grad():
            y = self._forward(torch.zeros(1, self.channels or 1, h, w, dtype=self._dtype or torch.get_default_dtype(),
                                          device=self._default_device()))
        return tuple(y.shape[1:])

    def _check_measurement(self, y) -> None:
        self._check_tensor(y, "a measurement batch")
        if y.dim() < 2:
            raise ValueError(f"{type(self.physics).__name__}: expected a measurement batch [B, ...], got shape "
                             f"{tuple(y.shape)}")

    def _check_pair(self, u, y) -> None:
        self._check_image(u)
        self._check_measurement(y)
        if u.shape[0] != y.shape[0]:
            raise ValueError(f"image batch of {u.shape[0]} and measurement batch of {y.shape[0]} items differ")
        self._check_finite(y)

    def _default_device(self) -> torch.device:
        for t in list(self.physics.parameters()) + list(self.physics.buffers()) \
                if isinstance(self.physics, torch.nn.Module) else []:
            return t.device
        return torch.device("cpu")

    def norm(self, n_iter: int = 100, tol: float = 1e-7, dtype: Optional[torch.dtype] = None, device=None,
             seed: int = 0) -> float:
        """``||A||_2`` by power iteration (`equinet.physics.LinearPhysics.norm`), in the operator's own dtype."""
        return super().norm(n_iter, tol, dtype or self._dtype or torch.float64, device, seed)

    def _forward(self, x):
        return self._run(self.physics.A, x)

    def _adjoint(self, y):
        return self._run(self.physics.A_adjoint, y)

    def _pinv(self, y):
        dagger = getattr(self.physics, "A_dagger", None)
        if callable(dagger):
            return self._run(dagger, y)
        return super()._pinv(y)

    def _measurement_mask(self, y):
        if not self._masks_noise:
            return None
        model = self.physics.noise_model
        self.physics.noise_model = _Identity()
        try:
            with torch.no_grad():
                mask = self._run(self.physics.noise, torch.ones_like(y))
        finally:
            self.physics.noise_model = model
        return None if bool((mask == 1).all()) else mask

    def extra_repr(self) -> str:
        return f"{type(self.physics).__name__}, image_size={self._image_size}"


class _Identity(torch.nn.Module):
    def forward(self, t, **kwargs):
        return t


_VIEWS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def from_deepinv(physics, image_size=None, channels: Optional[int] = None) -> LinearPhysics:
    """An equinet `LinearPhysics` computing exactly what the deepinv operator ``physics`` computes.

    Args:
        physics: a deepinv ``LinearPhysics`` (or any object with ``A`` and ``A_adjoint``, optionally ``A_dagger``
            and ``noise_model``). An operator made by `to_deepinv` gives back the equinet original.
        image_size: ``(H, W)`` of its images when the operator does not declare it (``img_size`` /
            ``img_width``); needed for ``norm()``, ``in_shape`` and the diagnostics.
        channels: fixed number of image channels, or None for operators acting channel-wise (deepinv's MRI
            operators get 2: real and imaginary parts).

    >>> class Scale:  # any object with A and A_adjoint
    ...     def A(self, x): return 2 * x
    ...     def A_adjoint(self, y): return 2 * y
    >>> op = from_deepinv(Scale(), image_size=4)
    >>> round(op.norm(), 6), op.pinv(op(torch.ones(1, 1, 4, 4))).mean().item()
    (2.0, 1.0)
    """
    original = getattr(physics, "equinet", None)
    if isinstance(original, LinearPhysics) and image_size is None and channels is None:
        return original
    return DeepinvPhysics(physics, image_size, channels)


def as_physics(physics):
    """The equinet view of ``physics``: an equinet operator as is, a deepinv one through `from_deepinv` (one view
    per deepinv object, kept while it lives); anything else unchanged."""
    if isinstance(physics, LinearPhysics) or physics is None:
        return physics
    if not (is_deepinv(physics) and callable(getattr(physics, "A_adjoint", None))):
        return physics
    try:
        view = _VIEWS.get(physics)
    except TypeError:
        return from_deepinv(physics)
    if view is None:
        view = from_deepinv(physics)
        _VIEWS[physics] = view
    if isinstance(view, DeepinvPhysics):
        view.refresh_noise()
    return view


# -------------------------------------------------------------------------------- equinet -> deepinv
_CLASS: dict[str, type] = {}


def _deepinv_class():
    if "physics" not in _CLASS:
        dinv = require_deepinv()
        base: Any = dinv.physics.LinearPhysics  # deepinv's class, imported at run time

        class EquinetPhysics(base):
            """An equinet operator as a deepinv ``LinearPhysics`` (see `to_deepinv`)."""

            def __init__(self, op: LinearPhysics):
                super().__init__(noise_model=noise_to_deepinv(op.noise), img_size=_img_size(op), max_iter=100,
                                 tol=1e-6, solver="CG", implicit_backward_solver=False)
                self.equinet = op

            def A(self, x, **kwargs):
                return self.equinet(x)

            def A_adjoint(self, y, **kwargs):
                return self.equinet.adjoint(y)

            def A_dagger(self, y, **kwargs):
                return self.equinet.pinv(y)

            def noise(self, x, **kwargs):
                y = self.noise_model(x, **kwargs)
                mask = self.equinet._measurement_mask(y)
                return y if mask is None else y * mask

        _CLASS["physics"] = EquinetPhysics
    return _CLASS["physics"]


def _img_size(op: LinearPhysics):
    try:
        return tuple(op.in_shape)
    except ValueError:
        return None


def to_deepinv(op: LinearPhysics):
    """An equinet operator as a ``deepinv.physics.LinearPhysics``: ``A`` = ``op(x)``, ``A_adjoint`` = ``op.adjoint``,
    ``A_dagger`` = ``op.pinv``, ``noise_model`` of the same law (`noise_to_deepinv`; inpainting and MRI keep their
    noise on the measured entries). ``physics(x)`` in deepinv is ``noise(A x)``; ``.equinet`` is ``op``. A view made by
    `from_deepinv` gives back the deepinv original.
    """
    if isinstance(op, DeepinvPhysics):
        return op.physics
    if not isinstance(op, LinearPhysics):
        raise TypeError(f"to_deepinv expects an equinet.physics.LinearPhysics, got {type(op).__name__}")
    return _deepinv_class()(op)
