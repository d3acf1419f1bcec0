"""A small dense operator for exactness tests: y = M vec(x) with a tall, well-conditioned M (singular values in
[0.5, 1]), so the least-squares solution is unique and every closed form is a small linear solve."""
import torch

from equinet.physics.base import LinearPhysics


class Dense(LinearPhysics):
    def __init__(self, size: int = 4, m: int = 24, seed: int = 0):
        super().__init__(size)
        n = size * size
        g = torch.Generator().manual_seed(seed)
        U, _ = torch.linalg.qr(torch.randn(m, n, generator=g, dtype=torch.float64))
        V, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
        s = torch.linspace(0.5, 1.0, n, dtype=torch.float64)
        self.register_buffer("M", U @ torch.diag(s) @ V.T)

    def _measurement_tail(self, image_hw):
        return (self.M.shape[0],)

    def _forward(self, x):
        return x.reshape(x.shape[0], x.shape[1], -1) @ self.M.T.to(x.dtype)

    def _adjoint(self, y):
        return (y @ self.M.to(y.dtype)).reshape(y.shape[0], y.shape[1], *self.image_size)

    def solve(self, shift: float, y: torch.Tensor) -> torch.Tensor:
        """(MᵀM + shift·I)⁻¹ Mᵀy as images."""
        n = self.M.shape[1]
        rhs = (y @ self.M).reshape(y.shape[0] * y.shape[1], n).T
        sol = torch.linalg.solve(self.M.T @ self.M + shift * torch.eye(n, dtype=torch.float64), rhs)
        return sol.T.reshape(y.shape[0], y.shape[1], *self.image_size)


def problem(seed: int = 0):
    A = Dense(seed=seed)
    x = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    y = A(x) + 0.05 * torch.randn(2, 1, 24, generator=torch.Generator().manual_seed(seed + 2), dtype=torch.float64)
    return A, x, y
