"""Exact properties of the losses: MC of A^+ y is 0; EI vanishes for an equivariant f∘A (exact pseudo-inverse of a
rot90-closed Radon under C4) and is clearly positive for a non-equivariant f; for FBP (equivariant but not a
projection) the EI loss equals mean((F A x1 - x1)^2), which equivariance predicts; the calling convention."""
import pytest
import torch

from equinet import physics as P
from equinet.data.phantoms import random_ellipses
from equinet.losses import (AdversarialEILoss, DALoss, EILoss, EISupLoss, LossInputs, LossSum, MCLoss, REILoss,
                            SupervisedLoss, SureGaussianLoss, SurePGLoss, SurePoissonLoss, total)
from equinet.transforms import Rot90, Rotate, Shift

from .conftest import MatrixInverse, dense_matrix, gen

DT = torch.float64
N = 12
CLOSED = [0.0, 22.5, 45.0, 67.5, 90.0, 112.5, 135.0, 157.5]  # closed under +90° (mod 180°)


@pytest.fixture(scope="module")
def radon():
    A = P.Radon(N, angles=CLOSED)
    M = dense_matrix(A, (N, N))
    return A, M, torch.linalg.pinv(M)


def inputs_for(A, model, y, seed=0, x=None):
    return LossInputs(y, A, model, model(y, A), gen(seed), x)


def test_mc_of_the_pseudo_inverse_is_zero():
    x = random_ellipses(4, 10, seed=1).to(DT)
    A = P.Inpainting(10, drop=0.4, seed=0)
    y = A(x)
    pinv = lambda y, physics: physics.pinv(y)
    assert MCLoss()(inputs_for(A, pinv, y))["mc"] == 0
    CS = P.CompressedSensing(10, m=40, seed=0)
    y = CS(x)
    mc = MCLoss()(inputs_for(CS, pinv, y))["mc"]
    assert mc < 1e-28 * y.pow(2).mean()
    assert MCLoss()(inputs_for(CS, lambda y, ph: ph.adjoint(y), y))["mc"] > 1e-3  # A^T is not consistent


def test_ei_vanishes_for_an_equivariant_projection(radon):
    A, M, Mp = radon
    x = random_ellipses(6, N, seed=0).to(DT)
    y = A(x)
    f = MatrixInverse(Mp, (N, N))
    ei = EILoss(Rot90())(inputs_for(A, f, y))["ei"]
    scale = f(y, A).pow(2).mean()
    assert ei < 1e-24 * scale
    # the same f with a pixel weighting that is not rotation invariant: f∘A is no longer C4-equivariant
    w = torch.linspace(0.5, 1.5, N * N, dtype=DT).reshape(1, 1, N, N)
    g = lambda y, physics: f(y, physics) * w
    assert EILoss(Rot90())(inputs_for(A, g, y))["ei"] > 1e-3 * scale
    # an angle set that is not closed under 90° turns breaks the equivariance of A^+ A
    B = P.Radon(N, angles=[0.0, 20.0, 50.0, 80.0, 100.0, 130.0, 160.0, 170.0])
    Bp = torch.linalg.pinv(dense_matrix(B, (N, N)))
    assert EILoss(Rot90())(inputs_for(B, MatrixInverse(Bp, (N, N)), B(x)))["ei"] > 1e-4 * scale


def test_ei_of_fbp_is_what_equivariance_predicts(radon):
    """FBP∘A commutes with quarter turns, so x3 = F A T x1 = T F A x1 and EI = mean((F A x1 - x1)^2) exactly."""
    A = radon[0]
    x = random_ellipses(6, N, seed=2).to(DT)
    y = A(x)
    fbp = lambda y, physics: physics.pinv(y)
    x1 = fbp(y, A)
    ei = EILoss(Rot90())(inputs_for(A, fbp, y))["ei"]
    predicted = (fbp(A(x1), A) - x1).pow(2).mean()
    assert predicted > 1e-4
    assert torch.isclose(ei, predicted, rtol=1e-12, atol=0)


