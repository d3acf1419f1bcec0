"""Sparse real matrices with exact, differentiable products (internal helper of ``equinet.physics``).

The matrix is kept once as a float64 SciPy CSR master on the CPU. Torch CSR copies are made on demand for
each (dtype, device) that a product is asked for and cached, so an operator built on the CPU works with
float32 or float64 inputs on any device without being moved by hand. The transpose is a second cached
matrix, so ``A.T @ y`` is the exact discrete adjoint of ``A @ x`` (the same numbers, transposed).
"""

from __future__ import annotations

import warnings
from typing import Dict, Optional, Tuple

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["SparseMatrix"]


class SparseMatrix:
    """A real sparse matrix whose product with dense tensors is differentiable to any order."""

    def __init__(self, matrix: sp.spmatrix, transpose: Optional["SparseMatrix"] = None):
        csr = sp.csr_matrix(matrix, dtype=np.float64)
        csr.sum_duplicates()
        csr.sort_indices()
        self._master = csr
        self._cache: Dict[Tuple[torch.dtype, torch.device], torch.Tensor] = {}
        self._transpose = transpose

    def __getstate__(self):
        # torch sparse CSR tensors cannot be deep-copied or pickled; the cache is rebuilt on demand
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    @property
    def shape(self) -> Tuple[int, int]:
        """(rows, columns) of the matrix."""
        return tuple(self._master.shape)

    @property
    def nnz(self) -> int:
        """Number of stored non-zero entries."""
        return int(self._master.nnz)

    @property
    def scipy(self) -> sp.csr_matrix:
        """The float64 SciPy CSR master (do not modify in place)."""
        return self._master

    @property
    def T(self) -> "SparseMatrix":
        """The transposed matrix (built once, then cached)."""
        if self._transpose is None:
            self._transpose = SparseMatrix(self._master.T.tocsr(), transpose=self)
        return self._transpose

    def nbytes(self) -> int:
        """Bytes held by the float64 master (values and int32/int64 indices)."""
        m = self._master
        return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)

    def torch_csr(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """A torch CSR copy of the matrix in ``dtype`` on ``device`` (cached)."""
        key = (dtype, torch.device(device))
        out = self._cache.get(key)
        if out is None:
            m = self._master
            index_dtype = torch.int32 if max(m.nnz, max(m.shape)) < 2**31 - 1 else torch.int64
            crow = torch.from_numpy(np.ascontiguousarray(m.indptr)).to(index_dtype)
            col = torch.from_numpy(np.ascontiguousarray(m.indices)).to(index_dtype)
            val = torch.from_numpy(np.ascontiguousarray(m.data)).to(dtype)
            with warnings.catch_warnings():  # torch warns once that sparse CSR support is "beta"
                warnings.simplefilter("ignore")
                out = torch.sparse_csr_tensor(crow, col, val, size=m.shape, check_invariants=False)
                out = out.to(device)
            self._cache[key] = out
        return out

    def clear_cache(self) -> None:
        """Drop all torch copies (the float64 master is kept)."""
        self._cache.clear()
        if self._transpose is not None:
            self._transpose._cache.clear()

    def matmul(self, x: torch.Tensor) -> torch.Tensor:
        """``self @ x`` for a dense ``x`` of shape [columns, k]; differentiable (backward uses the transpose)."""
        if x.dim() != 2 or x.shape[0] != self.shape[1]:
            raise ValueError(f"expected a dense matrix with {self.shape[1]} rows, got shape {tuple(x.shape)}")
        return _SparseMatmul.apply(x, self)

    def __repr__(self) -> str:
        return f"SparseMatrix(shape={self.shape}, nnz={self.nnz})"


class _SparseMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, mat: SparseMatrix) -> torch.Tensor:
        ctx.mat = mat
        if x.shape[1] == 0:
            return x.new_zeros((mat.shape[0], 0))
        a = mat.torch_csr(x.dtype, x.device)
        return a @ x

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return _SparseMatmul.apply(grad.contiguous(), ctx.mat.T), None
