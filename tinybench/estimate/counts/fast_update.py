"""Count twin of the fast fused pointwise update
(``firmware/kernels/fast/Update/tb_pointwise_bwd_weight_sgd_s8.c``).

The fast kernel's loops are not the reference's: channels in groups, 4 at a time while no weight
is trained (bias sums of one gradient word per position, lanes flushed every 256 positions), else
(and for the last c_out % 4 then) pairs and a single last one; a group's trained input channels
in chunks of CHUNK (one empty chunk without any), positions in blocks of BLOCK, each block's
gradient packed into position pairs (mask bit pairs that open the next byte read it; for
c_out a multiple of 8 a pair's bits at one offset at every position), then
2 x 2 tiles (1 x 2 for an odd last input channel) over the block's position pairs and its odd
last position; each channel's weights, and each bias, take no step (zero multiplier or
effective shift above 62), a 32-bit step (shift 32..62: the high word; 1..31: both words, which
may saturate) or the reference's step (shift <= 0), whose paths the probe's gradient sums give
(:func:`~tinybench.estimate.counts.update.sgd_paths`). A loop's
set-up runs only when the loop does (the "loops" and "empty" counts).
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.update import SGD_PATHS, sgd_paths

#: Positions packed at a time and trained input channels accumulated at a time
#: (TB_PWSGD_BLOCK, TB_PWSGD_CHUNK).
BLOCK, CHUNK = 32, 32
#: Positions of one flush of the bias lanes.
LANES = 256

POINTWISE_SGD_FAST_FEATURES = (
    "calls",
    # k_train = 0: 4 channels per word
    "bias_only", "quads", "quad_flushes", "quad_positions", "quad_positions_masked", "quad_straddles",
    # channel pairs and single channels
    "single", "groups", "pairs", "chunks", "acc_zeroed", "blocks", "empty_groups", "empty_blocks", "empty_rows",
    "pack_loops", "pack_pairs", "pack_singles", "pack_pairs_masked", "pack_pairs_aligned", "pack_singles_masked",
    "pack_straddles",
    "pack_tails", "pack_tails_masked",
    "dot_loops", "tiles2", "tile2_loops", "tile2_steps", "tile2_tails",
    "tiles1", "tile1_loops", "tile1_steps", "tile1_tails",
    # SGD steps by mode (tb_pwsgd_sgd_init): none, 32-bit high word, 32-bit two words, reference
    "rows_skipped", "rows_high", "rows_low", "rows_ref", "weights_high", "weights_low", "weights_low_saturated",
    "weights_ref", "weights_ref_shifted", "channels_zero_mult",
    "biases_skipped", "biases_high", "biases_low", "biases_ref", "biases_low_saturated", "biases_ref_shifted",
    "biases_zero_mult",
) + tuple(f"{part}_{p}" for part in ("weight", "bias") for p in SGD_PATHS)


def _modes(mult: np.ndarray, shift: np.ndarray, e_grad: int) -> np.ndarray:
    """tb_pwsgd_sgd_init's mode of each channel: 0 no step, 1 (shift 32..62) the high word,
    2 (1..31) both words, 3 (<= 0) the reference's statement."""
    s = shift.astype(np.int64) - e_grad
    return np.where((mult == 0) | (s > 62), 0, np.where(s >= 32, 1, np.where(s >= 1, 2, 3)))


def _low_saturated(grads: np.ndarray, mult: np.ndarray, shift: np.ndarray, e_grad: int) -> int:
    """Mode-2 steps (rows of grads by channel) whose delta saturates int32."""
    s = (shift.astype(np.int64) - e_grad)[:, None]
    v = (grads.astype(np.int64) * mult.astype(np.int64)[:, None] + (np.int64(1) << (s - 1))) >> s
    return int(np.count_nonzero((v > 2**31 - 1) | (v < -(2**31))))


def _steps(params, grads, mult, shift, e_grad) -> tuple[list[int], list[int]]:
    """Rows (channels) by mode [0, 1, 2, 3], then the steps by mode [1, 2, mode-2 saturated, 3,
    mode 3 shifted left], the rows of a zero multiplier, and the reference's paths of the
    mode-3 rows, for params / grads of shape [rows, n]."""
    modes = _modes(mult, shift, e_grad)
    rows = [int(np.count_nonzero(modes == k)) for k in range(4)]
    low, ref = modes == 2, np.nonzero(modes == 3)[0]
    n = grads.shape[1]
    sat = _low_saturated(grads[low], mult[low], shift[low], e_grad) if n and low.any() else 0
    paths = (sgd_paths(params[ref].ravel(), grads[ref].ravel(), ref.size, n, mult[ref], shift[ref], e_grad)
             if n and ref.size else [0] * len(SGD_PATHS))
    # the reference's left shift by 1..31 (s < 0) of a non-zero product saturates once more
    below = ref[(shift[ref].astype(np.int64) - e_grad) < 0]
    shifted = int(np.count_nonzero(grads[below].astype(np.int64) * mult[below].astype(np.int64)[:, None]))
    # a zero multiplier skips the shift's test
    return rows, [rows[1] * n, rows[2] * n, sat, rows[3] * n, shifted, int(np.count_nonzero(mult == 0))] + paths


