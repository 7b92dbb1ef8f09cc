"""Count twin of the fast fused pointwise update
(``firmware/kernels/fast/Update/tb_pointwise_bwd_weight_sgd_s8.c``).

The fast kernel's loops are not the reference's: channels in groups, 4 at a time while no weight
is trained (bias sums of one gradient word per position, lanes flushed every 256 positions), else
(and for the last c_out % 4 then) pairs and a single last one; a group's trained input channels
in chunks of CHUNK (one empty chunk without any), positions in blocks of BLOCK, each block's
gradient packed into position pairs (mask bit pairs that open the next byte read it), then
2 x 2 tiles (1 x 2 for an odd last input channel) over the block's position pairs and its odd
last position; each channel's weights take no step (zero multiplier or effective shift above
62), the 32-bit step (shift 32..62) or the reference's step, whose paths the probe's gradient
sums give (:func:`~tinybench.estimate.counts.update.sgd_paths`), as for every bias. A loop's
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
    "pack_loops", "pack_pairs", "pack_singles", "pack_pairs_masked", "pack_singles_masked", "pack_straddles",
    "pack_tails", "pack_tails_masked",
    "tiles2", "tile2_loops", "tile2_steps", "tile2_tails",
    "tiles1", "tile1_loops", "tile1_steps", "tile1_tails",
    "rows_skipped", "rows_fast", "rows_ref", "weights_fast", "weights_ref",
) + tuple(f"{part}_{p}" for part in ("weight", "bias") for p in SGD_PATHS)


def _modes(mult: np.ndarray, shift: np.ndarray, e_grad: int) -> np.ndarray:
    """tb_pwsgd_sgd_init's mode of each channel: 0 no step, 1 32-bit, 2 reference."""
    s = shift.astype(np.int64) - e_grad
    return np.where((mult == 0) | (s > 62), 0, np.where(s >= 32, 1, 2))


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
    # the pair pack reads bits gi, gi + 1 at two positions per step (the odd tail reads bit by bit)
    pack_straddles = has_mask * n_chunks * _straddles(c_out, pair_channels, 2 * pos_pairs, 7)
    quad_channels = 4 * np.arange(quads)
    modes = _modes(w_mult, w_shift, e_grad)[first:]
    fast, ref = int(np.count_nonzero(modes == 1)), int(np.count_nonzero(modes == 2))
    ref_rows = first + np.nonzero(modes == 2)[0]
    if k_train > 0 and ref_rows.size:
        gw = grad_w.reshape(c_out, k_train)[ref_rows].ravel()
        wo = w_old.reshape(c_out, k_train)[ref_rows].ravel()
        weight_paths = sgd_paths(wo, gw, ref_rows.size, k_train, w_mult[ref_rows], w_shift[ref_rows], e_grad)
    else:
        weight_paths = [0] * len(SGD_PATHS)
    bias_paths = sgd_paths(b_old, grad_b, c_out, 1, b_mult, b_shift, e_grad)
    return [
        1,
        int(bias_only), quads, quads * -(-positions // LANES), quads * positions, has_mask * quads * positions,
        has_mask * _straddles(c_out, quad_channels, positions, 5),
        singles, groups, pairs, groups * n_chunks, groups * k_train, groups * n_chunks * n_blocks,
        bias_only * groups, bias_only * groups * n_blocks, bias_only * rest,
        groups * n_chunks * paired_blocks, pairs * n_chunks * pos_pairs, singles * n_chunks * pos_pairs,
        has_mask * pairs * n_chunks * pos_pairs, has_mask * singles * n_chunks * pos_pairs, pack_straddles,
        groups * n_chunks * tail, has_mask * groups * n_chunks * tail,
        groups * tiles2_per_block * n_blocks, groups * tiles2_per_block * paired_blocks,
        groups * tiles2_per_block * pos_pairs, groups * tiles2_per_block * tail,
        groups * tiles1_per_block * n_blocks, groups * tiles1_per_block * paired_blocks,
        groups * tiles1_per_block * pos_pairs, groups * tiles1_per_block * tail,
        (modes.size - fast - ref) * n_chunks, fast * n_chunks, ref * n_chunks, fast * k_train, ref * k_train,
        *weight_paths, *bias_paths,
    ]
