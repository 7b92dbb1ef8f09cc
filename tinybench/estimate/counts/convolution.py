"""Count twins of the forward convolutions (``firmware/kernels/src/Convolution/``).

Each twin has its kernel's name and parameters (plus the ``probe``: the outputs and clamp mask
of a run of the Numba kernel on the same inputs, see :mod:`tinybench.estimate.probes`) and
returns what the kernel's loops execute, one number per name in its ``FEATURES``: trip counts of
each loop level of the C code (``tb_nn_window_sum`` per weight part, ``tb_nn_dot_s8``) and the
data-dependent paths (an output that saturates low or high).
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import STORE_FEATURES, out_size, store_features, window_rows

#: The loops of tb_nn_window_sum: ky iterations, rows above / below the input, kx iterations on
#: the rows inside, columns left / right of the input, taps inside (one tb_nn_dot_s8 each).
WINDOW_FEATURES = ("ky", "rows_before", "rows_after", "kx", "columns_before", "columns_after", "taps")


def window_counts(channels: int, h_in: int, w_in: int, kernel: int, stride: int) -> list[int]:
    """:data:`WINDOW_FEATURES` at every output position, for ``channels`` output channels."""
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    vy, y_before, y_after = window_rows(h_in, h_out, kernel, stride)
    vx, x_before, x_after = window_rows(w_in, w_out, kernel, stride)
    rows, cols = int(vy.sum()), int(vx.sum())
    return [channels * h_out * w_out * kernel, channels * y_before * w_out, channels * y_after * w_out,
            channels * rows * w_out * kernel, channels * rows * x_before, channels * rows * x_after,
            channels * rows * cols]


def _part(prefix: str, features: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}_{f}" for f in features)


#: One weight part of a dense convolution: windows that return at once (n == 0), the window
#: loops, the dot's iterations (n per tap).
DENSE_PART = ("empty",) + WINDOW_FEATURES + ("dot",)


def dense_part(outputs: int, n: int, c_out: int, h_in: int, w_in: int, kernel: int, stride: int) -> list[int]:
    if n == 0:
        return [outputs] + [0] * (len(DENSE_PART) - 1)
    counts = window_counts(c_out, h_in, w_in, kernel, stride)
    return [0, *counts, counts[-1] * n]


CONV_FWD_FEATURES = ("calls", "rows_out", "positions", "outputs") + _part("train", DENSE_PART) \
    + _part("frozen", DENSE_PART) + STORE_FEATURES


def tb_conv_fwd_s8(x, h_in, w_in, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, kernel, stride, mult,
                   shift, y_zero, y, mask, *, probe):
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    outputs = h_out * w_out * c_out
    geometry = (c_out, h_in, w_in, kernel, stride)
    return ([1, h_out, h_out * w_out, outputs]
            + dense_part(outputs, k_train, *geometry) + dense_part(outputs, c_in - k_train, *geometry)
            + store_features(outputs, mask.size > 0, *probe))


#: One filter part of a depthwise convolution: its outputs and their windows (one channel, n = 1).
DEPTHWISE_PART = ("outputs",) + WINDOW_FEATURES

DEPTHWISE_FWD_FEATURES = ("calls", "rows_out", "positions", "outputs") + _part("train", DEPTHWISE_PART) \
    + _part("frozen", DEPTHWISE_PART) + STORE_FEATURES


def tb_depthwise_fwd_s8(x, h_in, w_in, c, x_zero, w_train, w_frozen, k_train, bias, kernel, stride, mult, shift,
                        y_zero, y, mask, *, probe):
    """Channels below k_train take the trained filters, the rest the frozen ones."""
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    positions = h_out * w_out

    def part(channels: int) -> list[int]:
        return [positions * channels] + window_counts(channels, h_in, w_in, kernel, stride)

    return ([1, h_out, positions, positions * c] + part(k_train) + part(c - k_train)
            + store_features(positions * c, mask.size > 0, *probe))


POINTWISE_FWD_FEATURES = ("calls", "positions", "outputs", "dot_train", "dot_train_iterations", "dot_frozen",
                          "dot_frozen_iterations") + STORE_FEATURES


def tb_pointwise_fwd_s8(x, h, w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y,
                        mask, *, probe):
    """Two ``tb_nn_dot_s8`` per output (trained and frozen input channels), the store."""
    outputs = h * w * c_out
    k_frozen = c_in - k_train
    return ([1, h * w, outputs, outputs * (k_train > 0), outputs * k_train, outputs * (k_frozen > 0),
             outputs * k_frozen] + store_features(outputs, mask.size > 0, *probe))
