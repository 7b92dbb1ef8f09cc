"""Count twin of the fast depthwise convolution (``firmware/kernels/fast/Convolution/tb_depthwise_fwd_s8.c``).

The fast kernel's loops are not the reference's: blocks of 4 channels, a block whose shifts all
exceed 32 taken as a group (filters packed, 4 outputs per window), the others (and the last
c % 4 channels, all channels for kernels above 7) one channel at a time. A group's output rows
split into edge windows on the left and right (taps from each window's ranges, row by row) and
interior windows (every tap column inside), which are whole windows in straight assembly for
kernels 3, 5 and 7 when every tap row is inside too, else row by row. The twin returns the trip
counts of those loops, the stores' data-independent paths (mask or none, the 4 mask bits
reaching the next byte) and, in the one-channel path, what the data decides: the mask bits set
(a probe of the outputs' clamps) and the requantizations with a shift of at most 32 taking the
64-bit statement.
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.fast_convolution import _ranges
from tinybench.estimate.counts.geometry import mask_bits, out_size

#: The largest kernel taken 4 channels at a time (TB_FAST_DW_MAX_K).
DW_MAX_K = 7
#: The kernels whose whole windows are straight assembly.
STRAIGHT = (3, 5, 7)

DEPTHWISE_FWD_FAST_FEATURES = (
    "calls", "mask_bytes_cleared", "blocks",
    # groups of 4 channels: packing, rows, edge windows, interior windows
    "groups", "pack_taps", "group_rows", "edge_runs", "edge_windows", "edge_rows", "edge_taps",
    "interior_rows_by_row", "whole_windows_3", "whole_windows_5", "whole_windows_7",
    "row_windows", "row_rows", "row_taps", "stores_masked", "stores_next_byte",
    # one channel at a time
    "channels", "channel_rows", "channel_windows", "channel_tap_rows", "channel_taps",
    "channel_stores_masked", "channel_bits_set", "channel_requant_64bit",
)


def _columns(w_in: int, w_out: int, kernel: int, stride: int) -> tuple[int, int]:
    """(ox_lo, ox_hi): the output columns whose taps all lie inside along x, as the kernel clamps them."""
    pad = kernel // 2
    right = w_in - kernel + pad
    hi = min(right // stride + 1 if right >= 0 else 0, w_out)
    return min((pad + stride - 1) // stride, hi), hi


def tb_depthwise_fwd_s8(x, h_in, w_in, c, x_zero, w_train, w_frozen, k_train, bias, kernel, stride, mult, shift,
                        y_zero, y, mask, *, probe):
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    positions, kk = h_out * w_out, kernel * kernel
    has_mask = mask.size > 0
    shift = np.asarray(shift)
    c4 = c & ~3 if kernel <= DW_MAX_K else 0
    blocks = (c + 3) // 4
    grouped = np.array([b * 4 < c4 and bool((shift[b * 4:b * 4 + 4] > 32).all()) for b in range(blocks)], bool)
    groups = int(grouped.sum())
    single = np.ones(c, bool)
    for b in np.flatnonzero(grouped):
        single[b * 4:b * 4 + 4] = False
    channels = int(single.sum())

    ky0, ky1 = _ranges(h_out, h_in, kernel, stride)
    kx0, kx1 = _ranges(w_out, w_in, kernel, stride)
    ny, nx = ky1 - ky0, kx1 - kx0
    lo, hi = _columns(w_in, w_out, kernel, stride)
    edge = np.r_[np.arange(lo), np.arange(hi, w_out)]
    n_inner = hi - lo
    whole = (ny == kernel) & (kernel in STRAIGHT)  # per output row: interior windows whole
    by_row = ~whole
    per_group = [
        h_out * (int(lo > 0) + int(hi < w_out)),  # edge runs
        h_out * edge.size, int(ny.sum()) * edge.size, int(ny.sum()) * int(nx[edge].sum()),
        int(by_row.sum()),
        *[int(whole.sum()) * n_inner * (kernel == k) for k in STRAIGHT],
        int(by_row.sum()) * n_inner, int(ny[by_row].sum()) * n_inner, int(ny[by_row].sum()) * n_inner * kernel,
    ]
    starts = np.flatnonzero(grouped) * 4
    index = (np.arange(positions)[:, None] * c + starts[None, :]) & 7
    stores_masked = has_mask * groups * positions
    next_byte = has_mask * int(np.count_nonzero(index > 4))

    y_out, m = probe
    fits = mask_bits(m, positions * c).reshape(positions, c)
    window_rows, window_taps = int(ny.sum()) * w_out, int(ny.sum()) * int(nx.sum())
    bits_set = has_mask * int(np.count_nonzero(fits[:, single]))
    low = int(np.count_nonzero(single & (shift <= 32)))
    return [1, has_mask * ((positions * c + 7) // 8), blocks,
            groups, groups * kk, groups * h_out, *[groups * v for v in per_group], stores_masked, next_byte,
            channels, channels * h_out, channels * positions, channels * window_rows, channels * window_taps,
            has_mask * channels * positions, bits_set, low * positions]
