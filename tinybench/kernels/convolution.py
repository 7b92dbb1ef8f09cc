"""Forward convolutions (Numba twins of ``firmware/kernels/src/Convolution/``).

Layouts: activations HWC int8, weights OHWI int8 split into a trained part ``w_train``
(the first ``k_train`` input channels, or for depthwise the first ``k_train`` channels)
and a frozen part ``w_frozen`` (the rest). All arrays are flat (1-D, C order); a mask
that is not wanted is an empty uint8 array (NULL in C). See docs/kernels.md.
"""

from __future__ import annotations

from numba import njit

from tinybench.kernels.support import (
    tb_nn_dot_s8,
    tb_nn_mask_flush,
    tb_nn_output_s8,
    tb_nn_store_s8,
    tb_nn_window_sum,
)


@njit(cache=True)
def tb_conv_fwd_s8(x, h_in, w_in, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out,
                   kernel, stride, mult, shift, y_zero, y, mask):
    """Dense k x k convolution (groups = 1), padding k // 2, stride 1 or 2."""
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    k_frozen = c_in - k_train
    kk = kernel * kernel
    i = 0
    bits = 0
    for oy in range(h_out):
        for ox in range(w_out):
            for c in range(c_out):
                acc = (tb_nn_window_sum(x, h_in, w_in, c_in, 0, x_zero, w_train, c * kk * k_train,
                                        k_train, kernel, stride, oy, ox)
                       + tb_nn_window_sum(x, h_in, w_in, c_in, k_train, x_zero, w_frozen,
                                          c * kk * k_frozen, k_frozen, kernel, stride, oy, ox))
                v = tb_nn_output_s8(acc, bias[c], mult[c], shift[c], y_zero)
                bits = tb_nn_store_s8(y, mask, i, bits, v)
                i += 1
    tb_nn_mask_flush(mask, i, bits)


@njit(cache=True)
def tb_depthwise_fwd_s8(x, h_in, w_in, c, x_zero, w_train, w_frozen, k_train, bias,
                        kernel, stride, mult, shift, y_zero, y, mask):
    """Depthwise k x k convolution (groups = C), padding k // 2, stride 1 or 2."""
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    kk = kernel * kernel
    i = 0
    bits = 0
    for oy in range(h_out):
        for ox in range(w_out):
            for ch in range(c):
                if ch < k_train:
                    acc = tb_nn_window_sum(x, h_in, w_in, c, ch, x_zero, w_train, ch * kk, 1,
                                           kernel, stride, oy, ox)
                else:
                    acc = tb_nn_window_sum(x, h_in, w_in, c, ch, x_zero, w_frozen, (ch - k_train) * kk,
                                           1, kernel, stride, oy, ox)
                v = tb_nn_output_s8(acc, bias[ch], mult[ch], shift[ch], y_zero)
                bits = tb_nn_store_s8(y, mask, i, bits, v)
                i += 1
    tb_nn_mask_flush(mask, i, bits)


@njit(cache=True)
def tb_pointwise_fwd_s8(x, h, w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out,
                        mult, shift, y_zero, y, mask):
    """1x1 convolution, stride 1 (the classifier is this with h = w = 1)."""
    k_frozen = c_in - k_train
    i = 0
    bits = 0
    for pos in range(h * w):
        xb = pos * c_in
        for c in range(c_out):
            acc = (tb_nn_dot_s8(x, xb, x_zero, w_train, c * k_train, k_train)
                   + tb_nn_dot_s8(x, xb + k_train, x_zero, w_frozen, c * k_frozen, k_frozen))
            v = tb_nn_output_s8(acc, bias[c], mult[c], shift[c], y_zero)
            bits = tb_nn_store_s8(y, mask, i, bits, v)
            i += 1
    tb_nn_mask_flush(mask, i, bits)
