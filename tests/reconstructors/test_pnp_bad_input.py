"""Bad input to the plug-and-play solvers: one clear error each."""
import math

import pytest
import torch

from equinet import physics
from equinet.reconstructors import RED, DivergenceError, PnPADMM, PnPPGD

from ._dense import problem

SOLVERS = (PnPPGD, PnPADMM, RED)


@pytest.mark.parametrize("cls", SOLVERS)
def test_a_denoiser_that_changes_the_shape_is_refused(cls):
    A = physics.Denoising()
    model = cls(lambda x: x[..., 1:, :])
    with pytest.raises(ValueError, match=r"maps an input of shape \(1, 1, 8, 8\) to \(1, 1, 7, 8\); a denoiser must "
                                         r"return a tensor of its input's shape"):
        model(torch.rand(1, 1, 8, 8), A)
    model = cls(lambda x: x.sum())  # not even an image
    with pytest.raises(ValueError, match=r"to \(\); a denoiser must"):
        model(torch.rand(1, 1, 8, 8), A)


@pytest.mark.parametrize("cls", SOLVERS)
@pytest.mark.parametrize("bad", [0, -0.1, math.nan, math.inf, -math.inf, True, "0.1"])
def test_a_step_size_that_is_not_a_finite_positive_number_is_refused(cls, bad):
    with pytest.raises(ValueError, match=r"step_size must be a finite number > 0 \(or None for 1/‖A‖²\), got"):
        cls(lambda x: x, step_size=bad)


def test_other_options_are_checked():
    D = lambda x: x  # noqa: E731
    for kw, msg in (({"n_iter": 0}, "n_iter must be a positive int"), ({"tol": -1.0}, "tol must be a finite"),
                    ({"init": "fbp"}, "init must be one of"), ({"on_divergence": "warn"}, "on_divergence must be"),
                    ({"max_growth": 0.0}, "max_growth must be")):
        with pytest.raises(ValueError, match=msg):
            PnPPGD(D, **kw)
    with pytest.raises(ValueError, match="lam must be a finite number > 0"):
        RED(D, lam=0.0)
    with pytest.raises(ValueError, match="cg_iter must be a positive int"):
        PnPADMM(D, cg_iter=0)


@pytest.mark.parametrize("cls", SOLVERS)
def test_a_physics_that_is_not_linear_is_refused(cls):
    model = cls(lambda x: x)
    y = torch.rand(1, 1, 8, 8)
    for bad in (lambda x: x ** 2, torch.nn.ReLU(), None):
        with pytest.raises(TypeError, match=rf"{cls.__name__} needs a linear physics \(an equinet.physics."
                                            r"LinearPhysics with adjoint and pinv, or a deepinv LinearPhysics\), got"):
            model(y, bad)


def test_measurements_and_ground_truth_are_checked():
    A = physics.Denoising()
    model = PnPPGD(lambda x: x, n_iter=2)
    with pytest.raises(ValueError, match="PnPPGD: the measurements must be a finite tensor"):
        model(torch.full((1, 1, 4, 4), math.nan), A)
    with pytest.raises(ValueError, match=r"x_true has shape \(1, 1, 5, 5\), the reconstruction \(1, 1, 4, 4\)"):
        model(torch.rand(1, 1, 4, 4), A, x_true=torch.rand(1, 1, 5, 5))


def _too_long_a_step():
    A, _, y = problem(8)
    L = float(torch.linalg.matrix_norm(A.M, ord=2)) ** 2
    return A, y, 3.0 / L  # gradient descent with γ > 2/L grows the top singular direction by |1 − 3| = 2 per step


def test_a_diverging_solver_raises_naming_the_iteration():
    A, y, step = _too_long_a_step()
    model = PnPPGD(lambda x: x, n_iter=200, step_size=step, init="zero")
    with pytest.raises(DivergenceError, match=r"PnPPGD diverged at iteration (\d+): the iterate has norm .* over "
                                              r"1e\+04 × its starting scale \(step size") as info:
        model(y, A)
    k = info.value.iteration
    assert f"iteration {k}:" in str(info.value) and 10 < k < 40
    assert model.history is info.value.history and model.history.diverged_at == k
    res = model.history.residual
    assert len(res) == k - 1 and res[0] == math.inf  # from x₀ = 0 the first relative residual is infinite
    assert all(math.isfinite(r) for r in res[1:])


@pytest.mark.parametrize("cls", SOLVERS)
def test_a_denoiser_returning_nan_is_reported_at_its_iteration(cls):
    A = physics.Denoising()
    calls = []

    def D(x):
        calls.append(1)
        return x * math.nan if len(calls) == 3 else x

    with pytest.raises(DivergenceError, match=rf"{cls.__name__} diverged at iteration 3: the iterate is not finite"):
        cls(D, n_iter=10)(torch.rand(1, 1, 6, 6), A)


def test_on_divergence_stop_returns_the_last_sound_iterate():
    A, y, step = _too_long_a_step()
    model = PnPPGD(lambda x: x, n_iter=200, step_size=step, on_divergence="stop")
    x = model(y, A)
    h = model.history
    assert h.diverged_at is not None and h.n_iter == h.diverged_at - 1
    assert torch.isfinite(x).all()
    again = PnPPGD(lambda x: x, n_iter=h.n_iter, step_size=step)(y, A)
    assert torch.equal(x, again)
