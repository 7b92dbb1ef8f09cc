"""Count twin of the fast depthwise convolution (``firmware/kernels/fast/Convolution/tb_depthwise_fwd_s8.c``).

The fast kernel's loops are not the reference's: blocks of 4 channels, a block whose shifts all
exceed 32 taken as a group (filters packed, 4 outputs per window), the others (and the last
c % 4 channels, all channels for kernels above 7) one channel at a time. A group's output rows
split into edge windows on the left and right (tb_dwf_edges4: taps from each window's ranges, row
by row, each row an unrolled run for its length) and interior windows (every tap column inside),
an inlined copy per kernel 3, 5, 7 and per kind of row: whole windows in straight assembly when
every tap row is inside or all but one, else row by row (other kernels: as edge windows); without
a mask, a row's whole windows are one assembly loop with their stores (a group whose biases lie far
enough from the int32 ends: the bias and the zero point folded into the sums' start). The twin counts what each basic block of the compiled
kernel executes (checked block by block under iss on both Cortex-M4 and M7 builds): the loops'
trips per copy, the branches of the tap ranges (rows keeping their bottom tap row, windows clipped
on the left, planes with no window inside along x, rows without interior windows), the group test
and the packing's filter choice (channels 1 .. 3 frozen), the stores' data-independent paths (a
mask, by copy; the 4 mask bits reaching the next byte) and, in the one-channel path, what the data
decides: the outputs that fit int8 (a probe of the outputs' clamps; tested before or after the
mask, by core) and the requantizations with a shift of at most 32 taking the 64-bit statement.
Not counted, as no model or design reaches them: that statement's saturation branches, and the
interior windows of kernels other than 3, 5 and 7 (taken as edge windows; counted as edge stores only).
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.fast_convolution import _ranges
from tinybench.estimate.counts.geometry import mask_bits, out_size
from tinybench.models.quant import requantize

#: The largest kernel taken 4 channels at a time (TB_FAST_DW_MAX_K).
DW_MAX_K = 7
#: The kernels whose whole windows are straight assembly.
STRAIGHT = (3, 5, 7)

#: Where a group's windows go: the edge windows, then per straight kernel the interior windows of rows
#: with every tap row inside (whole) and of the others (part), each an inlined copy of the loop and store.
_COPIES = ("edge", *[f"{what}_{k}" for k in STRAIGHT for what in ("whole", "part")])

DEPTHWISE_FWD_FAST_FEATURES = (
    "calls", "calls_masked", "mask_bytes_cleared", "calls_narrow", "blocks", "shift_checks",
    # groups of 4 channels: packing (by how many of channels 1 .. 3 are frozen), rows (ky1 = kernel: a branch)
    "groups", "pack_taps", "pack_frozen_1", "pack_frozen_2", "pack_frozen_3", "group_rows_bottom",
    # without a mask: the filters' sums (groups, taps), the bias tests up to the first that fails and
    # the requantization probes of biases near the int32 ends among them (tb_dwf_fold_bias)
    "sum_groups", "sum_taps", "fold_checks", "fold_probes",
    # edge windows (tb_dwf_edges4): calls on the left and right, windows (clipped on the left: a
    # branch), tap rows by their number of taps (each its own unrolled run; an edge window has at
    # most kernel - 1 tap columns)
    "edge_calls_left", "edge_calls_right", "edge_windows", "edge_windows_left",
    *[f"edge_rows_{n}" for n in range(1, DW_MAX_K)],
    # interior windows by kernel: output rows with every tap row inside (whole windows; one assembly
    # loop, or the C loop with a mask or a bias near the int32 ends: rows and windows) or not, those
    # without interior windows, the windows; of the others those with kernel - 1 tap rows (straight
    # too) and the tap rows of the rest (row by row)
    *[f"{what}_{k}" for k in STRAIGHT for what in (
        "whole_rows", "whole_rows_c", "part_rows", "empty_whole_rows", "empty_part_rows", "whole_windows",
        "whole_windows_c", "part_windows", "near_windows", "part_tap_rows")],
    # stores with a mask by copy, those whose mask bits reach the next byte (the same 3 instructions in each)
    *[f"stores_masked_{copy}" for copy in _COPIES], "stores_next_byte",
    # one channel at a time
    "channels", "channel_rows", "channel_rows_bottom", "channel_windows", "channel_windows_left",
    "channel_tap_rows", "channel_taps",
    # the store's two tests, in either order (by core): the output fits int8, a mask is given
    "channel_fits", "channel_stores_masked", "channel_bits_set", "channel_requant_64bit",
)


def _columns(w_in: int, w_out: int, kernel: int, stride: int) -> tuple[int, int]:
    """(ox_lo, ox_hi): the output columns whose taps all lie inside along x, as the kernel clamps them."""
    pad = kernel // 2
    right = w_in - kernel + pad
    hi = min(right // stride + 1 if right >= 0 else 0, w_out)
    return min((pad + stride - 1) // stride, hi), hi


def _grouping(c: int, kernel: int, shift: np.ndarray) -> tuple[np.ndarray, int]:
    """(grouped per block of 4 channels, the shift comparisons of the group test): ch < c4, then
    the 4 shifts up to the first of at most 32."""
    c4 = c & ~3 if kernel <= DW_MAX_K else 0
    grouped, checks = np.zeros((c + 3) // 4, bool), 0
    for b in range(c4 // 4):
        low = np.flatnonzero(shift[b * 4:b * 4 + 4] <= 32)
        checks += int(low[0]) + 1 if low.size else 4
        grouped[b] = low.size == 0
    return grouped, checks


def _folds(bias, mult, shift, y_zero: int, kk: int, starts: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(per group: its biases fold into the run's start, the channels tested, the probes among them):
    tb_dwf_fold_bias on the channels of each group up to the first that does not fold."""
    big = kk * 32640
    safe = 2**31 - 1 - big
    folded, checks, probes = [], 0, 0
    for g in starts:
        fold = True
        for j in range(g, g + 4):
            checks += 1
            b = int(bias[j])
            if abs(b) > safe:
                probes += 1
                fold = requantize(safe - big, int(mult[j]), int(shift[j])) + y_zero > 127 if b > 0 else \
                    requantize(big - safe, int(mult[j]), int(shift[j])) + y_zero < -128
            if not fold:
                break
        folded.append(fold)
    return np.array(folded, bool), checks, probes


