"""SGD parameter updates (Numba twins of ``firmware/kernels/src/Update/``).

The step of one parameter is ``delta = tb_nn_sgd_delta(G, mult[c], shift[c], e_grad)``:
the gradient sum ``G`` times the host-folded factor ``mult[c] * 2**-shift[c]`` (learning
rate, scales and QAS, see :func:`tinybench.kernels.host.sgd_multipliers`) times the runtime
``2**e_grad`` of the layer's output gradient, rounded half up and saturated to int32. Then
``w = sat_s8(w - delta)`` and ``b = sat_s32(b - delta)`` (``tb_nn_sgd_step_s8`` and
``tb_nn_sgd_step_s32``).

The unfused form takes the gradients from an int32 buffer filled by a ``*_bwd_weight_s32``
kernel; the fused ``*_bwd_weight_sgd_s8`` kernels compute each gradient sum with the same
helpers as those kernels (``tb_nn_bias_grad_sum``, ``tb_nn_weight_grad_sum``,
``tb_nn_pointwise_weight_grad_sum``) and apply
the step at once, with no gradient buffer, so both forms give identical parameters.
"""

from __future__ import annotations

from numba import njit

from tinybench.kernels.support import (
    tb_nn_bias_grad_sum,
    tb_nn_pointwise_weight_grad_sum,
    tb_nn_sgd_step_s8,
    tb_nn_sgd_step_s32,
    tb_nn_weight_grad_sum,
)


@njit(cache=True)
def tb_sgd_update_s8(w, grad_w, rows, row_len, mult, shift, e_grad):
    """``w[r, j] = sat_s8(w[r, j] - delta(grad_w[r, j], mult[r], shift[r], e_grad))``."""
    for r in range(rows):
        for j in range(row_len):
            i = r * row_len + j
            w[i] = tb_nn_sgd_step_s8(w[i], grad_w[i], mult[r], shift[r], e_grad)


@njit(cache=True)
def tb_sgd_update_s32(b, grad_b, n, mult, shift, e_grad):
    """``b[c] = sat_s32(b[c] - delta(grad_b[c], mult[c], shift[c], e_grad))``."""
    for c in range(n):
        b[c] = tb_nn_sgd_step_s32(b[c], grad_b[c], mult[c], shift[c], e_grad)


@njit(cache=True)
def tb_conv_bwd_weight_sgd_s8(grad, mask, x_saved, h_in, w_in, k_train, x_zero, c_out, kernel,
                              stride, e_grad, w_train, w_mult, w_shift, bias, b_mult, b_shift):
    """Fused weight/bias gradient and SGD step of a dense convolution (in place)."""
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    for c in range(c_out):
        gsum = tb_nn_bias_grad_sum(grad, mask, h_out * w_out, c_out, c)
        bias[c] = tb_nn_sgd_step_s32(bias[c], gsum, b_mult[c], b_shift[c], e_grad)
        for ky in range(kernel):
            for kx in range(kernel):
                for ci in range(k_train):
                    acc = tb_nn_weight_grad_sum(grad, mask, x_saved, h_in, w_in, k_train, x_zero, c_out,
                                                kernel, stride, c, ky, kx, ci)
                    wi = ((c * kernel + ky) * kernel + kx) * k_train + ci
                    w_train[wi] = tb_nn_sgd_step_s8(w_train[wi], acc, w_mult[c], w_shift[c], e_grad)


@njit(cache=True)
def tb_depthwise_bwd_weight_sgd_s8(grad, mask, x_saved, h_in, w_in, c, k_train, x_zero, kernel,
                                   stride, e_grad, w_train, w_mult, w_shift, bias, b_mult, b_shift):
    """Fused weight/bias gradient and SGD step of a depthwise convolution (in place)."""
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    for ch in range(c):
        gsum = tb_nn_bias_grad_sum(grad, mask, h_out * w_out, c, ch)
        bias[ch] = tb_nn_sgd_step_s32(bias[ch], gsum, b_mult[ch], b_shift[ch], e_grad)
        if ch >= k_train:
            continue
        for ky in range(kernel):
            for kx in range(kernel):
                acc = tb_nn_weight_grad_sum(grad, mask, x_saved, h_in, w_in, k_train, x_zero, c,
                                            kernel, stride, ch, ky, kx, ch)
                wi = (ch * kernel + ky) * kernel + kx
                w_train[wi] = tb_nn_sgd_step_s8(w_train[wi], acc, w_mult[ch], w_shift[ch], e_grad)


@njit(cache=True)
def tb_pointwise_bwd_weight_sgd_s8(grad, mask, x_saved, h, w, k_train, x_zero, c_out, e_grad,
                                   w_train, w_mult, w_shift, bias, b_mult, b_shift):
    """Fused weight/bias gradient and SGD step of a 1x1 convolution (in place)."""
    for c in range(c_out):
        gsum = tb_nn_bias_grad_sum(grad, mask, h * w, c_out, c)
        bias[c] = tb_nn_sgd_step_s32(bias[c], gsum, b_mult[c], b_shift[c], e_grad)
        for ci in range(k_train):
            acc = tb_nn_pointwise_weight_grad_sum(grad, mask, x_saved, h * w, k_train, x_zero,
                                                  c_out, c, ci)
            wi = c * k_train + ci
            w_train[wi] = tb_nn_sgd_step_s8(w_train[wi], acc, w_mult[c], w_shift[c], e_grad)
