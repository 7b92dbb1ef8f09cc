"""Count twin of the fast dense convolution (``firmware/kernels/fast/Convolution/tb_conv_fwd_s8.c``).

The fast kernel's loops are not the reference's: pairs of output positions of a row, each
position's window gathered per weight part into a byte column (a short path for windows inside
the input of a part of every input channel, else tap row by tap row: rows outside filled, rows
inside copied whole or tap by tap with fills left and right), widened four elements at a time,
then tiles of 2 positions x 2 output channels over the column's words; columns longer than the
kernel's buffer take the taps one by one. The twin returns the trip counts of those loops,
split where the compiled loops are entered or skipped (a copy of fewer than 4 bytes has no word
loop, an empty fill no loop), and the paths of the stores: pairs or single channels, mask or
none, and what the outputs decide (a single channel's mask bit is set only when it fits int8,
a pair's second bit opens the next mask byte only when it is set); requantizations with a shift
of at most 32 take the 64-bit statement.

The models' stem (3 channels of one weight part, 3 x 3, stride 2, at most 16 output channels,
every shift in (32, 63]) takes its own path: weights and requantizations
prepared once per call, then per output row, position pair (each position's window widened
straight from the input when inside it, else gathered tap by tap) and channel pair a tile; the
rows are inlined twice (with and without a mask), so their counts are given for all calls and
again for the masked ones.
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import mask_bits, out_size

#: Elements of one padded column the kernel buffers (TB_CONV_COL_MAX).
COL_MAX = 64


def _copy_names(prefix: str) -> tuple[str, ...]:
    """tb_conv_copy at one call site: calls, calls with whole words (n >= 4), calls with a byte
    rest (the words and bytes themselves cost the same at every site: copied_words, copied_bytes)."""
    return tuple(f"{prefix}_{f}" for f in ("copies", "copies_with_words", "copies_with_bytes"))


#: The gather of one part at one position (tb_conv_gather), over every gathered position.
GATHER_FEATURES = (
    "gathers", "gathers_whole", "gathers_whole_rows_inside", "gathers_inside", *_copy_names("inside"),
    "edge_rows", "edge_rows_outside", "edge_rows_above", *_copy_names("edge_whole"),
    *_copy_names("edge_split"),
    "copied_words", "copied_bytes", "fills_left", "fills_right", "fills_pad_inside", "fills_pad_edge", "fill_bytes",
)

#: Output channels the stem path widens at once (TB_CONV_STEM_C_MAX).
STEM_C_MAX = 16

#: Requantizations the stem path takes: shift in (32, 32 + STEM_T_MAX] (TB_CONV_STEM_T_MAX).
STEM_T_MAX = 31

#: Loops of the stem's rows, inlined once with a mask and once without: counted over all calls
#: and again over the masked ones.
_STEM_ROWS = ("rows", "rows_below_top", "rows_inside", "pairs", "positions", "positions_rows_in",
              "positions_left_in", "positions_inside", "positions_left", "positions_x_in", "pairs_of_2_channels",
              "channel_pairs", "odd_channels")

STEM_FEATURES = (
    "stem_fit_calls", "stem_fit_channels",  # tb_conv_stem_requant_fits, whenever the shape is the stem's
    "stem_calls", "stem_calls_masked", "stem_mask_bytes_cleared", "stem_weight_rows", "stem_requant_inits",
    *(f"stem_{n}" for n in _STEM_ROWS), *(f"stem_{n}_masked" for n in _STEM_ROWS),
    "stem_edge_positions", "stem_edge_positions_with_taps", "stem_edge_rows_entered", "stem_edge_rows", "stem_edge_rows_with_taps", "stem_edge_taps",
    "stem_pairs_opening_a_byte", "stem_singles_fitting_masked",
)

CONV_FWD_FAST_FEATURES = (
    "calls", "calls_masked", "mask_bytes_cleared", "rows_out", "position_pairs", "pairs_buffered",
    *GATHER_FEATURES, "widen_groups",
    # tiles of 2 positions x 2 output channels: column dots, or taps one by one
    "tiles", "dots", "dots_with_words", "dot_groups", "dot_tails", "dot_tails_short", "dot_tail_short_bytes",
    "tap_dots", "tap_rows", "taps", "taps_with_words", "tap_words", "taps_with_bytes", "tap_bytes",
    "store_pairs", "pairs_masked", "pairs_opening_a_byte", "store_singles", "singles_masked", "singles_fitting",
    "singles_fitting_masked", "requant_64bit",
    # the stem path (tb_conv_stem: 3 channels of one part, 3 x 3, stride 2, c_out <= STEM_C_MAX)
    *STEM_FEATURES,
)


def _ranges(n_out: int, n_in: int, kernel: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """tb_fast_tap_range at every output index: (k0, k1)."""
    first = np.arange(n_out) * stride - kernel // 2
    return np.where(first < 0, -first, 0), np.where(first + kernel > n_in, n_in - first, kernel)


def _copies(length, times) -> list[int]:
    """tb_conv_copy of ``length`` bytes, ``times`` often (broadcast arrays)."""
    length, times = np.broadcast_arrays(np.asarray(length), np.asarray(times))
    return np.array([times.sum(), (times * (length >= 4)).sum(), (times * (length % 4 != 0)).sum(),
                     (times * (length // 4)).sum(), (times * (length % 4)).sum()], np.int64)


def _gathers(m: int, n: int, c_in: int, kernel: int, ky: tuple, kx: tuple, xs: np.ndarray) -> list[int]:
    """:data:`GATHER_FEATURES` of one part (m channels, row length n) at every gathered position:
    all output rows x the gathered columns xs (with repeats)."""
    whole = m == c_in
    row, pad = kernel * m, (n + 3) // 4 * 4 - n
    ky0, ky1 = ky
    kx0, kx1 = kx[0][xs], kx[1][xs]
    rows_in = np.clip(ky1 - ky0, 0, None)[:, None]  # [oy, 1]
    cols_in = np.clip(kx1 - kx0, 0, None)[None, :]  # [1, x]
    full_y = rows_in == kernel
    inside = full_y & (cols_in == kernel) & whole
    edge = ~inside
    n_pos, n_in = inside.size, int(inside.sum())
    copy_rows = edge * rows_in * (cols_in > 0)  # rows of a general gather that copy
    outside_rows = edge * kernel - copy_rows
    above = edge * np.minimum(ky0, kernel)[:, None]  # outside rows found by the first test, ky < ky0
    left, right = (kx0 * m)[None, :], ((kernel - kx1) * m)[None, :]
    copies = [_copies(row, n_in * kernel), _copies(cols_in * m, copy_rows * whole),
              _copies(m, copy_rows * cols_in * (not whole))]  # inside, edge whole, edge split
    fill_bytes = (copy_rows * (left + right)).sum() + outside_rows.sum() * row + n_pos * pad
    words, rest = sum(c[3] for c in copies), sum(c[4] for c in copies)
    return [n_pos, n_pos * whole, int(full_y.sum()) * xs.size * whole, n_in, *copies[0][:3],
            int(edge.sum()) * kernel, int(outside_rows.sum()), int(above.sum()), *copies[1][:3], *copies[2][:3],
            int(words), int(rest),
            int((copy_rows * (left > 0)).sum()), int((copy_rows * (right > 0)).sum()), n_in * (pad > 0),
            int(edge.sum()) * (pad > 0), int(fill_bytes)]


def _stores(h_out: int, w_out: int, c_out: int, gathered: np.ndarray, has_mask: bool, probe) -> list[int]:
    """The stores of pairs of positions (both of a pair, twice when an odd last position pairs
    with itself), channel pairs then an odd last channel alone: pairs, masked, opening a mask
    byte, singles, masked, fitting int8, fitting and masked."""
    fits = mask_bits(probe[1], h_out * w_out * c_out)
    stored = (np.arange(h_out)[:, None] * w_out + gathered[None, :]).ravel()
    first = (stored[:, None] * c_out + np.arange(0, c_out - 1, 2)[None, :]).ravel()  # each stored pair's index
    opening = int(np.count_nonzero((first % 8 == 7) & fits[np.minimum(first + 1, fits.size - 1)]))
    singles = stored * c_out + c_out - 1 if c_out % 2 else np.zeros(0, np.int64)
    singles_fitting = int(fits[singles].sum())
    return [first.size, has_mask * first.size, has_mask * opening, singles.size, has_mask * singles.size,
            singles_fitting, has_mask * singles_fitting]


def _stem_fits(shift, c_out: int) -> tuple[bool, int]:
    """tb_conv_stem_requant_fits: whether the stem path takes the call, channels it tested."""
    shift = np.asarray(shift)[:c_out]
    bad = np.flatnonzero((shift <= 32) | (shift > 32 + STEM_T_MAX))
    return bad.size == 0, int(bad[0]) + 1 if bad.size else c_out


def _stem(h_in, w_in, c_out, mask, probe, tested: int) -> list[int]:
    """:data:`STEM_FEATURES` of a stem call."""
    h_out, w_out = out_size(h_in, 2), out_size(w_in, 2)
    starts = np.arange(0, w_out, 2)
    gathered = np.concatenate([starts, np.minimum(starts + 1, w_out - 1)])
    pairs = h_out * starts.size
    oy = np.arange(h_out)
    rows_in = (oy >= 1) & (2 * oy + 2 <= h_in)
    left_in, x_in = gathered >= 1, 2 * gathered + 2 <= w_in
    inside = rows_in[:, None] & (left_in & x_in)[None, :]
    edge = ~inside
    ky, kx = _ranges(h_out, h_in, 3, 2), _ranges(w_out, w_in, 3, 2)
    n_rows = np.clip(ky[1] - ky[0], 0, None)[:, None]
    n_cols = np.clip(kx[1] - kx[0], 0, None)[gathered][None, :]
    has_mask = mask.size > 0
    rows = [h_out, int((oy >= 1).sum()), int(rows_in.sum()), pairs, gathered.size * h_out,
            int(rows_in.sum()) * gathered.size, int(rows_in.sum()) * int(left_in.sum()), int(inside.sum()),
            h_out * int(left_in.sum()), h_out * int((left_in & x_in).sum()), pairs * (c_out >= 2), pairs * (c_out // 2), pairs * (c_out % 2)]
    stores = _stores(h_out, w_out, c_out, gathered, has_mask, probe)
    return [1, tested, 1, has_mask, has_mask * ((h_out * w_out * c_out + 7) // 8), c_out + c_out % 2, c_out,
            *rows, *(has_mask * np.array(rows)).tolist(),
            int(edge.sum()), int((edge * (n_rows > 0) * (n_cols > 0)).sum()), int((edge * (n_rows > 0)).sum()), int((edge * n_rows).sum()),
            int((edge * n_rows * (n_cols > 0)).sum()), int((edge * n_rows * n_cols).sum()),
            stores[2], stores[6]]


def tb_conv_fwd_s8(x, h_in, w_in, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, kernel, stride, mult,
                   shift, y_zero, y, mask, *, probe):
    """``probe`` = (outputs, clamp mask) of the call, a scratch mask where it has none."""
    stem_shape = c_in == 3 and kernel == 3 and stride == 2 and k_train in (0, 3) and c_out <= STEM_C_MAX
    fits, tested = _stem_fits(shift, c_out) if stem_shape else (False, 0)
    if fits:
        general = [0] * (len(CONV_FWD_FAST_FEATURES) - len(STEM_FEATURES))
        general[0] = 1
        return general + _stem(h_in, w_in, c_out, mask, probe, tested)
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
    gather = np.zeros(len(GATHER_FEATURES), np.int64)
    dots = [0] * 6
    taps = [0] * 7
    if buffered:
        for m, n in parts:
            gather += _gathers(m, n, c_in, kernel, ky, kx, gathered)
            short = n < 4
            dots = [a + b for a, b in zip(dots, [tiles, tiles * (n >= 4), tiles * (n // 4), tiles * (n % 4 != 0),
                                                 tiles * short, tiles * short * 2 * n])]
    else:
        inside = np.outer(np.clip(ky[1] - ky[0], 0, None), np.clip(kx[1] - kx[0], 0, None))
        per_pair = int(inside[:, gathered].sum())  # taps of both positions of every pair
        rows = int(np.clip(ky[1] - ky[0], 0, None).sum()) * starts.size  # tap rows of one position per pair
        for m, _ in parts:
            t = 2 * per_pair * ch_pairs
            taps = [a + b for a, b in zip(taps, [4 * tiles, 4 * rows * ch_pairs, t, t * (m >= 4), t * (m // 4),
                                                 t * (m % 4 != 0), t * (m % 4)])]
    has_mask = mask.size > 0
    requant_64 = 2 * pairs * int((np.asarray(shift) <= 32).sum())  # each channel once per stored position
    return [1, has_mask, has_mask * ((h_out * w_out * c_out + 7) // 8), h_out, pairs, pairs * buffered,
            *gather.tolist(), pairs * buffered * (n4 // 4), tiles, *dots, *taps,
            *_stores(h_out, w_out, c_out, gathered, has_mask, probe), requant_64,
            int(stem_shape), tested] + [0] * (len(STEM_FEATURES) - 2)