def tb_depthwise_fwd_s8(x, h_in, w_in, c, x_zero, w_train, w_frozen, k_train, bias, kernel, stride, mult, shift,
                        y_zero, y, mask, *, probe):
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    positions, kk, pad = h_out * w_out, kernel * kernel, kernel // 2
    has_mask = mask.size > 0
    shift = np.asarray(shift)
    grouped, checks = _grouping(c, kernel, shift)
    groups = int(grouped.sum())
    starts = np.flatnonzero(grouped) * 4
    single = ~np.repeat(grouped, 4)[:c]
    channels = int(single.sum())
    frozen_of = np.count_nonzero(starts[:, None] + np.arange(1, 4) >= k_train, axis=1)
    frozen = [int(np.count_nonzero(frozen_of == f)) for f in (1, 2, 3)]

    ky0, ky1 = _ranges(h_out, h_in, kernel, stride)
    kx0, kx1 = _ranges(w_out, w_in, kernel, stride)
    ny, nx = ky1 - ky0, kx1 - kx0
    bottom = int(np.count_nonzero(np.arange(h_out) * stride - pad + kernel <= h_in))  # rows with ky1 = kernel
    left = int(np.count_nonzero(np.arange(w_out) * stride < pad))  # windows with kx0 > 0, all edge windows
    lo, hi = _columns(w_in, w_out, kernel, stride)
    generic = kernel not in STRAIGHT  # its interior windows go as edge windows, one more call per row
    edge = np.arange(w_out) if generic else np.r_[np.arange(lo), np.arange(hi, w_out)]
    n_inner = hi - lo
    whole = ny == kernel  # per output row: every tap row inside
    rows_w, rows_p = int(whole.sum()), int((~whole).sum())
    # the groups whose whole windows take the C loop (the interior counts are the call's, not per group)
    folded, fold_checks, fold_probes = _folds(bias, mult, shift, y_zero, kk, starts)
    c_loop = groups if has_mask else int(np.count_nonzero(~folded))
    interior = []
    for k in STRAIGHT:
        on = kernel == k
        near = ny == k - 1
        looped = ~whole & ~near
        interior += [on * rows_w * groups, on * rows_w * c_loop, on * rows_p * groups,
                     on * rows_w * (n_inner == 0) * groups, on * rows_p * (n_inner == 0) * groups,
                     on * rows_w * n_inner * groups, on * rows_w * n_inner * c_loop, on * rows_p * n_inner * groups,
                     on * int(near.sum()) * n_inner * groups, on * int(ny[looped].sum()) * n_inner * groups]
    per_group = [h_out * (lo > 0) + h_out * generic, h_out * (hi < w_out), h_out * edge.size, h_out * left,
                 *[int(ny.sum()) * int(np.count_nonzero(nx[edge] == n)) for n in range(1, DW_MAX_K)]]

    # the copy each position's store is in (0: edge, then whole and part per straight kernel)
    inside = (np.arange(w_out) >= lo) & (np.arange(w_out) < hi)
    copy = np.where(inside[None, :], 1 + 2 * STRAIGHT.index(kernel) + (~whole)[:, None], 0) \
        if kernel in STRAIGHT else np.zeros((h_out, w_out), int)
    copy = np.broadcast_to(copy, (h_out, w_out)).ravel()
    next_byte = ((np.arange(positions)[:, None] * c + starts[None, :]) & 7) > 4
    stores = [*[has_mask * groups * int(np.count_nonzero(copy == j)) for j in range(len(_COPIES))],
              has_mask * int(np.count_nonzero(next_byte))]

    _, m = probe
    fits = int(np.count_nonzero(mask_bits(m, positions * c).reshape(positions, c)[:, single]))
    window_rows, window_taps = int(ny.sum()) * w_out, int(ny.sum()) * int(nx.sum())
    low = int(np.count_nonzero(single & (shift <= 32)))
    narrow = w_in - kernel + pad < 0
    return [1, int(has_mask), has_mask * ((positions * c + 7) // 8), int(narrow), len(grouped), checks,
            groups, groups * kk, *frozen, groups * bottom, (not has_mask) * groups, (not has_mask) * groups * kk,
            (not has_mask) * fold_checks, (not has_mask) * fold_probes, *[groups * int(v) for v in per_group], *[int(v) for v in interior], *stores,
            channels, channels * h_out, channels * bottom, channels * positions, channels * h_out * left,
            channels * window_rows, channels * window_taps, fits, has_mask * channels * positions, has_mask * fits,
            low * positions]
