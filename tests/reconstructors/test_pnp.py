"""Plug-and-play PGD and ADMM: exact fixed points, the data term's proximal operator, the default step, and the
equivariance of the whole solver with an equivariant denoiser and an equivariant physics."""
import pytest
import torch

from equinet import groups, physics, testing
from equinet.nets import NetSpec, build
from equinet.reconstructors import RECONSTRUCTORS, PnPADMM, PnPPGD
from equinet.reconstructors.pnp import data_prox

from ._dense import Dense, problem

C4 = groups.cyclic(4)


def identity(x):
    return x


def test_pgd_with_the_identity_denoiser_is_gradient_descent_and_reaches_least_squares():
    A, _, y = problem()
    one = PnPPGD(identity, n_iter=1, init="zero")
    x1 = one(y, A)
    gamma = one.history.step_size
    x0 = torch.zeros_like(x1)
    torch.testing.assert_close(x1, x0 - gamma * A.adjoint(A(x0) - y), rtol=0, atol=1e-15)
    model = PnPPGD(identity, n_iter=500, tol=1e-13, init="zero")
    x = model(y, A)
    torch.testing.assert_close(x, A.solve(0.0, y), rtol=0, atol=1e-10)
    h = model.history
    assert h.converged and h.n_iter < 500 and h.diverged_at is None
    assert all(b < a for a, b in zip(h.residual[1:], h.residual[2:]))  # linear convergence: residuals decrease


@pytest.mark.parametrize("c", [0.5, 0.9])
def test_pgd_fixed_point_of_a_linear_shrinkage_is_the_closed_form(c):
    A, _, y = problem(1)
    model = PnPPGD(lambda u: c * u, n_iter=2000, tol=1e-14)
    x = model(y, A)
    gamma = model.history.step_size
    # x = c (x − γ Mᵀ(Mx − y))  ⇔  (MᵀM + (1 − c)/(cγ) I) x = Mᵀy
    torch.testing.assert_close(x, A.solve((1 - c) / (c * gamma), y), rtol=0, atol=1e-11)
    assert model.history.converged


@pytest.mark.parametrize("c", [0.5, 0.9])
def test_admm_fixed_point_of_a_linear_shrinkage_is_the_closed_form(c):
    A, _, y = problem(2)
    model = PnPADMM(lambda u: c * u, n_iter=2000, tol=1e-14, step_size=0.7, cg_iter=100, cg_tol=1e-14)
    x = model(y, A)
    torch.testing.assert_close(x, A.solve((1 - c) / (c * 0.7), y), rtol=0, atol=1e-10)
    assert model.history.converged


def test_admm_with_the_identity_denoiser_reaches_least_squares():
    A, _, y = problem(3)
    model = PnPADMM(identity, n_iter=500, tol=1e-13, init="zero", cg_tol=1e-14, cg_iter=100)
    torch.testing.assert_close(model(y, A), A.solve(0.0, y), rtol=0, atol=1e-10)


