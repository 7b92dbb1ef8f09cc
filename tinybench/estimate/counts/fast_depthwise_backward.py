"""Count twin of the fast depthwise input gradient
(``firmware/kernels/fast/ConvolutionBackward/tb_depthwise_bwd_input_s8.c``).

The fast kernel's loops: two passes of the runtime shift rule; in each, channels 4 at a time
(their filters packed once per pass) and the last c % 4 one by one (all of them for kernels
above 7); per channel group, input rows and columns, each with its taps found once
(``tb_fast_tap_gather``); per input position, the tap rows and columns that reach an output.
A group of 4 reads one word of the gradient per tap, masked by a table lookup (the mask bits of
its 4 channels, from the next mask byte too when they straddle one); a single channel tests its
mask bit per tap and multiplies only where it is set. The twin returns those trip counts, the
outcomes of the tap search per row and column (its branches), and the paths of the shift rule
(the n_shift steps of its search, the store by n_shift = 0, below 32 or from 32 on). Not counted:
the new minima of pass 1 and which of the search's two tests decides each step, known only from
the accumulators (a few instructions per call, like the reference twin's new maxima and minima).
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import mask_bits, out_size

#: The largest kernel whose 4-channel filters are packed (TB_FAST_DW_MAX_K).
MAX_K = 7
PASSES = 2

#: tb_fast_tap_gather over the rows or columns of a channel group, by the path it takes (taps
#: from lo >= 0 or not, none at all or some) and stride (1 and 2 without a division).
GATHER_PATHS = ("lo_some", "lo_none", "wrap_some", "wrap_none")
GATHER_FEATURES = (*(f"gathers_s1_{p}" for p in GATHER_PATHS), *(f"gathers_s2_{p}" for p in GATHER_PATHS),
                   "gathers_s_other")

#: Per input position of a 4-channel group (without a mask, with one) or a single channel: the
#: positions, those without tap rows, tap rows, rows without tap columns, taps.
POSITION_FEATURES = ("positions", "positions_rowless", "tap_rows", "tap_rows_empty", "taps")

DEPTHWISE_BWD_INPUT_FAST_FEATURES = (
    "calls", "channel_groups", *(f"groups_trained_{j}" for j in range(4)), "pack_taps", "channel_singles",
    "singles_trained", *(f"row_{f}" for f in GATHER_FEATURES), *(f"col_{f}" for f in GATHER_FEATURES),
    *(f"{f}4" for f in POSITION_FEATURES), *(f"{f}4_masked" for f in POSITION_FEATURES), "taps4_straddling",
    *(f"{f}1" for f in POSITION_FEATURES), "taps1_masked", "taps1_passed",
    "outputs", "shift_steps", "shift_zero", "stores_unshifted", "stores_shift_32",
)


def _tap_gather(n_in: int, kernel: int, stride: int, n_out: int):
    """tb_fast_tap_gather at every input index: (count, o0, lo >= 0)."""
    t = np.arange(n_in) + kernel // 2
    lo = t - stride * (n_out - 1)
    kmax = np.minimum(t, kernel - 1)
    k0 = np.where(lo >= 0, lo, t - stride * (t // stride))
    count = np.where(kmax >= k0, (kmax - k0) // stride + 1, 0)
    return count, (t - k0) // stride, lo >= 0


def _gather_paths(count: np.ndarray, lo: np.ndarray, stride: int) -> list[int]:
    paths = [int(np.count_nonzero(lo & (count > 0))), int(np.count_nonzero(lo & (count == 0))),
             int(np.count_nonzero(~lo & (count > 0))), int(np.count_nonzero(~lo & (count == 0)))]
    return [*(v * (stride == 1) for v in paths), *(v * (stride == 2) for v in paths), count.size * (stride > 2)]


def _reach(count: np.ndarray, o0: np.ndarray, n_out: int) -> np.ndarray:
    """How many input indices' taps read each output index."""
    reach = np.zeros(n_out, np.int64)
    for c, o in zip(count, o0):
        reach[o - c + 1:o + 1] += 1
    return reach


def tb_depthwise_bwd_input_s8(grad, e_grad, mask, h_in, w_in, c, w_train, w_frozen, k_train, kernel, stride,
                              w_factor, w_exp, grad_in, *, probe):
    """``probe`` = (n_shift,)."""
    (n_shift,) = probe
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    kk = kernel * kernel
    c4 = c // 4 * 4 if kernel <= MAX_K else 0
    groups, singles = c4 // 4, c - c4
    starts = np.arange(0, c4, 4)
    trained = [int(np.count_nonzero(starts + j < k_train)) for j in range(4)]
    singles_trained = int(np.count_nonzero(np.arange(c4, c) < k_train))
    ny, oy, ly = _tap_gather(h_in, kernel, stride, h_out)
    nx, ox, lx = _tap_gather(w_in, kernel, stride, w_out)
    row_g, col_g = _gather_paths(ny, ly, stride), _gather_paths(nx, lx, stride)
    positions = [h_in * w_in, int(np.count_nonzero(ny == 0)) * w_in, int(ny.sum()) * w_in,
                 int(ny.sum()) * int(np.count_nonzero(nx == 0)), int(ny.sum()) * int(nx.sum())]
    has_mask = mask.size > 0
    # the outputs each tap reads, weighted by how many input positions read them
    reach = np.outer(_reach(ny, oy, h_out), _reach(nx, ox, w_out)).ravel()
    out_index = np.arange(h_out * w_out) * c
    straddling = sum(int(reach[((out_index + ch) & 7) > 4].sum()) for ch in starts)
    bits = mask_bits(mask, h_out * w_out * c).reshape(h_out * w_out, c)
    passed = int((bits[:, c4:] * reach[:, None]).sum())
    per_pass = [groups, *trained, groups * kk, singles, singles_trained,
                *((groups + singles) * v for v in row_g), *((groups + singles) * h_in * v for v in col_g),
                *(groups * (not has_mask) * v for v in positions), *(groups * has_mask * v for v in positions),
                straddling * has_mask, *(singles * v for v in positions), singles * positions[-1] * has_mask,
                passed]
    outputs = h_in * w_in * c
    return [1, *(PASSES * v for v in per_pass), PASSES * outputs, n_shift, n_shift == 0,
            outputs * (n_shift == 0), outputs * (n_shift >= 32)]
