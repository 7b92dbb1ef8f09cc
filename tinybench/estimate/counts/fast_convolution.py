"""Count twin of the fast dense convolution (``firmware/kernels/fast/Convolution/tb_conv_fwd_s8.c``).

The fast kernel's loops are not the reference's: pairs of output positions of a row, each
position's window gathered per weight part into a byte column (a short path for windows inside
the input of a part of every input channel, else tap row by tap row), widened four elements at
a time, then tiles of 2 positions x 2 output channels over the column's words; columns longer
than the kernel's buffer take the taps one by one. The twin returns the trip counts of those
loops and the data-independent paths of the stores (pairs or single channels, mask or none,
requantizations with a shift of at most 32 taking the 64-bit statement).
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import out_size

#: Elements of one padded column the kernel buffers (TB_CONV_COL_MAX).
COL_MAX = 64

CONV_FWD_FAST_FEATURES = (
    "calls", "rows_out", "position_pairs", "mask_bytes_cleared",
    # gathers (per nonempty part and gathered position): short path, general path, and their loops
    "gathers_inside", "inside_rows", "inside_words", "inside_bytes",
    "gathers_edge", "edge_rows", "edge_rows_outside", "edge_runs", "edge_words", "edge_bytes", "fill_bytes",
    "widen_groups",
    # tiles of 2 positions x 2 output channels
    "tiles", "dot_parts", "dot_groups", "dot_tails",
    "tap_dots", "taps", "tap_words", "tap_bytes",
    "store_pairs", "store_singles", "stores_masked", "requant_64bit",
)


def _ranges(n_out: int, n_in: int, kernel: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """tb_fast_tap_range at every output index: (k0, k1)."""
    first = np.arange(n_out) * stride - kernel // 2
    return np.where(first < 0, -first, 0), np.where(first + kernel > n_in, n_in - first, kernel)


def _gathers(m: int, n: int, c_in: int, kernel: int, ky: tuple, kx: tuple, xs: np.ndarray) -> np.ndarray:
    """The gather loops of one part (m channels, row length n) over every gathered position:
    rows (all oy) x the gathered columns xs (with repeats)."""
    ky0, ky1 = ky
    kx0, kx1 = kx[0][xs], kx[1][xs]
    row = kernel * m
    full_y = (ky1 - ky0) == kernel
    full_x = (kx1 - kx0) == kernel
    inside = np.outer(full_y, full_x) & (m == c_in)
    n_in, n_pos = int(inside.sum()), inside.size
    edge = ~inside
    n_edge = int(edge.sum())
    rows_in = np.clip(ky1 - ky0, 0, None)  # rows inside per oy
    cols_in = np.clip(kx1 - kx0, 0, None)
    runs_row = np.where(cols_in > 0, 1 if m == c_in else cols_in, 0)
    run_len = cols_in * m if m == c_in else np.full_like(cols_in, m)
    # rows of a general gather that copy: inside rows, with some tap inside along x
    copy_rows = edge * np.outer(rows_in, cols_in > 0)
    outside_rows = edge * kernel - copy_rows
    fill_copy = (kernel - cols_in) * m  # bytes filled on a copying row
    edge_runs = int((copy_rows * runs_row[None, :]).sum())
    edge_words = int((copy_rows * (runs_row * (run_len // 4))[None, :]).sum())
    edge_bytes = int((copy_rows * (runs_row * (run_len % 4))[None, :]).sum())
    fill = int((copy_rows * fill_copy[None, :]).sum() + outside_rows.sum() * row) + n_pos * ((n + 3) // 4 * 4 - n)
    return np.array([n_in, n_in * kernel, n_in * kernel * (row // 4), n_in * kernel * (row % 4),
                     n_edge, n_edge * kernel, int(outside_rows.sum()), edge_runs, edge_words, edge_bytes, fill])


def tb_conv_fwd_s8(x, h_in, w_in, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, kernel, stride, mult,
                   shift, y_zero, y, mask, *, probe):
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    kk = kernel * kernel
    parts = [(m, kk * m) for m in (k_train, c_in - k_train) if m > 0]
    n4 = sum((n + 3) // 4 * 4 for _, n in parts)
    buffered = n4 <= COL_MAX
    starts = np.arange(0, w_out, 2)
    pairs = h_out * starts.size
    ch_pairs = (c_out + 1) // 2
    tiles = pairs * ch_pairs
    gathered = np.concatenate([starts, np.minimum(starts + 1, w_out - 1)])
    ky, kx = _ranges(h_out, h_in, kernel, stride), _ranges(w_out, w_in, kernel, stride)
    gather = np.zeros(11, np.int64)
    tap_dots = taps = tap_words = tap_bytes = 0
    if buffered:
        for m, n in parts:
            gather += _gathers(m, n, c_in, kernel, ky, kx, gathered)
    else:
        inside = np.outer(np.clip(ky[1] - ky[0], 0, None), np.clip(kx[1] - kx[0], 0, None))
        per_pair = int(inside[:, starts].sum() + inside[:, gathered[starts.size:]].sum())  # taps of both positions
        for m, _ in parts:
            tap_dots += 4 * tiles
            taps += 2 * per_pair * ch_pairs
            tap_words += 2 * per_pair * ch_pairs * (m // 4)
            tap_bytes += 2 * per_pair * ch_pairs * (m % 4)
    dots = buffered * len(parts) * tiles
    groups = buffered * tiles * sum(n // 4 for _, n in parts)
    tails = buffered * tiles * sum(n % 4 != 0 for _, n in parts)
    pair_channels, single = c_out // 2, c_out % 2
    store_pairs, store_singles = 2 * pairs * pair_channels, 2 * pairs * single
    low_shift = np.asarray(shift) <= 32
    requant_64 = 2 * pairs * int(low_shift.sum())  # each channel once per stored position
    has_mask = mask.size > 0
    return [1, h_out, pairs, has_mask * ((h_out * w_out * c_out + 7) // 8), *gather.tolist(),
            pairs * buffered * (n4 // 4), tiles, dots, groups, tails, tap_dots, taps, tap_words, tap_bytes,
            store_pairs, store_singles, has_mask * (store_pairs + store_singles), requant_64]
