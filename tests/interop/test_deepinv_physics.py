"""deepinv operators in equinet and equinet operators in deepinv (runs where deepinv imports: CI's deepinv stage).

Adjointness of every wrapped operator to 1e-6 (float64), the same numbers as the original, noise models of the same
law both ways, noise masks of inpainting/MRI kept, and the wrapped operators accepted by UnrolledPGD, the losses and
the diagnostics.
"""
import subprocess
import sys
import warnings

import pytest
import torch

dinv = pytest.importorskip("deepinv", reason="deepinv is a reference extra (see docs/interop.md for the install)")

from equinet import physics as P  # noqa: E402
from equinet.data.phantoms import random_ellipses  # noqa: E402
from equinet.diagnostics import rank_condition  # noqa: E402
from equinet.interop import DeepinvPhysics, as_physics, from_deepinv, to_deepinv  # noqa: E402
from equinet.losses import EILoss, LossInputs, MCLoss, SureGaussianLoss  # noqa: E402
from equinet.nets import NetSpec, build  # noqa: E402
from equinet.transforms import Rot90  # noqa: E402
from equinet.unrolled import UnrolledPGD  # noqa: E402

DT = torch.float64
warnings.filterwarnings("ignore", module="deepinv")


def gen(seed):
    return torch.Generator().manual_seed(seed)


def deepinv_op(name):
    """A deepinv operator in float64 (Tomography: float32, the wrapper casts), with its image shape (C, H, W)."""
    if name == "blur":
        k = dinv.physics.blur.gaussian_blur(sigma=1.0).to(DT)
        return dinv.physics.Blur(filter=k, padding="circular"), (1, 12, 12)
    if name == "inpainting":
        mask = (torch.rand(1, 12, 12, generator=gen(1)) > 0.4).to(DT)
        return dinv.physics.Inpainting(img_size=(1, 12, 12), mask=mask,
                                       noise_model=dinv.physics.GaussianNoise(0.1)), (1, 12, 12)
    if name == "mri":
        kmask = torch.zeros(12, 12, dtype=DT)
        kmask[:, ::3] = 1
        return dinv.physics.MRI(mask=kmask, img_size=(2, 12, 12)), (2, 12, 12)
    if name == "cs":
        return dinv.physics.CompressedSensing(m=50, img_size=(1, 12, 12), dtype=DT, rng=gen(0)), (1, 12, 12)
    return dinv.physics.Tomography(angles=10, img_width=12, circle=False, normalize=True), (1, 12, 12)


def inner(a, b):
    return float((a * b).sum())


@pytest.mark.parametrize("name", ["blur", "inpainting", "mri", "cs", "tomography"])
def test_deepinv_operator_as_equinet(name):
    dp, shape = deepinv_op(name)
    op = from_deepinv(dp, image_size=shape[1:])
    assert isinstance(op, DeepinvPhysics) and op.channels == (2 if name == "mri" else None)
    dt = torch.float32 if name == "tomography" else DT  # deepinv's Tomography computes in float32 only
    x = torch.randn(3, *shape, generator=gen(2), dtype=DT)
    y = op(x)  # float64 in, float64 out (computed in the operator's dtype)
    assert y.dtype == DT
    torch.testing.assert_close(y, dp.A(x.to(dt)).to(DT), rtol=0, atol=0)
    v = torch.randn(y.shape, generator=gen(3), dtype=DT)
    lhs, rhs = inner(y, v), inner(x, op.adjoint(v))
    assert abs(lhs - rhs) <= 1e-6 * max(1.0, abs(lhs))
    torch.testing.assert_close(op.pinv(y), dp.A_dagger(y.to(dt)).to(DT), rtol=1e-6, atol=1e-6)
    # grad of the data term is A^T(Au - y), as the equinet operators
    u = torch.randn_like(x).to(dt)
    torch.testing.assert_close(op.grad_data_fidelity(u, y.to(dt)), dp.A_adjoint(dp.A(u) - y.to(dt)))
    # power iteration agrees with deepinv's own
    sq = float(dp.compute_sqnorm(torch.zeros(shape, dtype=dt).unsqueeze(0), max_iter=500, tol=1e-9, verbose=False))
    assert op.norm(n_iter=500, tol=1e-12) == pytest.approx(sq ** 0.5, rel=1e-4)


@pytest.mark.parametrize("case", [P.Radon(12, angles=8), P.MRI(12, acceleration=3), P.Inpainting(12, drop=0.4),
                                  P.Blur(P.gaussian_kernel(1.0), padding="zeros", image_size=12), P.CompressedSensing(12, m=40)],
                         ids=["radon", "mri", "inpainting", "blur", "cs"])
def test_equinet_operator_as_deepinv(case):
    op = case.double()
    dp = to_deepinv(op)
    assert isinstance(dp, dinv.physics.LinearPhysics) and from_deepinv(dp) is op
    x = torch.randn(2, *op.in_shape, generator=gen(4), dtype=DT)
    torch.testing.assert_close(dp.A(x), op(x), rtol=0, atol=0)
    assert abs(float(dp.adjointness_test(x[:1]))) <= 1e-6 * float(op(x[:1]).norm() ** 2)
    torch.testing.assert_close(dp.A_dagger(op(x)), op.pinv(op(x)), rtol=0, atol=0)
    assert torch.equal(dp(x), op(x))  # no noise model: deepinv's forward is A x
    # deepinv's own least-squares machinery runs on the wrapped operator: prox_l2 meets its optimality condition
    # A^T (A p - y) + (p - z) / gamma = 0
    y, z = op(x), torch.randn(x.shape, generator=gen(5), dtype=DT)
    p = dp.prox_l2(z, y, gamma=1.0)
    residual = op.adjoint(op(p) - y) + (p - z)
    assert float(residual.norm() / op.adjoint(y).norm()) < 1e-4


