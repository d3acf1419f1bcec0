"""PinvReconstructor: model(y, physics) = x0 + net(x0) with x0 = A†y or Aᵀy; the operator is given at call time."""
import pytest
import torch
from torch import nn

from equinet import groups
from equinet.nets import NetSpec, PinvReconstructor, build
from equinet.physics import Inpainting, Radon
from equinet.testing import check_system_equivariance


def _phys():
    return Radon(16, angles=12)


def test_zero_backbone_gives_the_first_estimate_exactly():
    physics = _phys()
    net = nn.Conv2d(1, 1, 3, padding=1)
    nn.init.zeros_(net.weight)
    nn.init.zeros_(net.bias)
    y = physics(torch.rand(3, 1, 16, 16))
    for init, ref in (("pinv", physics.pinv(y)), ("adjoint", physics.adjoint(y))):
        assert torch.equal(PinvReconstructor(net, init=init)(y, physics), ref)
        assert torch.equal(PinvReconstructor(net, residual=False, init=init)(y, physics), torch.zeros_like(ref))


def test_residual_form_and_physics_at_call_time():
    torch.manual_seed(0)
    net = build("dncnn", NetSpec(group="C1", width=4, depth=3, kernel_size=3), residual=False)
    model = PinvReconstructor(net)
    a, b = Inpainting(16, drop=0.3, seed=1), Inpainting(16, drop=0.5, seed=2)
    x = torch.rand(2, 1, 16, 16)
    for physics in (a, b):
        y = physics(x)
        x0 = physics.pinv(y)
        assert torch.allclose(model(y, physics), x0 + net(x0), atol=0, rtol=0)


def test_equivariant_backbone_and_rot90_closed_operator_give_an_equivariant_reconstructor():
    """Radon with angles closed under 90° turns and a C4 backbone: f(A(R x)) = R f(A x) to float precision for the
    four turns; the same reconstructor with a plain (C1) backbone is not equivariant."""
    physics = Radon(16, angles=torch.arange(0, 180, 7.5).tolist())
    errors = {}
    for group in ("C4", "C1"):
        torch.manual_seed(0)
        model = PinvReconstructor(build("dncnn", NetSpec(group=group, width=2, depth=3, kernel_size=3),
                                        residual=False))
        f = lambda y, m=model: m(y, physics)  # noqa: E731
        rep = check_system_equivariance(f, physics, elements=groups.cyclic(4), image_size=16, dtype=torch.float32)
        errors[group] = rep.max_error()
    assert errors["C4"] < 1e-5 and errors["C1"] > 1e-3, errors


def test_bad_arguments():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        PinvReconstructor(lambda x: x)
    with pytest.raises(ValueError, match="init must be one of"):
        PinvReconstructor(nn.Identity(), init="fbp")
    with pytest.raises(TypeError, match="residual must be a bool"):
        PinvReconstructor(nn.Identity(), residual=1)
    with pytest.raises(TypeError, match="needs a physics with a pinv"):
        PinvReconstructor(nn.Identity())(torch.zeros(1, 1, 4, 4), None)
    physics = Inpainting(8, drop=0.2)
    with pytest.raises(ValueError, match="must keep the shape"):
        PinvReconstructor(nn.Conv2d(1, 2, 3, padding=1))(torch.zeros(1, 1, 8, 8), physics)


def test_zero_output_starts_as_the_first_estimate():
    physics = _phys()
    y = physics(torch.rand(2, 1, 16, 16))
    spec = NetSpec(group="C4", width=2, depth=3, kernel_size=3, bias=False)
    model = PinvReconstructor.from_backbone(lambda residual: build("dncnn", spec, residual=residual), physics, 1,
                                            zero_output=True)
    assert torch.equal(model(y, physics), physics.pinv(y))
    torch.manual_seed(0)
    model = PinvReconstructor.from_backbone(lambda residual: build("dncnn", spec, residual=residual), physics, 1)
    assert (model(y, physics) - physics.pinv(y)).abs().max() > 1e-4
    with pytest.raises(TypeError, match="needs a backbone with zero_output_layer"):
        PinvReconstructor.from_backbone(lambda residual: nn.Conv2d(1, 1, 3, padding=1), physics, 1, zero_output=True)
    with pytest.raises(TypeError, match="zero_output must be a bool"):
        PinvReconstructor.from_backbone(lambda residual: nn.Conv2d(1, 1, 3, padding=1), physics, 1, zero_output=1)
