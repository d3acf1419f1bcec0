"""The deepinv adapters without deepinv (the core environment; absence simulated by blocking the import): the
package imports, the functions that need deepinv say what to install, and the deepinv-facing paths of the trainer
work on objects shaped like deepinv's (a class whose module is ``deepinv...``, with A / A_adjoint / noise_model)."""
import sys

import pytest
import torch

from equinet import interop
from equinet.data import StreamingMeasurementDataset
from equinet.data.phantoms import random_ellipses
from equinet.interop import DeepinvPhysics, MissingLibraryError, as_physics, from_deepinv_dataset
from equinet.losses import MCLoss, SupervisedLoss, LossSum
from equinet.nets import PinvReconstructor
from equinet.physics import Inpainting
from equinet.training import Trainer


@pytest.fixture
def deepinv_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, "deepinv", None)


def test_missing_deepinv_names_the_install(deepinv_absent):
    for call in (lambda: interop.to_deepinv(Inpainting(8)), lambda: interop.to_deepinv_model(torch.nn.Identity()),
                 lambda: interop.to_deepinv_denoiser(torch.nn.Identity()),
                 lambda: interop.noise_to_deepinv(Inpainting(8).noise)):
        with pytest.raises(MissingLibraryError, match="pip install deepinv"):
            call()


class LikeDeepinv(torch.nn.Module):
    """An operator shaped like a deepinv LinearPhysics: masking, with its own (deepinv-style) noisy forward."""

    __module__ = "deepinv.physics.fake"

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)
        self.noise_model = None
        self.img_size = (1,) + tuple(mask.shape)

    def A(self, x, **kw):
        return x * self.mask

    def A_adjoint(self, y, **kw):
        return y * self.mask

    def forward(self, x):  # deepinv's physics(x) adds noise: equinet must not call it for A x
        return self.A(x) + 1.0


def test_trainer_and_losses_use_the_noise_free_view_of_a_deepinv_like_operator():
    mask = (torch.rand(8, 8, generator=torch.Generator().manual_seed(0)) > 0.3).float()
    dp = LikeDeepinv(mask)
    view = as_physics(dp)
    assert isinstance(view, DeepinvPhysics) and view.image_size == (8, 8) and as_physics(dp) is view
    eq = Inpainting(8, mask=mask)
    x = random_ellipses(4, 8, seed=0)
    pairs = torch.utils.data.TensorDataset(x, eq(x))  # items (x, y), as deepinv datasets give them
    data = from_deepinv_dataset(pairs)
    assert isinstance(data, StreamingMeasurementDataset) and data.has_ground_truth
    weights = []
    for physics in (dp, eq):
        torch.manual_seed(0)
        model = PinvReconstructor(torch.nn.Conv2d(1, 1, 3, padding=1), init="adjoint")
        Trainer(model, LossSum([MCLoss(), SupervisedLoss()]), physics, pairs, steps=3, batch_size=4,
                identifiability=False).fit()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)  # the same run as equinet's own operator
