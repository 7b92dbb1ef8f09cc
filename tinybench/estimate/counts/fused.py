"""Count twin of the fused pointwise -> depthwise forward (``tb_pwdw_fwd_s8.c``)."""

from __future__ import annotations

from tinybench.estimate.counts.convolution import WINDOW_FEATURES, window_counts
from tinybench.estimate.counts.geometry import clamp_counts, mask_bits, out_size

PWDW_FWD_FEATURES = ("calls", "mask_zero_bytes", "channels", "plane_positions", "plane_dot_iterations",
                     "plane_sat_below", "plane_sat_above", "rows_out", "positions") + WINDOW_FEATURES \
    + ("sat_below", "sat_above", "outputs_masked", "mask_sets")


def tb_pwdw_fwd_s8(x, h_in, w_in, c_in, x_zero, pw_w, pw_bias, pw_mult, pw_shift, mid_zero, c_mid, plane, dw_w,
                   dw_bias, kernel, stride, dw_mult, dw_shift, y_zero, y, mask, *, probe):
    """Per channel: one plane of pointwise outputs (a dot over c_in each, saturated), then
    the depthwise windows on it; the mask is cleared first and set where the output fits.
    ``probe`` = (plane values and clamp mask of every channel, outputs and their clamp mask)."""
    mid_y, mid_mask, out_y, out_mask = probe
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    n = h_out * w_out * c_mid
    has_mask = mask.size > 0
    fits = n - int((~mask_bits(out_mask, n)).sum())
    return ([1, ((n + 7) // 8) * has_mask, c_mid, c_mid * h_in * w_in, c_mid * h_in * w_in * c_in,
             *clamp_counts(mid_y, ~mask_bits(mid_mask, mid_y.size)), c_mid * h_out, n,
             *window_counts(c_mid, h_in, w_in, kernel, stride),
             *clamp_counts(out_y, ~mask_bits(out_mask, n)), n * has_mask, fits * has_mask])
