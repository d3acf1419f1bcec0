"""RED gradient descent: the fixed point of a linear shrinkage, the default step, least squares as λ → 0."""
import pytest
import torch

from equinet import groups, physics, testing
from equinet.reconstructors import RECONSTRUCTORS, RED

from ._dense import problem


@pytest.mark.parametrize("c, lam", [(0.5, 1.0), (0.8, 3.0)])
def test_fixed_point_of_a_linear_shrinkage_is_the_closed_form(c, lam):
    A, _, y = problem(6)
    model = RED(lambda u: c * u, lam=lam, n_iter=3000, tol=1e-14)
    x = model(y, A)
    # Mᵀ(Mx − y) + λ(1 − c) x = 0
    torch.testing.assert_close(x, A.solve(lam * (1 - c), y), rtol=0, atol=1e-11)
    assert model.history.converged


def test_one_iteration_and_the_default_step():
    A, _, y = problem(7)
    D = lambda u: 0.7 * u.roll(1, -1)  # noqa: E731
    model = RED(D, lam=2.0, n_iter=1, init="adjoint")
    x1 = model(y, A)
    L = float(torch.linalg.matrix_norm(A.M, ord=2)) ** 2
    gamma = model.history.step_size
    assert 1 / (L + 2.0) <= gamma <= (1 + 1e-5) / (L + 2.0)
    x0 = A.adjoint(y)
    torch.testing.assert_close(x1, x0 - gamma * (A.adjoint(A(x0) - y) + 2.0 * (x0 - D(x0))), rtol=0, atol=1e-14)


def test_registered_and_equivariant_with_an_averaged_denoiser():
    assert RECONSTRUCTORS.get("red") is RED
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False).double()
    A = physics.Denoising().double()
    model = RED(conv, n_iter=5, equivariance="full", group="D4")
    testing.assert_system_equivariant(lambda y: model(y, A), A, elements=groups.dihedral(4), image_size=12,
                                      atol=1e-10)
