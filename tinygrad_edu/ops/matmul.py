"""The matrix product, with ``torch.matmul``'s rules for 1-D and batched operands.

For C = A @ B with A (M, K) and B (K, N), the chain rule gives

    dA = dC @ B^T      (M, N) @ (N, K) -> (M, K)
    dB = A^T @ dC      (K, M) @ (M, N) -> (K, N)

The kernels take transpose flags, so B^T and A^T are never materialised.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..device import array_module
from .elementwise import unbroadcast
from ..backends import kernels_for


def _rows(shape: tuple, keep: int = 1) -> tuple:
    """``shape`` with its leading axes merged into one, keeping the last ``keep``: the
    explicit form of ``reshape(-1, ...)``, which NumPy cannot resolve when a kept size is 0
    (a (3, 0) @ (0, 4) product is legal and gives zeros)."""
    return (math.prod(shape[:-keep]),) + tuple(shape[-keep:])


def check_matmul_shapes(a_shape: tuple, b_shape: tuple) -> None:
    """Raise a ValueError naming both shapes unless ``a @ b`` is defined."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError(f"matmul: {a_shape} @ {b_shape}: both operands need at least 1 dimension")
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: {a_shape} @ {b_shape}: inner sizes {k_a} and {k_b} differ")
    if len(a_shape) > 2 and len(b_shape) > 2:
        try:
            np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: {a_shape} @ {b_shape}: batch dimensions {a_shape[:-2]} and "
                f"{b_shape[:-2]} do not broadcast"
            ) from None


class MatMul(Function):
    """out = a @ b (1-D, 2-D or batched, batch dimensions broadcast)."""

    def forward(self, a, b):
        check_matmul_shapes(a.shape, b.shape)
        self.a_shape, self.b_shape = a.shape, b.shape
        # Promote vectors to matrices: a (K,) -> (1, K), b (K,) -> (K, 1); squeezed at the end.
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        self.a2, self.b2 = a2, b2
        if a2.dtype != np.float32 and a2.dtype != np.float64:  # the kernels are float-only
            out = array_module(a2).matmul(a2, b2)
        elif b2.ndim == 2:
            # (..., M, K) @ (K, N): fold every leading axis of a into the rows of one GEMM.
            k, n = b2.shape
            out = kernels_for(a2).matmul(a2.reshape(_rows(a2.shape)), b2).reshape(a2.shape[:-1] + (n,))
        else:
            batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
            self.batch = batch
            xp = array_module(a2)
            a3 = xp.broadcast_to(a2, batch + a2.shape[-2:]).reshape(_rows(batch + a2.shape[-2:], 2))
            b3 = xp.broadcast_to(b2, batch + b2.shape[-2:]).reshape(_rows(batch + b2.shape[-2:], 2))
            out = kernels_for(a3).matmul(a3, b3).reshape(batch + (a2.shape[-2], b2.shape[-1]))
        return self._squeeze_vectors(out)

    def _squeeze_vectors(self, out):
        if len(self.a_shape) == 1:
            out = out.reshape(out.shape[:-2] + out.shape[-1:])
        if len(self.b_shape) == 1:
            out = out.reshape(out.shape[:-1])
        return out

    def backward(self, g):
        a2, b2 = self.a2, self.b2
        m, n = a2.shape[-2], b2.shape[-1]
        kern = kernels_for(g)
        ga = gb = None
        if b2.ndim == 2:
            g2 = g.reshape(math.prod(a2.shape[:-1]), n)  # the rows of the forward's GEMM
            if self.needs_input_grad[0]:
                ga = kern.matmul(g2, b2, trans_b=True).reshape(self.a_shape)
            if self.needs_input_grad[1]:
                gb = kern.matmul(a2.reshape(_rows(a2.shape)), g2, trans_a=True).reshape(self.b_shape)
            return ga, gb
        g3 = g.reshape(_rows(self.batch + (m, n), 2))
        xp = array_module(g)
        a3 = xp.broadcast_to(a2, self.batch + a2.shape[-2:]).reshape(_rows(self.batch + a2.shape[-2:], 2))
        b3 = xp.broadcast_to(b2, self.batch + b2.shape[-2:]).reshape(_rows(self.batch + b2.shape[-2:], 2))
        if self.needs_input_grad[0]:
            ga = kern.matmul(g3, b3, trans_b=True).reshape(self.batch + a2.shape[-2:])
            ga = unbroadcast(ga, a2.shape).reshape(self.a_shape)
        if self.needs_input_grad[1]:
            gb = kern.matmul(a3, g3, trans_a=True).reshape(self.batch + b2.shape[-2:])
            gb = unbroadcast(gb, b2.shape).reshape(self.b_shape)
        return ga, gb
