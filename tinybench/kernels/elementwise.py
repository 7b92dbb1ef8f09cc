"""Residual add and gradient sums (Numba twins of ``firmware/kernels/src/Elementwise/``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from tinybench.kernels.support import (
    tb_nn_grad_shift,
    tb_nn_mask_flush,
    tb_nn_mask_get,
    tb_nn_range_add,
    tb_nn_round_shift,
    tb_nn_store_s8,
)


@njit(cache=True)
def tb_add_fwd_s8(a, a_zero, b, b_zero, n, mult_a, mult_b, shift, y_zero, y, mask):
    """``y = sat_s8(y_zero + (((a-za)*ma + (b-zb)*mb + 2**(s-1)) >> s))`` with its mask."""
    rnd = np.int64(1) << np.int64(shift - 1)
    bits = 0
    for i in range(n):
        acc = (np.int64(a[i] - a_zero) * mult_a + np.int64(b[i] - b_zero) * mult_b + rnd) >> shift
        bits = tb_nn_store_s8(y, mask, i, bits, acc + y_zero)
    tb_nn_mask_flush(mask, n, bits)


@njit(cache=True)
def tb_add_bwd_s8(grad, e_grad, mask, n, grad_in):
    """Gradient of the residual add: the masked output gradient, for both inputs.

    ``grad_in`` may be ``grad`` (in place). The exponent is unchanged and returned.
    """
    for i in range(n):
        grad_in[i] = grad[i] if tb_nn_mask_get(mask, i) else 0
    return e_grad


@njit(cache=True)
def tb_grad_sum_bwd_s8(a, e_a, b, e_b, n, out):
    """``out * 2**e = a * 2**e_a + b * 2**e_b``, aligned to the larger exponent.

    The operand with the smaller exponent is round-shifted right by the difference, the
    sum (in [-256, 254]) then gets the runtime shift rule. ``out`` may be ``a`` or ``b``.
    """
    e_big = e_a if e_a > e_b else e_b
    d_a = e_big - e_a
    d_b = e_big - e_b
    if d_a > 31:
        d_a = 31
    if d_b > 31:
        d_b = 31
    rng = np.zeros(2, np.int64)
    n_shift = 0
    for p in range(2):
        if p == 1:
            n_shift = tb_nn_grad_shift(rng)
        for i in range(n):
            acc = tb_nn_round_shift(a[i], d_a) + tb_nn_round_shift(b[i], d_b)
            if p == 0:
                tb_nn_range_add(rng, acc)
            else:
                out[i] = tb_nn_round_shift(acc, n_shift)
    return e_big + n_shift


@njit(cache=True)
def tb_channel_copy_fwd_s8(x, positions, c, k, y):
    """The first ``k`` channels of an HWC tensor ``x`` [positions, c] into ``y`` [positions, k]."""
    for pos in range(positions):
        for ch in range(k):
            y[pos * k + ch] = x[pos * c + ch]