def test_data_prox_by_conjugate_gradients_is_the_linear_solve_and_the_physics_own_prox_is_used():
    A, _, y = problem(4)
    v = torch.randn(2, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    gamma = 0.3
    # (MᵀM + I/γ) x = Mᵀy + v/γ, solved directly
    n = 16
    rhs = (A.adjoint(y) + v / gamma).reshape(2, n).T
    expect = torch.linalg.solve(A.M.T @ A.M + torch.eye(n, dtype=torch.float64) / gamma, rhs).T.reshape(v.shape)
    torch.testing.assert_close(data_prox(A, v, y, gamma, n_iter=100, tol=1e-14), expect, rtol=0, atol=1e-12)

    calls = []

    class WithProx(Dense):
        def prox_data_fidelity(self, v, y, gamma):
            calls.append(gamma)
            return data_prox(Dense(), v, y, gamma, n_iter=100, tol=1e-14)

    B = WithProx()
    model = PnPADMM(identity, n_iter=3, step_size=0.25)
    model(B(v), B)
    assert calls == [0.25, 0.25, 0.25]


def test_default_step_is_the_inverse_lipschitz_constant_of_the_data_term():
    A, _, y = problem(5)
    model = PnPPGD(identity, n_iter=1)
    model(y, A)
    L = float(torch.linalg.matrix_norm(A.M, ord=2)) ** 2
    # power iteration approaches ‖A‖ from below, so the step approaches 1/L from above
    assert 1 / L <= model.history.step_size <= (1 + 1e-5) / L
    model = PnPPGD(identity, n_iter=1, step_size=0.123)
    model(y, A)
    assert model.history.step_size == 0.123


def test_history_records_psnr_against_the_ground_truth_and_its_best_iteration():
    A = physics.Inpainting(16, drop=0.4, seed=0).double()
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    smooth = physics.Blur(physics.gaussian_kernel(1.0)).double()
    model = PnPPGD(lambda u: smooth(u), n_iter=30, init="zero")
    model(A(x), A, x_true=x)
    h = model.history
    assert len(h.psnr) == len(h.residual) == 30 and not h.converged
    from equinet.metrics import psnr
    model2 = PnPPGD(lambda u: smooth(u), n_iter=h.best_iteration, init="zero")
    assert float(psnr(model2(A(x), A), x).mean()) == pytest.approx(max(h.psnr), abs=1e-12)


def test_registered_and_built_from_a_backbone_like_the_other_reconstructors():
    assert RECONSTRUCTORS.get("pnp_pgd") is PnPPGD and RECONSTRUCTORS.get("pnp_admm") is PnPADMM
    spec = NetSpec(group="C4", width=2, depth=2, kernel_size=3, bias=False)
    A = physics.Denoising()
    for name in ("pnp_pgd", "pnp_admm", "red"):
        model = RECONSTRUCTORS.get(name).from_backbone(lambda residual: build("dncnn", spec, residual=residual),
                                                       A, 1, n_iter=3, equivariance="random", group="D4")
        y = torch.rand(2, 1, 12, 12)
        out = model(y, A)
        assert out.shape == y.shape and model.history.n_iter == 3
        out.sum().backward()  # trainable end to end, like an unrolled network
        assert all(p.grad is not None for p in model.parameters())


def _equivariant_denoiser(group="C4"):
    torch.manual_seed(0)
    spec = NetSpec(group=group, width=2, depth=3, kernel_size=3, bias=False)
    return build("dncnn", spec, residual=True).double().eval()


def _invariant_inpainting(size):
    r = torch.rand(size, size, generator=torch.Generator().manual_seed(1))
    r = r + r.flip(-1)
    r = r + r.rot90(1) + r.rot90(2) + r.rot90(3)  # a field closed under 90° turns and flips (D4)
    m = (r > r.median()).to(torch.float64)
    assert torch.equal(m, m.rot90(1)) and torch.equal(m, m.flip(-1)) and 0.3 < float(m.mean()) < 0.7
    return physics.Inpainting(size, mask=m).double()


@pytest.mark.parametrize("cls, group", [(PnPPGD, "C4"), (PnPADMM, "C4"), (PnPPGD, "D4")])
def test_the_solver_is_equivariant_with_an_equivariant_denoiser_and_physics(cls, group):
    D = _equivariant_denoiser(group)  # equivariant by design
    for A in (physics.Denoising().double(), _invariant_inpainting(15)):
        model = cls(D, n_iter=4)
        testing.assert_system_equivariant(lambda y: model(y, A), A, elements=groups.get(group), image_size=15,
                                          atol=1e-10)


def test_full_averaging_makes_the_solver_equivariant_with_a_plain_denoiser():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 5, padding=2, bias=False).double()
    A = _invariant_inpainting(15)
    plain = PnPPGD(conv, n_iter=4)
    averaged = PnPPGD(conv, n_iter=4, equivariance="full", group="C4")
    report = testing.check_system_equivariance(lambda y: plain(y, A), A, elements=C4, image_size=15)
    assert report.max_error(grid=True) > 1e-2
    testing.assert_system_equivariant(lambda y: averaged(y, A), A, elements=C4, image_size=15, atol=1e-10)