def test_noise_models_convert_both_ways_with_the_same_law():
    pairs = [(P.GaussianNoise(0.2), dinv.physics.GaussianNoise, {"sigma": 0.2}),
             (P.PoissonNoise(0.5), dinv.physics.PoissonNoise, {"gain": 0.5}),
             (P.PoissonGaussianNoise(0.5, 0.1), dinv.physics.PoissonGaussianNoise, {"gain": 0.5, "sigma": 0.1}),
             (P.NoNoise(), dinv.physics.ZeroNoise, {})]
    for eq, cls, params in pairs:
        d = to_deepinv(P.Denoising(8, noise=eq)).noise_model
        assert type(d) is cls
        for k, v in params.items():
            assert float(getattr(d, k)) == pytest.approx(v)
        back = from_deepinv(dinv.physics.Denoising(noise_model=d), image_size=8).noise
        assert type(back) is type(eq)
        for k, v in params.items():
            assert getattr(back, k) == pytest.approx(v)
    # the drawn noise has the law's moments (deepinv Gaussian through equinet's measure, seeded)
    op = from_deepinv(dinv.physics.Denoising(noise_model=dinv.physics.GaussianNoise(0.3)), image_size=64)
    x = torch.zeros(4, 1, 64, 64)
    n = op.measure(x, gen(0))
    assert float(n.std()) == pytest.approx(0.3, rel=0.03) and torch.equal(n, op.measure(x, gen(0)))


def test_noise_only_on_measured_entries_both_ways():
    mask = torch.zeros(1, 8, 8)
    mask[..., ::2] = 1
    dp = dinv.physics.Inpainting(img_size=(1, 8, 8), mask=mask, noise_model=dinv.physics.GaussianNoise(0.5))
    y = from_deepinv(dp).measure(torch.ones(2, 1, 8, 8), gen(0))
    assert torch.equal(y[..., 1::2], torch.zeros_like(y[..., 1::2])) and float(y[..., ::2].std()) > 0.2
    eq = P.Inpainting(8, mask=mask[0], noise=P.GaussianNoise(0.5))
    yd = to_deepinv(eq)(torch.ones(2, 1, 8, 8))
    assert torch.equal(yd[..., 1::2], torch.zeros_like(yd[..., 1::2])) and float(yd[..., ::2].std()) > 0.2


def test_wrapped_operator_in_unrolled_pgd_losses_and_diagnostics():
    dp = dinv.physics.Inpainting(img_size=(1, 12, 12), mask=0.6, noise_model=dinv.physics.GaussianNoise(0.05),
                                 rng=gen(0))
    op = from_deepinv(dp)
    assert as_physics(dp) is as_physics(dp)  # one view per deepinv object
    torch.manual_seed(0)
    model = UnrolledPGD(dp, build("dncnn", NetSpec("C4", width=2, depth=3, kernel_size=3)), n_iter=2)
    x = random_ellipses(2, 12, seed=0)
    y = op.measure(x, gen(1))
    out_d, out_e = model(y, dp), model(y, op)  # the deepinv object itself, or its equinet view
    torch.testing.assert_close(out_d, out_e, rtol=0, atol=0)
    # the losses see the noise-free operator (deepinv's physics(x) would add noise) and its noise law
    inputs = LossInputs(y, dp, model, out_d, gen(2))
    assert isinstance(inputs.physics, DeepinvPhysics)
    mc = MCLoss()(inputs)["mc"]
    torch.testing.assert_close(mc, ((dp.A(out_d) - y) ** 2).mean())
    assert float(SureGaussianLoss()(LossInputs(y, dp, model, out_d, gen(2)))["sure"]) == pytest.approx(
        float(SureGaussianLoss(sigma=0.05)(LossInputs(y, op, model, out_d, gen(2)))["sure"]), rel=1e-5)
    EILoss(Rot90())(LossInputs(y, dp, model, out_d, gen(3)))["ei"].backward()
    # the diagnostics give the ranks of equinet's own inpainting with the same mask
    r = rank_condition(op.double(), Rot90(), (12, 12), method="exact")
    r_dp = rank_condition(dp, Rot90(), method="exact")  # the deepinv object itself: its noise-free A
    assert (r_dp.rank_A, r_dp.rank_M) == (r.rank_A, r.rank_M)
    r_eq = rank_condition(P.Inpainting(12, mask=dp.mask[0, 0].double()), Rot90(), (12, 12), method="exact")
    assert (r.rank_A, r.rank_M) == (r_eq.rank_A, r_eq.rank_M) and r.rank_A < r.rank_M


def test_a_replaced_deepinv_noise_model_is_seen():
    dp = dinv.physics.Denoising(noise_model=dinv.physics.GaussianNoise(0.1))
    view = as_physics(dp)
    assert view.noise.sigma == pytest.approx(0.1)
    dp.set_noise_model(dinv.physics.PoissonNoise(gain=0.5))
    assert type(as_physics(dp).noise) is P.PoissonNoise and as_physics(dp) is view
    y = view.measure(torch.full((1, 1, 8, 8), 2.0), gen(0))
    assert torch.equal(y / 0.5, torch.round(y / 0.5))  # gain * counts


def test_importing_equinet_does_not_import_deepinv():
    """deepinv is installed here: equinet (trainer, interop, unrolled) still imports it only on first use."""
    code = "import equinet.training, equinet.interop, equinet.unrolled, sys; print('deepinv' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
