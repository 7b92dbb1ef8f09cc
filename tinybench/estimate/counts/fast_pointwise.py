"""Count twin of the fast pointwise convolution (``firmware/kernels/fast/Convolution/tb_pointwise_fwd_s8.c``).

The fast kernel's loops: rows; pairs of output channels (an odd last one pairs with itself),
their requantization prepared once; pairs of positions. With one weight part (no input channel
trained, or all) and a true channel pair, a row's position pairs run in ``tb_pw_row_pairs``:
the 2 x 2 dot with both second operands one stride on (8 channels per step of the assembly
loop, then at most one step of 4 and the rest one by one). Every other tile (the odd last
position, the odd last channel, two weight parts) takes two plain 2 x 2 dots, one per part (4
channels per step, the rest one by one). The twin returns the trip counts of those loops, split
where a loop is entered or skipped, and the paths of the stores: pairs or single channels, mask
or none, and what the outputs decide (a single channel's mask bit is set only when it fits
int8, a pair's second bit opens the next mask byte only when it is set); requantizations with a
shift of at most 32 take the 64-bit statement.
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import mask_bits

#: The stores of one path (tb_pw_row_pairs or the other tiles): pairs of channels, their mask
#: bits, pairs whose second bit opens the next mask byte.
def _store_names(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{f}" for f in ("store_pairs", "pairs_masked", "pairs_opening_a_byte"))


POINTWISE_FWD_FAST_FEATURES = (
    "calls", "calls_trained", "calls_masked", "mask_bytes_cleared", "rows", "channel_pairs", "channel_singles",
    "channel_pairs_one_part",
    # tb_pw_row_pairs: its calls, position pairs, the assembly loop, the 2 x 2 dot of the rest
    "row_runs", "row_runs_nonempty", "strided_pairs", "strided_asm", "strided_steps8", "strided_words", "strided_rest",
    "strided_rest_bytes", *_store_names("strided"),
    # the other tiles: the runs of a row and channel pair that have some, tiles of two adjacent
    # positions (and of a channel pair: tests for the strided dot), a plain 2 x 2 dot per weight
    # part, its word and byte loops entered or not
    "tile_runs", "tiles_pair", "tiles_single", "tiles_adjacent", "tiles_pair_adjacent",
    "train_dots_with_words", "train_dots_with_bytes", "frozen_dots_with_words", "frozen_dots_with_bytes",
    "frozen_words_after_train_bytes", "tile_words", "tile_bytes",
    *_store_names("tile"), "store_singles", "singles_masked", "singles_fitting", "singles_fitting_masked",
    "requant_64bit",
)


def _stores(first: np.ndarray, fits: np.ndarray, has_mask: bool) -> list[int]:
    """Pair stores at the indices ``first`` (their first output)."""
    opening = np.count_nonzero((first % 8 == 7) & fits[np.minimum(first + 1, fits.size - 1)])
    return [first.size, has_mask * first.size, has_mask * int(opening)]


def tb_pointwise_fwd_s8(x, h, w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y,
                        mask, *, probe):
    """``probe`` = (outputs, clamp mask) of the call, a scratch mask where it has none."""
    one_part = k_train in (0, c_in)
    k_frozen = c_in - k_train
    pair_channels, single = c_out // 2, c_out % 2
    has_mask = mask.size > 0
    fits = mask_bits(probe[1], h * w * c_out)
    # tiles: row x position pair (col, col + 1, or col twice at an odd end) x channel pair
    col = np.arange(0, w, 2)
    p0 = np.arange(h)[:, None] * w + col[None, :]  # [row, pair]
    p1 = np.minimum(p0 + 1, np.arange(h)[:, None] * w + w - 1)
    adjacent = np.broadcast_to(col + 1 < w, p0.shape)
    c = np.arange(0, c_out - 1, 2)  # channels c of the true pairs (c, c + 1)
    strided = adjacent & one_part  # tiles of true channel pairs in tb_pw_row_pairs
    in_rows = np.concatenate([p0[strided], p1[strided]])[:, None] * c_out + c[None, :]
    others = np.concatenate([p0[~strided], p1[~strided]])[:, None] * c_out + c[None, :]
    n_strided = int(strided.sum()) * c.size
    tiles_pair = int((~strided).sum()) * c.size
    tiles_single = p0.size * single
    n8, rest = c_in // 8 * 8, c_in % 8
    asm = [n_strided, n_strided * (n8 > 0), n_strided * (n8 // 8), n_strided * (rest // 4), n_strided * (rest % 4 != 0),
           n_strided * (rest % 4)]
    tiles = tiles_pair + tiles_single
    pair_adjacent = int((adjacent & ~strided).sum()) * c.size
    dots = [v for n in (k_train, k_frozen) for v in (tiles * (n >= 4), tiles * (n % 4 != 0))]
    dots.append(tiles * (k_train % 4 != 0) * (k_frozen >= 4))  # the frozen word loop entered from the train bytes
    tile_runs = h * (c.size * (not one_part or w % 2 == 1) + single)
    singles = np.concatenate([p0.ravel(), p1.ravel()]) * c_out + c_out - 1 if single else np.zeros(0, np.int64)
    singles_fitting = int(fits[singles].sum())
    requant_64 = 2 * p0.size * int((np.asarray(shift) <= 32).sum())
    runs = h * c.size * one_part
    return [1, k_train > 0, has_mask, has_mask * ((h * w * c_out + 7) // 8), h, h * c.size, h * single,
            h * (c.size + single) * one_part, runs, runs * (w >= 2), *asm, *_stores(in_rows.ravel(), fits, has_mask),
            tile_runs, tiles_pair, tiles_single, pair_adjacent + int(adjacent.sum()) * single, pair_adjacent, *dots,
            tiles * (k_train // 4 + k_frozen // 4), tiles * (k_train % 4 + k_frozen % 4),
            *_stores(others.ravel(), fits, has_mask), singles.size, has_mask * singles.size, singles_fitting,
            has_mask * singles_fitting, requant_64]
