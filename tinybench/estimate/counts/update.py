"""Count twins of the SGD updates (``firmware/kernels/src/Update/``).

The step of one parameter (``tb_nn_sgd_delta``, then the saturating subtraction) takes one of
several paths decided by the data: a zero product returns at once, an effective shift above 62
too, shifts in [1, 62] round right, shifts <= 0 shift left (clamped at 31), and each of the
saturations may fire. :func:`sgd_paths` counts them with the kernels' own helpers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tinybench.estimate.counts.convolution_backward import WEIGHT_GRAD_FEATURES, weight_grad_features
from tinybench.kernels.support import INT32_MAX, INT32_MIN, tb_nn_sgd_delta

#: Paths of one SGD step, in the order sgd_paths counts them.
SGD_PATHS = ("zero", "far", "right", "left", "left_clamped", "delta_saturated", "saturated")


@njit(cache=True)
def _sgd_paths(params, grads, rows, row_len, mult, shift, e_grad, lo, hi):
    """Path counts of ``params[r * row_len + j] -= delta(grads[...], mult[r], shift[r], e_grad)``
    (``params`` before the step), clamped to [lo, hi]."""
    counts = np.zeros(7, np.int64)
    for r in range(rows):
        s = np.int64(shift[r]) - np.int64(e_grad)
        for j in range(row_len):
            i = r * row_len + j
            prod = np.int64(grads[i]) * np.int64(mult[r])
            if prod == 0:
                counts[0] += 1
                continue
            if s > 62:
                counts[1] += 1
                continue
            if s >= 1:
                counts[2] += 1
                v = (prod + (np.int64(1) << (s - 1))) >> s
                if v < INT32_MIN or v > INT32_MAX:
                    counts[5] += 1
            else:
                counts[3] += 1
                if -s > 31:
                    counts[4] += 1
                if prod < INT32_MIN or prod > INT32_MAX:
                    counts[5] += 1
            stepped = np.int64(params[i]) - tb_nn_sgd_delta(grads[i], mult[r], shift[r], e_grad)
            if stepped < lo or stepped > hi:
                counts[6] += 1
    return counts


def sgd_paths(params, grads, rows, row_len, mult, shift, e_grad) -> list[int]:
    lo, hi = (-128, 127) if params.dtype == np.int8 else (INT32_MIN, INT32_MAX)
    return [int(v) for v in _sgd_paths(params, grads, rows, row_len, mult, shift, e_grad, lo, hi)]


def _paths(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{p}" for p in SGD_PATHS)


SGD_UPDATE_S8_FEATURES = ("calls", "rows", "elements") + _paths("step")


def tb_sgd_update_s8(w, grad_w, rows, row_len, mult, shift, e_grad, *, probe):
    """``probe`` = (the weights before the update,)."""
    return [1, rows, rows * row_len] + sgd_paths(probe[0], grad_w, rows, row_len, mult, shift, e_grad)


SGD_UPDATE_S32_FEATURES = ("calls", "elements") + _paths("step")


def tb_sgd_update_s32(b, grad_b, n, mult, shift, e_grad, *, probe):
    """``probe`` = (the biases before the update,)."""
    return [1, n] + sgd_paths(probe[0], grad_b, n, 1, mult, shift, e_grad)


FUSED_FEATURES = WEIGHT_GRAD_FEATURES + _paths("bias") + _paths("weight")


def _fused(sums, mask, h_in, w_in, channels, trained, k_per_channel, kernel, stride, e_grad, w_mult, w_shift,
           b_mult, b_shift) -> list[int]:
    """``sums`` = (weight gradient sums, bias gradient sums, weights before, biases before): the
    probe, from the matching ``*_bwd_weight_s32`` kernel on the same inputs."""
    grad_w, grad_b, w_old, b_old = sums
    return (weight_grad_features(mask, h_in, w_in, channels, trained, k_per_channel, kernel, stride)
            + sgd_paths(b_old, grad_b, channels, 1, b_mult, b_shift, e_grad)
            + sgd_paths(w_old, grad_w, trained, grad_w.size // max(trained, 1), w_mult, w_shift, e_grad))


def tb_conv_bwd_weight_sgd_s8(grad, mask, x_saved, h_in, w_in, k_train, x_zero, c_out, kernel, stride, e_grad,
                              w_train, w_mult, w_shift, bias, b_mult, b_shift, *, probe):
    return _fused(probe, mask, h_in, w_in, c_out, c_out, k_train, kernel, stride, e_grad, w_mult, w_shift, b_mult,
                  b_shift)


def tb_depthwise_bwd_weight_sgd_s8(grad, mask, x_saved, h_in, w_in, c, k_train, x_zero, kernel, stride, e_grad,
                                   w_train, w_mult, w_shift, bias, b_mult, b_shift, *, probe):
    return _fused(probe, mask, h_in, w_in, c, k_train, 1, kernel, stride, e_grad, w_mult, w_shift, b_mult, b_shift)


def tb_pointwise_bwd_weight_sgd_s8(grad, mask, x_saved, h, w, k_train, x_zero, c_out, e_grad, w_train, w_mult,
                                   w_shift, bias, b_mult, b_shift, *, probe):
    return _fused(probe, mask, h, w, c_out, c_out, k_train, 1, 1, e_grad, w_mult, w_shift, b_mult, b_shift)
