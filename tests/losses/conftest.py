import torch


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def dense_matrix(physics, image_size, dtype=torch.float64):
    """The matrix of a linear operator on [1, H, W] images, columns = A applied to the pixel basis."""
    h, w = image_size
    eye = torch.eye(h * w, dtype=dtype).reshape(h * w, 1, h, w)
    return physics(eye).reshape(h * w, -1).T.contiguous()


class MatrixInverse(torch.nn.Module):
    """``f(y) = B y`` for a fixed matrix ``B`` (e.g. the exact pseudo-inverse), on [N, 1, ...] measurements."""

    def __init__(self, B, image_size):
        super().__init__()
        self.B, self.image_size = B, image_size

    def forward(self, y, physics):
        out = y.reshape(y.shape[0], -1) @ self.B.T
        return out.reshape(y.shape[0], 1, *self.image_size)
