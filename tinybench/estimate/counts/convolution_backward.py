"""Count twins of the backward convolutions (``firmware/kernels/src/ConvolutionBackward/``).

Input gradients gather, for every input element, the taps of the transposed convolution
(``tb_nn_tap_output``: four outcomes, tested in order) and, per valid tap, loop over the output
channels (``tb_nn_input_grad_sum``), where a clear mask bit skips the multiply: the data-dependent
part, counted from the mask. Both passes of the runtime shift rule run the whole loop nest.
Weight gradients loop over the output positions per weight (``tb_nn_weight_grad_sum``); their
mask tests are counted the same way.
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.elementwise import SHIFT_RULE_FEATURES, shift_rule_features
from tinybench.estimate.counts.geometry import mask_bits, out_size, tap_outcomes, window_rows

PASSES = 2


def _popcount(mask: np.ndarray, positions: int, channels: int) -> np.ndarray:
    """Set mask bits per output position (all channels set for an empty mask)."""
    return mask_bits(mask, positions * channels).reshape(positions, channels).sum(axis=1)


def _reach(h_in: int, w_in: int, kernel: int, stride: int) -> np.ndarray:
    """For each output position, the taps of its window inside the input: how many input
    elements' transposed gathers reach it (flattened like the output's positions)."""
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    return np.outer(window_rows(h_in, h_out, kernel, stride)[0], window_rows(w_in, w_out, kernel, stride)[0]).ravel()


#: The transposed gather of one pass, split where the C code's paths split.
GATHER_FEATURES = ("rows_in", "positions_in", "elements", "ky", "ky_negative", "ky_odd", "ky_over", "kx",
                   "kx_negative", "kx_odd", "kx_over", "taps_train", "taps_frozen", "channels_train",
                   "channels_frozen", "channels_masked", "passed_train", "passed_frozen")


def _gather(h_in, w_in, c_in, k_train, channels, kernel, stride, passed_per_position) -> list[int]:
    """Counts of ``iy, ix, ci, ky (tap), kx (tap), c`` loops for ``c_in`` input channels of which
    the first ``k_train`` read the trained weights; ``channels`` is the inner loop's length per
    tap (c_out, or 1 for depthwise); ``passed_per_position`` the set mask bits at each output
    position, for each input channel class (train, frozen)."""
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    oy, vy = tap_outcomes(h_in, h_out, kernel, stride)
    ox, vx = tap_outcomes(w_in, w_out, kernel, stride)
    valid_rows = int(vy.sum())
    taps = valid_rows * int(vx.sum())
    k_frozen = c_in - k_train
    return [h_in, h_in * w_in, h_in * w_in * c_in, h_in * w_in * c_in * kernel, *(int(v) * w_in * c_in for v in oy[:3]),
            valid_rows * w_in * c_in * kernel, *(valid_rows * int(v) * c_in for v in ox[:3]),
            taps * k_train, taps * k_frozen, taps * k_train * channels, taps * k_frozen * channels,
            0, *passed_per_position]


CONV_BWD_INPUT_FEATURES = ("calls",) + GATHER_FEATURES + SHIFT_RULE_FEATURES


def _bwd_input(gather: list[int], has_mask: bool, elements: int, n_shift: int) -> list[int]:
    counts = [PASSES * v for v in gather]
    counts[GATHER_FEATURES.index("channels_masked")] = (counts[GATHER_FEATURES.index("channels_train")]
                                                        + counts[GATHER_FEATURES.index("channels_frozen")]) * has_mask
    return [1] + counts + shift_rule_features(elements, None, n_shift)


def tb_conv_bwd_input_s8(grad, e_grad, mask, h_in, w_in, c_in, w_train, w_frozen, k_train, c_out, kernel, stride,
                         w_factor, w_exp, grad_in, *, probe):
    """``probe`` = (n_shift,)."""
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    passed = int((_popcount(mask, h_out * w_out, c_out) * _reach(h_in, w_in, kernel, stride)).sum())
    gather = _gather(h_in, w_in, c_in, k_train, c_out, kernel, stride, (passed * k_train, passed * (c_in - k_train)))
    return _bwd_input(gather, mask.size > 0, h_in * w_in * c_in, *probe)


DEPTHWISE_BWD_INPUT_FEATURES = CONV_BWD_INPUT_FEATURES


def tb_depthwise_bwd_input_s8(grad, e_grad, mask, h_in, w_in, c, w_train, w_frozen, k_train, kernel, stride,
                              w_factor, w_exp, grad_in, *, probe):
    """One channel per element (``channels`` = 1): the mask bit of that channel at each reached
    output position decides. ``probe`` = (n_shift, the accumulators), of which only n_shift counts
    here."""
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    bits = mask_bits(mask, h_out * w_out * c).reshape(h_out * w_out, c)
    reach = _reach(h_in, w_in, kernel, stride)[:, None]
    passed = (bits * reach).sum(axis=0)
    gather = _gather(h_in, w_in, c, k_train, 1, kernel, stride, (int(passed[:k_train].sum()),
                                                                   int(passed[k_train:].sum())))
    return _bwd_input(gather, mask.size > 0, h_in * w_in * c, probe[0])


POINTWISE_BWD_INPUT_FEATURES = ("calls", "positions", "elements_train", "elements_frozen", "channels_train",
                                "channels_frozen", "channels_masked", "passed_train", "passed_frozen") \
    + SHIFT_RULE_FEATURES


def tb_pointwise_bwd_input_s8(grad, e_grad, mask, h, w, c_in, w_train, w_frozen, k_train, c_out, w_factor, w_exp,
                              grad_in, *, probe):
    positions = h * w
    k_frozen = c_in - k_train
    passed = int(_popcount(mask, positions, c_out).sum())
    counts = [positions, positions * k_train, positions * k_frozen, positions * k_train * c_out,
              positions * k_frozen * c_out, positions * c_in * c_out * (mask.size > 0), passed * k_train,
              passed * k_frozen]
    return [1] + [PASSES * v for v in counts] + shift_rule_features(positions * c_in, None, probe[0])


#: The bias and weight gradient sums of a layer, as tb_nn_bias_grad_sum and
#: tb_nn_weight_grad_sum loop: per channel over the positions; per weight over the output rows,
#: the rows inside the input, their columns, the taps inside the input (a mask test each).
WEIGHT_GRAD_FEATURES = ("calls", "channels", "bias_positions", "bias_masked", "bias_passed", "ky", "kx", "ky_summing",
                        "kx_summing", "weights", "weight_rows", "weight_rows_before", "weight_rows_after",
                        "weight_columns", "weight_columns_before", "weight_columns_after", "weight_taps",
                        "weight_taps_masked", "weight_passed")


def weight_grad_features(mask, h_in, w_in, channels, trained, k_per_channel, kernel, stride) -> list[int]:
    """``channels`` output channels (bias sums, and the ky/kx loops of a dense layer);
    ``trained`` of them with ``k_per_channel`` weights per tap (dense: all channels, k_train
    each; depthwise: the first k_train channels, one each, and only they run the ky/kx loops).
    The weight sums of channel c test the mask bits of channel c."""
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    positions = h_out * w_out
    has_mask = mask.size > 0
    bits = mask_bits(mask, positions * channels).reshape(positions, channels)
    (vr, r_before, r_after), (vc, c_before, c_after) = (window_rows(h_in, h_out, kernel, stride),
                                                        window_rows(w_in, w_out, kernel, stride))
    per_row_tap = trained * k_per_channel * kernel  # weight sums per ky (one per kx and ci)
    rows_valid = per_row_tap * int(vr.sum())
    per_column = trained * k_per_channel * int(vr.sum())  # valid rows per kx, over the weights
    taps = per_column * int(vc.sum())
    passed = k_per_channel * int((bits[:, :trained].sum(axis=1) * np.outer(vr, vc).ravel()).sum())
    return [1, channels, channels * positions, channels * positions * has_mask, int(bits.sum()),
            trained * kernel, trained * kernel * kernel, trained * kernel * (k_per_channel > 0),
            trained * kernel * kernel * (k_per_channel > 0), per_row_tap * kernel, per_row_tap * kernel * h_out,
            per_row_tap * r_before, per_row_tap * r_after, rows_valid * w_out, per_column * c_before,
            per_column * c_after, taps, taps * has_mask, passed]


def tb_conv_bwd_weight_s32(grad, mask, x_saved, h_in, w_in, k_train, x_zero, c_out, kernel, stride, grad_w,
                           grad_b, *, probe=None):
    return weight_grad_features(mask, h_in, w_in, c_out, c_out, k_train, kernel, stride)


def tb_depthwise_bwd_weight_s32(grad, mask, x_saved, h_in, w_in, c, k_train, x_zero, kernel, stride, grad_w,
                                grad_b, *, probe=None):
    return weight_grad_features(mask, h_in, w_in, c, k_train, 1, kernel, stride)


def tb_pointwise_bwd_weight_s32(grad, mask, x_saved, h, w, k_train, x_zero, c_out, grad_w, grad_b, *, probe=None):
    return weight_grad_features(mask, h, w, c_out, c_out, k_train, 1, 1)
