"""Shared counting helpers of the twins: window geometry and what the data decides.

Every function here counts; none computes a kernel's arithmetic. The window helpers follow the
loops of ``tb_nn_window_sum`` and ``tb_nn_tap_output`` (firmware/kernels/include/Internal/
tb_nn_support.h): which taps of a k x k window, padding k // 2, fall inside the input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Outcomes of ``tb_nn_tap_output`` in the order the C tests them (``||`` short-circuits).
TAP_NEGATIVE, TAP_ODD, TAP_OVER, TAP_VALID = range(4)


@njit(cache=True)
def window_rows(n_in, n_out, kernel, stride):
    """The forward window's rows (or columns) ``i = o * stride - k // 2 + k``: for each output
    index o the taps inside [0, n_in), and the totals of taps below 0 and at or above n_in (the
    C code tests ``i < 0`` first, then ``i >= n_in``: two different paths)."""
    pad = kernel // 2
    valid = np.zeros(n_out, np.int64)
    below = 0
    above = 0
    for o in range(n_out):
        for k in range(kernel):
            i = o * stride - pad + k
            if i < 0:
                below += 1
            elif i >= n_in:
                above += 1
            else:
                valid[o] += 1
    return valid, below, above


@njit(cache=True)
def tap_outcomes(n_in, n_out, kernel, stride):
    """The transposed gather ``tb_nn_tap_output(i, k)`` over every input index i and tap k:
    totals of each outcome (negative, odd, over, valid) and the valid taps per input index."""
    pad = kernel // 2
    totals = np.zeros(4, np.int64)
    valid = np.zeros(n_in, np.int64)
    for i in range(n_in):
        for k in range(kernel):
            t = i + pad - k
            if t < 0:
                totals[TAP_NEGATIVE] += 1
            elif t % stride != 0:
                totals[TAP_ODD] += 1
            elif t // stride >= n_out:
                totals[TAP_OVER] += 1
            else:
                totals[TAP_VALID] += 1
                valid[i] += 1
    return totals, valid


def out_size(n: int, stride: int) -> int:
    return (n + stride - 1) // stride


def mask_bits(mask: np.ndarray, n: int) -> np.ndarray:
    """The first n bits of a packed mask as bools (an empty mask: every gradient passes)."""
    if mask.size == 0:
        return np.ones(n, bool)
    return np.unpackbits(mask, bitorder="little")[:n].astype(bool)


def clamp_counts(y: np.ndarray, clamped: np.ndarray) -> tuple[int, int]:
    """(below, above): outputs whose clamp was active, by the side they saturated to."""
    return int(np.count_nonzero(clamped & (y == -128))), int(np.count_nonzero(clamped & (y == 127)))


def store_features(n_out: int, has_mask: bool, y: np.ndarray, mask: np.ndarray) -> list[int]:
    """What ``tb_nn_store_s8`` / ``tb_nn_mask_put`` / ``tb_nn_mask_flush`` execute for n_out
    outputs written in order: the two saturations (from a probe of the outputs and their mask),
    the masked stores, one byte store every 8 outputs, the final partial byte."""
    below, above = clamp_counts(y, ~mask_bits(mask, n_out))
    whole, partial = n_out // 8, int(n_out % 8 != 0)
    return [below, above, n_out * has_mask, whole, whole * has_mask, partial, partial * has_mask]


STORE_FEATURES = ("sat_below", "sat_above", "outputs_masked", "mask_bytes", "mask_bytes_masked",
                  "mask_partial", "mask_partial_masked")


def record_count(values: np.ndarray) -> tuple[int, int]:
    """(new maxima, new minima) of ``tb_nn_range_add`` over a sequence, both starting at 0."""
    if values.size == 0:
        return 0, 0
    hi = np.maximum.accumulate(np.maximum(values, 0))
    lo = np.minimum.accumulate(np.minimum(values, 0))
    prev_hi = np.concatenate(([0], hi[:-1]))
    prev_lo = np.concatenate(([0], lo[:-1]))
    return int(np.count_nonzero(values > prev_hi)), int(np.count_nonzero(values < prev_lo))