def test_noisy_ei_remeasures_with_the_physics_noise(radon):
    A = P.Radon(N, angles=CLOSED, noise=P.GaussianNoise(0.5))
    Mp = radon[2]
    f = MatrixInverse(Mp, (N, N))
    y = A(random_ellipses(3, N, seed=0).to(DT))
    clean = EILoss(Rot90(), noise=False)(inputs_for(A, f, y))["ei"]
    noisy = EILoss(Rot90(), noise=True)(inputs_for(A, f, y))["ei"]
    assert clean < 1e-20 and noisy > 1e-3
    # x3 - x2 = A^+ (noise): its mean square is sigma^2 * trace(A^+ A^+T) / n on average
    expected = 0.25 * (Mp * Mp).sum() / (N * N)
    assert abs(float(noisy) / float(expected) - 1) < 0.2


def test_unsupervised_losses_never_see_ground_truth():
    A = P.Denoising(noise=P.GaussianNoise(0.1))
    x = torch.rand(2, 1, 6, 6, dtype=DT, generator=gen(0))
    y = A.measure(x, gen(1))

    class Spy(torch.nn.Module):
        def forward(self, y, physics):
            return y * 0.9

    seen = []

    class Probe(MCLoss):
        def terms(self, inputs):
            seen.append(inputs.x)
            return super().terms(inputs)

    Probe()(LossInputs(y, A, Spy(), Spy()(y, A), gen(0), x))
    assert seen == [None]
    for loss in (MCLoss(), EILoss(Rot90()), SureGaussianLoss(), REILoss(Rot90())):
        a = loss(LossInputs(y, A, Spy(), Spy()(y, A), gen(3), x))
        b = loss(LossInputs(y, A, Spy(), Spy()(y, A), gen(3), None))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for loss in (SupervisedLoss(), EISupLoss(Rot90()), DALoss(Rot90())):
        assert loss.needs_ground_truth
        with pytest.raises(ValueError, match="ground-truth"):
            loss(LossInputs(y, A, Spy(), Spy()(y, A), gen(0), None))


def test_term_names_weights_and_sums():
    A = P.Denoising(noise=P.GaussianNoise(0.1))
    x = torch.rand(2, 1, 6, 6, dtype=DT, generator=gen(0))
    y = A.measure(x, gen(1))
    f = lambda y, physics: 0.8 * y
    inp = LossInputs(y, A, f, f(y, A), gen(2), x)
    assert set(SupervisedLoss()(inp)) == {"sup"}
    assert set(EISupLoss(Rot90())(inp)) == {"sup", "ei"}
    assert set(REILoss(Rot90())(inp)) == {"sure", "ei"}
    assert set(AdversarialEILoss(Rot90()).double()(inp)) == {"mc", "ei", "adv"}
    assert set(DALoss(Rot90())(inp)) == {"da"}
    both = LossSum([MCLoss(weight=2.0), EILoss(Shift(max_shift=2), weight=3.0)])
    terms = both(LossInputs(y, A, f, f(y, A), gen(5), x))
    assert torch.isclose(terms["mc"], 2 * MCLoss()(inp)["mc"])
    assert torch.isclose(terms["ei"], 3 * EILoss(Shift(max_shift=2))(LossInputs(y, A, f, f(y, A), gen(5)))["ei"])
    assert torch.isclose(total(terms), terms["mc"] + terms["ei"])
    with pytest.raises(ValueError, match="distinct names"):
        LossSum([EILoss(Rot90()), REILoss(Rot90())])(inp)


def test_ei_with_n_trans_averages_over_copies():
    A = P.Inpainting(8, drop=0.3, seed=0)
    y = A(torch.rand(3, 1, 8, 8, dtype=DT, generator=gen(0)))
    f = lambda y, physics: y + 0.1 * torch.roll(y, 1, -1)
    T = Shift(image_size=8, n_trans=4)
    one = EILoss(T)(LossInputs(y, A, f, f(y, A), gen(0)))["ei"]
    p = T.sample(3, gen(0))
    x1 = f(y, A)
    x2 = T.apply(x1, p)
    assert torch.isclose(one, (f(A(x2), A) - x2).pow(2).mean(), rtol=1e-14)