def test_a_training_configuration_names_and_trains_a_plug_and_play_solver(tmp_path):
    import tomllib

    from equinet.training import Trainer
    from equinet.training.config import build_run, parse_config
    from tests.training.configs import tiny_ei_config

    raw = tomllib.loads(tiny_ei_config(seed=0, drop=0.3, sigma=0.01, n_train=4, n_val=0, ei_noise=False,
                                       train="steps = 2\nbatch_size = 2\nprogress = false\nplots = false"))
    raw["model"].update(name="pnp_pgd", n_iter=3, equivariance="random", group="C4")
    run = build_run(parse_config(raw))
    assert isinstance(run.model, PnPPGD) and run.model.n_iter == 3 and run.model.equivariance == "random"
    before = [p.detach().clone() for p in run.model.parameters()]
    Trainer(run.model, run.loss, run.physics, run.data, out=str(tmp_path / "run"), **run.trainer_kwargs).fit()
    assert any(not torch.equal(a, b) for a, b in zip(before, run.model.parameters()))
    raw["model"]["equivariance"] = "avg"
    from equinet.training.config import ConfigError
    with pytest.raises(ConfigError, match=r"\[model\]: equivariance must be one of \('none', 'full', 'random'\)"):
        build_run(parse_config(raw))
    raw["model"].update(equivariance="full", step_size=float("nan"))
    with pytest.raises(ConfigError, match=r"\[model\]: step_size must be a finite number > 0 \(or None for 1/‖A‖²\), "
                                          r"got nan"):
        build_run(parse_config(raw))


def test_the_step_of_an_operator_without_image_size_is_measured_on_the_images():
    A = physics.Blur(physics.gaussian_kernel(1.0)).double()  # circular blur: ‖A‖ = max |K̂| = 1 (the DC gain)
    y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    model = PnPPGD(identity, n_iter=1)
    model(y, A)
    assert model.history.step_size == pytest.approx(1.0, abs=1e-6)
    from equinet.reconstructors.iterative import lipschitz
    with pytest.raises(ValueError, match="Blur has no image_size: give an image"):
        lipschitz(physics.Blur(physics.gaussian_kernel(1.0)))


@pytest.mark.parametrize("A", [physics.Inpainting(12, drop=0.5, seed=0), physics.Denoising()], ids=repr)
def test_with_a_projection_and_unit_step_admm_and_pgd_have_the_same_iterates(A):
    # AᵀA = P a projector, γ = 1, x₀ = A†y: ADMM's x-step puts P(x₀) = y on the measured pixels, so z_k = x_k of PGD
    A = A.double()
    y = A(torch.rand(2, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    D = lambda u: 0.5 * (u + u.roll(1, -1)).tanh()  # noqa: E731
    torch.testing.assert_close(PnPADMM(D, n_iter=7)(y, A), PnPPGD(D, n_iter=7)(y, A), rtol=0, atol=1e-13)
    assert not torch.allclose(PnPADMM(D, n_iter=7, step_size=0.5)(y, A), PnPPGD(D, n_iter=7)(y, A))


def test_the_comparison_evaluates_a_solver_like_any_model_and_a_copy_solves_the_same():
    import copy

    from equinet.experiments.comparison.run import reconstruct
    from equinet.metrics import psnr
    torch.manual_seed(0)
    A = physics.Inpainting(12, drop=0.3, seed=0)
    model = PnPPGD(torch.nn.Conv2d(1, 1, 3, padding=1, bias=False), n_iter=4, equivariance="random")
    x = torch.rand(5, 1, 12, 12)
    out = reconstruct(model, A, A(x), batch=2)  # in batches: every batch restarts the element sequence
    expect = torch.cat([model(A(x[i:i + 2]), A) for i in range(0, 5, 2)])
    assert torch.equal(out, expect) and psnr(out, x).shape == (5,)
    assert torch.equal(copy.deepcopy(model)(A(x), A), model(A(x), A))