def _straddles(c_out: int, channels: np.ndarray, positions: int, first_bit: int) -> int:
    """Mask reads of the channels' bit groups (starting at bit p * c_out + c) at every
    position whose bit offset in its byte is at least first_bit (they read the next byte)."""
    if channels.size == 0 or positions == 0:
        return 0
    gi = np.arange(positions)[:, None] * c_out + channels[None, :]
    return int(np.count_nonzero((gi & 7) >= first_bit))


def tb_pointwise_bwd_weight_sgd_s8(grad, mask, x_saved, h, w, k_train, x_zero, c_out, e_grad, w_train, w_mult,
                                   w_shift, bias, b_mult, b_shift, *, probe):
    """``probe`` = (weight gradient sums, bias gradient sums, weights before, biases before)."""
    grad_w, grad_b, w_old, b_old = probe
    positions = h * w
    has_mask = mask.size > 0
    bias_only = k_train == 0
    quads = c_out // 4 if bias_only else 0
    rest = c_out % 4 if bias_only else 0  # bias sums packed as channel pairs, a single last one
    pairs, singles = (rest // 2, rest % 2) if bias_only else (c_out // 2, c_out % 2)
    groups = pairs + singles
    chunk_sizes = [min(CHUNK, k_train - k0) for k0 in range(0, k_train, CHUNK)] or [0]
    n_chunks = len(chunk_sizes)
    n_blocks = -(-positions // BLOCK)
    pos_pairs, tail = positions // 2, positions % 2
    # blocks whose pair loops run (all but a last block of one position)
    paired_blocks = n_blocks - int(positions - BLOCK * (n_blocks - 1) == 1)
    tiles2_per_block = sum(kc // 2 for kc in chunk_sizes)
    tiles1_per_block = sum(kc % 2 for kc in chunk_sizes)
    first = 4 * quads
    pair_channels = first + 2 * np.arange(pairs)
    # the pair pack reads bits gi, gi + 1 at two positions per step (the odd tail reads bit by
    # bit); with c_out a multiple of 8 both bits sit at one offset of a byte at every position
    aligned = c_out % 8 == 0
    pack_straddles = has_mask * (not aligned) * n_chunks * _straddles(c_out, pair_channels, 2 * pos_pairs, 7)
    quad_channels = 4 * np.arange(quads)
    # the weight steps of the channel groups (bias-only calls: their rows, of no weight)
    w_rows, w_steps = _steps(w_old.reshape(c_out, k_train)[first:], grad_w.reshape(c_out, k_train)[first:],
                             w_mult[first:], w_shift[first:], e_grad)
    b_rows, b_steps = _steps(b_old.reshape(c_out, 1), grad_b.reshape(c_out, 1), b_mult, b_shift, e_grad)
    return [
        1,
        int(bias_only), quads, quads * -(-positions // LANES), quads * positions, has_mask * quads * positions,
        has_mask * _straddles(c_out, quad_channels, positions, 5),
        singles, groups, pairs, groups * n_chunks, groups * k_train, groups * n_chunks * n_blocks,
        bias_only * groups, bias_only * groups * n_blocks, bias_only * rest,
        groups * n_chunks * paired_blocks, pairs * n_chunks * pos_pairs, singles * n_chunks * pos_pairs,
        has_mask * (not aligned) * pairs * n_chunks * pos_pairs, has_mask * aligned * pairs * n_chunks * pos_pairs,
        has_mask * singles * n_chunks * pos_pairs, pack_straddles,
        groups * n_chunks * tail, has_mask * groups * n_chunks * tail,
        groups * n_blocks * sum(kc >= 2 for kc in chunk_sizes),
        groups * tiles2_per_block * n_blocks, groups * tiles2_per_block * paired_blocks,
        groups * tiles2_per_block * pos_pairs, groups * tiles2_per_block * tail,
        groups * tiles1_per_block * n_blocks, groups * tiles1_per_block * paired_blocks,
        groups * tiles1_per_block * pos_pairs, groups * tiles1_per_block * tail,
        *(r * n_chunks for r in w_rows), *w_steps[:6], *b_rows, b_steps[2], b_steps[4], b_steps[5],
        *w_steps[6:], *b_steps[6:],
    ]
