"""Fused pointwise -> depthwise forward (Numba twin of ``firmware/kernels/src/Convolution/
tb_pwdw_fwd_s8.c``).

The expanded tensor of an inverted-residual block is the largest of the forward pass. When
nothing in the backward needs it, each of its channel planes is computed (pointwise, into a
``h_in * w_in`` scratch plane) and immediately consumed by the depthwise for that channel,
so the expanded tensor never exists whole. The arithmetic is exactly that of
``tb_pointwise_fwd_s8`` followed by ``tb_depthwise_fwd_s8`` (all weights frozen).
"""

from __future__ import annotations

from numba import njit

from tinybench.kernels.support import tb_nn_dot_s8, tb_nn_output_s8, tb_nn_sat_s8, tb_nn_window_sum


@njit(cache=True)
def tb_pwdw_fwd_s8(x, h_in, w_in, c_in, x_zero, pw_w, pw_bias, pw_mult, pw_shift, mid_zero, c_mid,
                   plane, dw_w, dw_bias, kernel, stride, dw_mult, dw_shift, y_zero, y, mask):
    """y [h_out, w_out, c_mid] = depthwise(pointwise(x)); ``plane`` holds h_in * w_in bytes."""
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    n = h_out * w_out * c_mid
    for b in range(mask.size):
        mask[b] = 0
    for ch in range(c_mid):
        for pos in range(h_in * w_in):
            acc = tb_nn_dot_s8(x, pos * c_in, x_zero, pw_w, ch * c_in, c_in)
            plane[pos] = tb_nn_sat_s8(tb_nn_output_s8(acc, pw_bias[ch], pw_mult[ch], pw_shift[ch], mid_zero))
        for oy in range(h_out):
            for ox in range(w_out):
                acc = tb_nn_window_sum(plane, h_in, w_in, 1, 0, mid_zero, dw_w, ch * kernel * kernel,
                                       1, kernel, stride, oy, ox)
                v = tb_nn_output_s8(acc, dw_bias[ch], dw_mult[ch], dw_shift[ch], y_zero)
                i = (oy * w_out + ox) * c_mid + ch
                y[i] = tb_nn_sat_s8(v)
                if mask.size and -128 <= v <= 127:
                    mask[i >> 3] |= 1 << (i & 7)
    return n
