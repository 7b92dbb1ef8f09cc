"""Backward convolutions (Numba twins of ``firmware/kernels/src/ConvolutionBackward/``).

Input gradients (``*_bwd_input_s8``): the layer's output gradient ``grad`` (int8, exponent
``e_grad``) is masked with the layer's clamp ``mask``, multiplied by the transposed
weights and the per-output-channel factor ``w_factor[c] = round(w_scale[c] * 2**-w_exp)``
(Q15 of w_scale / 2**ceil(log2 max w_scale), host-built by
:func:`tinybench.kernels.host.input_grad_factors`), accumulated in int64, and written as
int8 with a runtime shift chosen in a first pass over the same accumulators (no
accumulator tensor is stored). Each returns the exponent of ``grad_in``:
``e_grad + w_exp + n``.

Weight gradients (``*_bwd_weight_s32``): int32 sums over the output positions of the
masked output gradient times the saved input (first ``k_train`` channels, HWk) minus its
zero point, plus the bias gradient (sum of the masked output gradient).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tinybench.kernels.support import (
    tb_nn_bias_grad_sum,
    tb_nn_grad_shift,
    tb_nn_input_grad_sum,
    tb_nn_mask_get,
    tb_nn_pointwise_weight_grad_sum,
    tb_nn_range_add,
    tb_nn_round_shift,
    tb_nn_tap_output,
    tb_nn_weight_grad_sum,
)


@njit(cache=True)
def tb_conv_bwd_input_s8(grad, e_grad, mask, h_in, w_in, c_in, w_train, w_frozen, k_train,
                         c_out, kernel, stride, w_factor, w_exp, grad_in):
    """Input gradient of a dense k x k convolution (transposed conv, gathered per input)."""
    pad = kernel // 2
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    rng = np.zeros(2, np.int64)
    n_shift = 0
    for p in range(2):
        if p == 1:
            n_shift = tb_nn_grad_shift(rng)
        for iy in range(h_in):
            for ix in range(w_in):
                for ci in range(c_in):
                    acc = np.int64(0)
                    for ky in range(kernel):
                        oy = tb_nn_tap_output(iy, ky, pad, stride, h_out)
                        if oy < 0:
                            continue
                        for kx in range(kernel):
                            ox = tb_nn_tap_output(ix, kx, pad, stride, w_out)
                            if ox < 0:
                                continue
                            acc += tb_nn_input_grad_sum(grad, mask, (oy * w_out + ox) * c_out, c_out, w_factor,
                                                        w_train, w_frozen, k_train, c_in, kernel * kernel,
                                                        ky * kernel + kx, ci)
                    if p == 0:
                        tb_nn_range_add(rng, acc)
                    else:
                        grad_in[(iy * w_in + ix) * c_in + ci] = tb_nn_round_shift(acc, n_shift)
    return e_grad + w_exp + n_shift


@njit(cache=True)
def depthwise_input_acc(grad, mask, iy, ix, ch, c, w_train, w_frozen, k_train, kernel, stride, h_out, w_out,
                        w_factor):
    """The int64 accumulator of input-gradient element (iy, ix, ch): its taps' masked gradients
    times the filter, in int32, times the channel's factor (the estimator's probe needs it too)."""
    pad = kernel // 2
    acc32 = 0
    for ky in range(kernel):
        oy = tb_nn_tap_output(iy, ky, pad, stride, h_out)
        if oy < 0:
            continue
        for kx in range(kernel):
            ox = tb_nn_tap_output(ix, kx, pad, stride, w_out)
            if ox < 0:
                continue
            gi = (oy * w_out + ox) * c + ch
            if tb_nn_mask_get(mask, gi) == 0:
                continue
            if ch < k_train:
                wv = w_train[(ch * kernel + ky) * kernel + kx]
            else:
                wv = w_frozen[((ch - k_train) * kernel + ky) * kernel + kx]
            acc32 += grad[gi] * wv
    return np.int64(acc32) * w_factor[ch]


@njit(cache=True)
def tb_depthwise_bwd_input_s8(grad, e_grad, mask, h_in, w_in, c, w_train, w_frozen, k_train,
                              kernel, stride, w_factor, w_exp, grad_in):
    """Input gradient of a depthwise k x k convolution."""
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    rng = np.zeros(2, np.int64)
    n_shift = 0
    for p in range(2):
        if p == 1:
            n_shift = tb_nn_grad_shift(rng)
        for iy in range(h_in):
            for ix in range(w_in):
                for ch in range(c):
                    acc = depthwise_input_acc(grad, mask, iy, ix, ch, c, w_train, w_frozen, k_train, kernel,
                                              stride, h_out, w_out, w_factor)
                    if p == 0:
                        tb_nn_range_add(rng, acc)
                    else:
                        grad_in[(iy * w_in + ix) * c + ch] = tb_nn_round_shift(acc, n_shift)
    return e_grad + w_exp + n_shift


@njit(cache=True)
def tb_pointwise_bwd_input_s8(grad, e_grad, mask, h, w, c_in, w_train, w_frozen, k_train,
                              c_out, w_factor, w_exp, grad_in):
    """Input gradient of a 1x1 convolution (the classifier: h = w = 1)."""
    rng = np.zeros(2, np.int64)
    n_shift = 0
    for p in range(2):
        if p == 1:
            n_shift = tb_nn_grad_shift(rng)
        for pos in range(h * w):
            gb = pos * c_out
            for ci in range(c_in):
                acc = tb_nn_input_grad_sum(grad, mask, gb, c_out, w_factor, w_train, w_frozen, k_train, c_in,
                                           1, 0, ci)
                if p == 0:
                    tb_nn_range_add(rng, acc)
                else:
                    grad_in[pos * c_in + ci] = tb_nn_round_shift(acc, n_shift)
    return e_grad + w_exp + n_shift


@njit(cache=True)
def tb_conv_bwd_weight_s32(grad, mask, x_saved, h_in, w_in, k_train, x_zero, c_out, kernel,
                           stride, grad_w, grad_b):
    """grad_w [c_out, k, k, k_train] and grad_b [c_out] of a dense convolution."""
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    for c in range(c_out):
        grad_b[c] = tb_nn_bias_grad_sum(grad, mask, h_out * w_out, c_out, c)
        for ky in range(kernel):
            for kx in range(kernel):
                for ci in range(k_train):
                    grad_w[((c * kernel + ky) * kernel + kx) * k_train + ci] = \
                        tb_nn_weight_grad_sum(grad, mask, x_saved, h_in, w_in, k_train, x_zero,
                                              c_out, kernel, stride, c, ky, kx, ci)


@njit(cache=True)
def tb_depthwise_bwd_weight_s32(grad, mask, x_saved, h_in, w_in, c, k_train, x_zero, kernel,
                                stride, grad_w, grad_b):
    """grad_w [k_train, k, k] (channels [0, k_train)) and grad_b [c] of a depthwise conv."""
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    for ch in range(c):
        grad_b[ch] = tb_nn_bias_grad_sum(grad, mask, h_out * w_out, c, ch)
        if ch >= k_train:
            continue
        for ky in range(kernel):
            for kx in range(kernel):
                grad_w[(ch * kernel + ky) * kernel + kx] = \
                    tb_nn_weight_grad_sum(grad, mask, x_saved, h_in, w_in, k_train, x_zero, c,
                                          kernel, stride, ch, ky, kx, ch)


@njit(cache=True)
def tb_pointwise_bwd_weight_s32(grad, mask, x_saved, h, w, k_train, x_zero, c_out, grad_w,
                                grad_b):
    """grad_w [c_out, k_train] and grad_b [c_out] of a 1x1 convolution."""
    for c in range(c_out):
        grad_b[c] = tb_nn_bias_grad_sum(grad, mask, h * w, c_out, c)
        for ci in range(k_train):
            grad_w[c * k_train + ci] = tb_nn_pointwise_weight_grad_sum(
                grad, mask, x_saved, h * w, k_train, x_zero, c_out, c, ci)
