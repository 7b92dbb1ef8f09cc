"""Global average pool (Numba twins of ``firmware/kernels/src/Pooling/``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from tinybench.kernels.support import tb_nn_floor_div, tb_nn_grad_shift, tb_nn_range_add, tb_nn_round_shift

#: The backward multiplies by ``round(2**AVGPOOL_RECIP_BITS / (h*w))``.
AVGPOOL_RECIP_BITS = 23


@njit(cache=True)
def tb_avgpool_fwd_s8(x, h, w, c, zero, y):
    """``y[c] = zero + floor((2*S + hw) / (2*hw))``, S = sum over positions of x - zero.

    Every value fits int32 for h * w <= 2**22 (|2*S + hw| <= 511 * hw).
    """
    hw = h * w
    for ch in range(c):
        acc = 0
        for pos in range(hw):
            acc += x[pos * c + ch] - zero
        y[ch] = zero + tb_nn_floor_div(2 * acc + hw, 2 * hw)


@njit(cache=True)
def tb_avgpool_bwd_s8(grad, e_grad, h, w, c, grad_in):
    """Spread grad[c] / (h*w) over every position, int8 with a fresh exponent.

    acc[c] = grad[c] * K, K = floor((2**23 + hw // 2) / hw), exponent e_grad - 23; then
    the runtime shift rule. Returns the exponent of ``grad_in`` [h, w, c].
    """
    hw = h * w
    recip = ((1 << AVGPOOL_RECIP_BITS) + hw // 2) // hw
    rng = np.zeros(2, np.int64)
    n_shift = 0
    for p in range(2):
        if p == 1:
            n_shift = tb_nn_grad_shift(rng)
        for ch in range(c):
            acc = np.int64(grad[ch]) * recip
            if p == 0:
                tb_nn_range_add(rng, acc)
            else:
                g = tb_nn_round_shift(acc, n_shift)
                for pos in range(hw):
                    grad_in[pos * c + ch] = g
    return e_grad - AVGPOOL_RECIP_BITS + n_shift
