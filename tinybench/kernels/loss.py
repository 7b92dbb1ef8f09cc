"""Softmax cross-entropy gradient (Numba twin of ``firmware/kernels/src/Loss/``)."""

from __future__ import annotations

from numba import njit

#: Exponent of the logits gradient: real = g * 2**-7.
LOSS_GRAD_EXP = -7


@njit(cache=True)
def tb_softmax_ce_bwd_s8(logits, n, label, exp_table, grad):
    """``grad[c] = sat(round_half_up(128 * T[ymax - y[c]] / sum T) - 128 * [c == label])``.

    ``exp_table`` holds T[d] = round(2**16 * exp(-y_scale * d)), d = 0..255 (host-built by
    :func:`tinybench.kernels.host.softmax_exp_table`); n <= 32767. Returns -7.
    """
    ymax = -128
    for c in range(n):
        if logits[c] > ymax:
            ymax = logits[c]
    total = 0
    for c in range(n):
        total += exp_table[ymax - logits[c]]
    half = total >> 1
    for c in range(n):
        q = (128 * exp_table[ymax - logits[c]] + half) // total
        if c == label:
            q -= 128
        if q < -127:
            q = -127
        if q > 127:
            q = 127
        grad[c] = q
    return LOSS_GRAD_EXP