def test_adversary_step_updates_only_the_discriminator():
    torch.manual_seed(0)
    A = P.Inpainting(8, drop=0.3, seed=0)
    net = torch.nn.Conv2d(1, 1, 3, padding=1).double()
    model = lambda y, physics: net(y)
    loss = AdversarialEILoss(Rotate(), weight_adv=1.0).double()
    opt = torch.optim.Adam(loss.discriminator.parameters(), lr=1e-2)
    y = A(torch.rand(4, 1, 8, 8, dtype=DT, generator=gen(0)))
    inp = LossInputs(y, A, model, model(y, A), gen(1))
    before_d = [p.detach().clone() for p in loss.discriminator.parameters()]
    before_f = [p.detach().clone() for p in net.parameters()]
    logs = loss.adversary_step(inp, opt)
    assert set(logs) == {"adv_d", "adv_d_real", "adv_d_fake"} and all(isinstance(v, float) for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(before_d, loss.discriminator.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(before_f, net.parameters()))
    assert all(p.grad is None for p in net.parameters())
    terms = loss(inp)
    total(terms).backward()
    assert all(p.grad is not None for p in net.parameters())


def test_noise_parameters_come_from_the_physics_or_are_given():
    x = torch.rand(2, 1, 6, 6, dtype=DT, generator=gen(0)) + 0.5
    f = lambda y, physics: 0.9 * y
    for noise, loss, explicit in [(P.GaussianNoise(0.2), SureGaussianLoss, dict(sigma=0.2)),
                                  (P.PoissonNoise(0.1), SurePoissonLoss, dict(gain=0.1)),
                                  (P.PoissonGaussianNoise(0.1, 0.2), SurePGLoss, dict(gain=0.1, sigma=0.2))]:
        A = P.Denoising(noise=noise)
        y = A.measure(x, gen(1))
        a = loss()(LossInputs(y, A, f, f(y, A), gen(2)))["sure"]
        b = loss(**explicit)(LossInputs(y, P.Denoising(), f, f(y, A), gen(2)))["sure"]
        assert torch.equal(a, b)
        with pytest.raises(ValueError, match="pass"):
            loss()(LossInputs(y, P.Denoising(), f, f(y, A), gen(2)))
    with pytest.raises(ValueError, match="no SURE loss for NoNoise"):
        REILoss(Rot90())(LossInputs(y, P.Denoising(), f, f(y, A), gen(2)))


def test_bad_arguments_get_clear_errors():
    with pytest.raises(TypeError, match="Transform"):
        EILoss("rot90")
    with pytest.raises(ValueError, match="weight"):
        MCLoss(weight=-1.0)
    with pytest.raises(ValueError, match="tau"):
        SureGaussianLoss(tau=0.0)
    with pytest.raises(ValueError, match="probe"):
        SureGaussianLoss(probe="uniform")
    with pytest.raises(ValueError, match="gain"):
        SurePoissonLoss(gain=-1.0)
    with pytest.raises(TypeError, match="noise must be a bool"):
        EILoss(Rot90(), noise="yes")
    with pytest.raises(TypeError, match="SURE"):
        REILoss(Rot90(), sure=MCLoss())
    with pytest.raises(TypeError, match="LossInputs"):
        MCLoss()((torch.zeros(1), None))
    A = P.Denoising()
    y = torch.zeros(2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        EILoss(Rot90())(LossInputs(y, A, lambda y, p: y, torch.zeros(2, 16), gen(0)))
    with pytest.raises(TypeError, match="discriminator"):
        AdversarialEILoss(Rot90(), discriminator="D")


def test_da_measures_the_transformed_truth_with_fresh_noise():
    """With f(y) = y on a denoising problem, DA = mean((noise(T x) - T x)^2), about sigma^2; Poisson rates are
    clamped for the draw, so a 'fourier' rotation's ringing (negative pixels) is measurable."""
    x = random_ellipses(16, 16, seed=0).to(DT)
    A = P.Denoising(noise=P.GaussianNoise(0.1))
    ident = lambda y, physics: y
    da = DALoss(Rotate())(LossInputs(A.measure(x, gen(0)), A, ident, x, gen(1), x))["da"]
    assert abs(float(da) / 0.01 - 1) < 0.1  # 4096 entries: the standard error is 2.2 %
    T = Rotate(interpolation="fourier")
    assert bool((T.apply(x, T.sample(16, gen(2))) < 0).any())
    B = P.Denoising(noise=P.PoissonNoise(0.05))
    out = DALoss(T)(LossInputs(B.measure(x, gen(0)), B, ident, x, gen(2), x))["da"]
    assert torch.isfinite(out) and out > 0
