"""Unrolled PGD: exact equivariance with equivariant physics and proximal networks, modes, and bad input."""
import pytest
import torch

from equinet import groups, physics
from equinet.nets import NetSpec
from equinet.nets.proximal import conv_layer
from equinet.nn import EquivariantSequential, SteerableConv2d
from equinet.unrolled import UnrolledPGD

C4 = groups.cyclic(4)
D4 = groups.dihedral(4)


def linear_prox(G, c_in, c_out, width=2, k=3):
    spec = NetSpec(G, in_channels=c_in, out_channels=c_out, width=width, depth=2, kernel_size=k)
    hid = spec.hidden_type()
    return EquivariantSequential(conv_layer(spec, spec.image_type(c_in), hid),
                                 conv_layer(spec, hid, spec.image_type(c_out)))


def system_error(pgd, A, x, g):
    u = pgd(A(x), A)
    u_g = pgd(A(groups.act(g, x)), A)
    return ((u_g - groups.act(g, u)).norm() / u.norm()).item()


@pytest.mark.parametrize("size", [16, 17])
def test_pgd_with_c4_prox_is_exactly_equivariant_for_denoising_and_symmetric_radon(size):
    torch.manual_seed(0)
    x = torch.rand(2, 1, size, size, dtype=torch.float64)
    for A in (physics.Denoising(), physics.Radon(image_size=size, angles=8)):
        A = A.double()
        pgd = UnrolledPGD(A, linear_prox(C4, 1, 1), n_iter=3).double()
        for g in C4.elements():
            assert system_error(pgd, A, x, g) < 1e-10


def test_general_mode_with_memory_is_equivariant_and_checks_channels():
    torch.manual_seed(1)
    A = physics.Denoising().double()
    pgd = UnrolledPGD(A, linear_prox(D4, 2 + 5, 1 + 5), n_iter=2, mode="general", memory=5).double()
    x = torch.rand(1, 1, 15, 15, dtype=torch.float64)
    for g in D4.elements():
        assert system_error(pgd, A, x, g) < 1e-10
    with pytest.raises(ValueError, match="need 7 -> 6"):
        UnrolledPGD(A, linear_prox(D4, 2, 1), n_iter=2, mode="general", memory=5)
    with pytest.raises(ValueError, match="need 1 -> 1"):
        UnrolledPGD(A, linear_prox(D4, 2, 1), n_iter=2)


def test_tied_and_untied_parameters_and_step_sizes():
    A = physics.Denoising()
    prox = linear_prox(C4, 1, 1)
    n_prox = sum(p.numel() for p in prox.parameters())
    tied = UnrolledPGD(A, prox, n_iter=4, tied=True, step_size=0.5)
    untied = UnrolledPGD(A, linear_prox(C4, 1, 1), n_iter=4, tied=False, step_size=0.5)
    assert sum(p.numel() for p in tied.parameters()) == n_prox + 4
    assert sum(p.numel() for p in untied.parameters()) == 4 * n_prox + 4
    torch.testing.assert_close(tied.step_sizes, torch.full((4,), 0.5))
    # the default step is 1/||A||^2
    R = physics.Radon(image_size=16, angles=10)
    pgd = UnrolledPGD(R, linear_prox(C4, 1, 1), n_iter=2)
    assert abs(pgd.step_sizes[0].item() * R.norm() ** 2 - 1) < 1e-3


def test_gradients_reach_every_parameter():
    A = physics.Radon(image_size=16, angles=6)
    pgd = UnrolledPGD(A, linear_prox(C4, 1, 1), n_iter=3)
    y = A(torch.rand(2, 1, 16, 16))
    pgd(y, A).square().mean().backward()
    for name, p in pgd.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_bad_input():
    A = physics.Denoising()
    pgd = UnrolledPGD(A, linear_prox(C4, 1, 1), n_iter=2)
    y = torch.rand(1, 1, 8, 8)
    y[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        pgd(y, A)
    with pytest.raises(ValueError, match="mode"):
        UnrolledPGD(A, linear_prox(C4, 1, 1), mode="admm")
    with pytest.raises(ValueError, match="proximal networks for 3"):
        UnrolledPGD(A, [linear_prox(C4, 1, 1)] * 2, n_iter=3)
    mri = physics.MRI(image_size=8, acceleration=2)
    pgd_mri = UnrolledPGD(mri, linear_prox(C4, 1, 1), n_iter=1, step_size=1.0)
    with pytest.raises(ValueError, match="image_channels=1"):
        pgd_mri(mri(torch.rand(1, 2, 8, 8)), mri)


@pytest.mark.parametrize("step", [0.0, -0.1, float("nan"), float("inf"), True, "0.1"])
def test_step_size_must_be_finite_and_positive(step):
    with pytest.raises(ValueError, match="step_size"):
        UnrolledPGD(physics.Denoising(), linear_prox(C4, 1, 1), n_iter=2, step_size=step)


def test_physics_is_passed_at_call_time_and_not_in_the_state_dict():
    """The operator is not a submodule: its mask is not a model weight, and one model serves several operators."""
    mri = physics.MRI(image_size=8, acceleration=2, seed=0)
    pgd = UnrolledPGD(mri, linear_prox(C4, 2, 2), n_iter=2, image_channels=2)
    assert not any(k.startswith("physics") for k in pgd.state_dict())
    assert not any(m is mri for m in pgd.modules())
    assert all(k.startswith("prox.") or k == "step_param" for k in pgd.state_dict())
    other = physics.MRI(image_size=8, acceleration=2, seed=1)
    y = other(torch.rand(1, 2, 8, 8))
    with torch.no_grad():  # the same computation as the loop written out with the other operator
        u = other.pinv(y) if pgd.init == "pinv" else torch.zeros(1, 2, 8, 8)
        for k, tau in enumerate(pgd.step_sizes):
            u = pgd.prox[k](u - tau * other.grad_data_fidelity(u, y))
        torch.testing.assert_close(pgd(y, other), u, rtol=0, atol=0)
    with pytest.raises(TypeError, match="physics"):
        pgd(y)
    with pytest.raises(TypeError, match="physics at call time"):
        pgd(y, "mri")
    # a state dict written when the physics was a submodule still loads (its physics.* entries are ignored)
    old = dict(pgd.state_dict(), **{"physics.mask": mri.mask.clone()})
    fresh = UnrolledPGD(None, linear_prox(C4, 2, 2), n_iter=2, image_channels=2, step_size=0.1)
    fresh.load_state_dict(old)
    torch.testing.assert_close(fresh(y, other), pgd(y, other))
    with pytest.raises(ValueError, match="step_size"):
        UnrolledPGD(None, linear_prox(C4, 2, 2), n_iter=2, image_channels=2)
