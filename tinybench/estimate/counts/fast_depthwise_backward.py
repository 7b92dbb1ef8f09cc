"""Count twin of the fast depthwise input gradient
(``firmware/kernels/fast/ConvolutionBackward/tb_depthwise_bwd_input_s8.c``).

The fast kernel writes each channel step (4 channels below c4, else one) at the shift that fits
the accumulators seen so far; a step that meets one that does not fit grows the shift and runs
again from its start, and at the end the steps before the last growth run again at the final
shift. Which steps run how far follows from the accumulators in the kernel's order (positions
row by row, the step's channels within a position), which the probe gives: the twin replays that
order. A visit of a group packs its filters and, when the plane fits (TB_DWBI_PLANE words with
its border), copies its masked gradient into it; a run of a step enters rows (tap search of the
row) and positions: a whole window per position where the plane has a border (by kernel, stride
and, for stride 2, the parities of the first taps), else the column's tap search and the tap rows
and taps from the plane, from the gradient, or from the gradient masked per tap (from the next
mask byte too when the 4 bits straddle one); a single channel tests its mask bit per tap. Each
position's outputs take the 32-bit requantization from shift 18 on, or the 64-bit one lane by
lane (by the shift's path) below it and where an accumulator does not fit. Not counted: which of
the 64-bit fit test's two comparisons fails (a few instructions per growth).
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import mask_bits, out_size

#: The largest kernel whose 4-channel filters are packed (TB_FAST_DW_MAX_K), the words of the
#: masked gradient plane (TB_DWBI_PLANE) and the shift from which the 32-bit requantization runs.
MAX_K = 7
PLANE = 144
FAST_SHIFT = 18
#: The groups taken first (TB_DWBI_TOP).
TOP = 8

#: tb_fast_tap_gather by the path it takes (taps from lo >= 0 or not, none at all or some) and
#: stride (1 and 2 without a division).
GATHER_PATHS = ("lo_some", "lo_none", "wrap_some", "wrap_none")
GATHER_FEATURES = (*(f"gathers_s1_{p}" for p in GATHER_PATHS), *(f"gathers_s2_{p}" for p in GATHER_PATHS),
                   "gathers_s_other")
#: The whole windows (tb_dwbi_window4) by stride, kernel and the parities of the first taps.
WINDOWS = ("windows_s1_k3", "windows_s1_k5", *(f"windows_s2_k{k}_p{p}" for k in (3, 7) for p in range(4)))
#: Per position of the tap-search path of a group (from the plane, the gradient, the gradient
#: masked) or a single channel: the positions, those without tap rows, tap rows, rows without tap
#: columns, taps.
TAP_FEATURES = ("positions", "positions_rowless", "tap_rows", "tap_rows_empty", "taps")
TAP_SOURCES = ("4p", "4d", "4m", "1")
#: The 64-bit requantization of one output by the path of tb_fast_shift_apply.
SLOW_PATHS = ("slow_n0", "slow_lo", "slow_hi")

POSITION_FEATURES = (
    "positions4", "fast4", "fast1", *WINDOWS, *(f"col_{f}" for f in GATHER_FEATURES),
    *(f"{f}{s}" for s in TAP_SOURCES for f in TAP_FEATURES), "taps4m_straddling", "taps1_masked", "taps1_passed",
)
ROW_FEATURES = ("rows", *(f"row_{f}" for f in GATHER_FEATURES))
DEPTHWISE_BWD_INPUT_FAST_FEATURES = (
    "calls", "key_groups", "key_words", "top_inserts", "top_moves", "top_checks", "visits4", "visits1", *(f"groups_trained_{j}" for j in range(4)), "pack_taps", "planes",
    "plane_rows", "plane_words", "plane_words_masked", "plane_straddling", "plane_border_words", "plane_side_words",
    *(f"runs{nb}_q{q}" for nb in (4, 1) for q in ("0", "mid", "hi")), *ROW_FEATURES, *POSITION_FEATURES,
    *SLOW_PATHS, "growths", "shift_steps",
    # tb_dwbi_rows_s1: its calls, those that stop at an output that does not fit, rows, positions
    "tight_runs", "tight_stops", "tight_rows", "tight_positions_k3", "tight_positions_k5",
)
_INDEX = {f: i for i, f in enumerate(DEPTHWISE_BWD_INPUT_FAST_FEATURES)}


def _tap_gather(n_in: int, kernel: int, stride: int, n_out: int):
    """tb_fast_tap_gather at every input index: (count, first output index, lo >= 0)."""
    t = np.arange(n_in) + kernel // 2
    lo = t - stride * (n_out - 1)
    kmax = np.minimum(t, kernel - 1)
    k0 = np.where(lo >= 0, lo, t - stride * (t // stride))
    count = np.where(kmax >= k0, (kmax - k0) // stride + 1, 0)
    return count, (t - k0) // stride, lo >= 0


def _gather_paths(count: np.ndarray, lo: np.ndarray, stride: int) -> np.ndarray:
    """[index, GATHER_FEATURES]: the path each index's tap search takes."""
    paths = np.stack([lo & (count > 0), lo & (count == 0), ~lo & (count > 0), ~lo & (count == 0)], axis=1)
    out = np.zeros((count.size, len(GATHER_FEATURES)), np.int64)
    if stride == 1:
        out[:, 0:4] = paths
    elif stride == 2:
        out[:, 4:8] = paths
    else:
        out[:, 8] = 1
    return out


def _reads(count: np.ndarray, o0: np.ndarray, n_out: int) -> np.ndarray:
    """[input index, output index]: 1 where a tap of the input index reads the output index."""
    r = np.zeros((count.size, n_out), np.int64)
    for i, (c, o) in enumerate(zip(count, o0)):
        r[i, o - c + 1:o + 1] = 1
    return r


def _border(kernel: int, stride: int) -> int:
    if stride == 1 and kernel in (3, 5):
        return kernel // 2
    if stride == 2 and kernel in (3, 7):
        return kernel // 4 + 1
    return 0


def _needed_shift(acc: np.ndarray) -> np.ndarray:
    """The smallest shift under which each accumulator fits (tb_fast_shift_set's bounds)."""
    need = np.full(acc.shape, 55, np.int64)
    for n in range(54, -1, -1):
        lo, hi = (-127, 127) if n == 0 else (-(255 << (n - 1)), (255 << (n - 1)) - 1)
        need[(acc >= lo) & (acc <= hi)] = n
    return need


def _top(grad: np.ndarray, plane: int, c: int, c4: int, w_factor: np.ndarray) -> tuple[list[int], int, int]:
    """tb_dwbi_top: the groups with the largest keys (w_factor x the sum of |gradient| of a
    channel, the largest of the group's four), largest first, the first of equal keys first; and
    the insertions into the list and the moves within it that took."""
    g = np.abs(grad[:plane * c].reshape(plane, c).astype(np.int64)).sum(axis=0)
    keys = (w_factor[:c4].astype(np.int64) * g[:c4]).reshape(-1, 4).max(axis=1)
    top: list[int] = []
    key: list[int] = []
    inserts = moves = 0
    for i, best in enumerate(int(v) for v in keys):
        if len(top) < TOP or best > key[-1]:
            if len(top) == TOP:
                top.pop()
                key.pop()
            j = len(top)
            while j > 0 and key[j - 1] < best:
                j -= 1
            moves += len(top) - j
            top.insert(j, i)
            key.insert(j, best)
            inserts += 1
    return top, inserts, moves


def _slow_path(n: int) -> int:
    return _INDEX["slow_n0" if n == 0 else "slow_lo" if n < 32 else "slow_hi"]


def _q_kind(n: int) -> str:
    return "0" if n < FAST_SHIFT else "mid" if n <= 32 else "hi"


def tb_depthwise_bwd_input_s8(grad, e_grad, mask, h_in, w_in, c, w_train, w_frozen, k_train, kernel, stride,
                              w_factor, w_exp, grad_in, *, probe):
    """``probe`` = (n_shift, the accumulators [h_in * w_in, c])."""
    acc = probe[1]
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    kk = kernel * kernel
    c4 = c // 4 * 4 if kernel <= MAX_K else 0
    has_mask = mask.size > 0
    border = _border(kernel, stride)
    in_plane = (h_out + 2 * border) * (w_out + 2 * border) <= PLANE
    if not in_plane:
        border = 0
    pitch = w_out + 2 * border
    tight = border > 0 and stride == 1  # tb_dwbi_rows_s1 takes the groups' runs from shift 18 on
    positions = h_in * w_in
    F = len(DEPTHWISE_BWD_INPUT_FAST_FEATURES)

    ny, oy, ly = _tap_gather(h_in, kernel, stride, h_out)
    nx, ox, lx = _tap_gather(w_in, kernel, stride, w_out)
    rows = np.zeros((h_in, F), np.int64)
    rows[:, _INDEX["rows"]] = 1
    rows[:, [_INDEX[f"row_{f}"] for f in GATHER_FEATURES]] = _gather_paths(ny, ly, stride)
    row_cum = np.cumsum(rows, axis=0)
    read_y, read_x = _reads(ny, oy, h_out), _reads(nx, ox, w_out)
    bits = mask_bits(mask, h_out * w_out * c).reshape(h_out, w_out, c)
    col_paths = _gather_paths(nx, lx, stride)

    def tap_part(src: str) -> np.ndarray:
        """[position, F]: a position's column search and tap loops from source ``src``."""
        p = np.zeros((h_in, w_in, F), np.int64)
        p[:, :, [_INDEX[f"col_{f}"] for f in GATHER_FEATURES]] = col_paths[None, :, :]
        p[:, :, _INDEX[f"positions{src}"]] = 1
        p[:, :, _INDEX[f"positions_rowless{src}"]] = (ny == 0)[:, None]
        p[:, :, _INDEX[f"tap_rows{src}"]] = ny[:, None]
        p[:, :, _INDEX[f"tap_rows_empty{src}"]] = ny[:, None] * (nx == 0)[None, :]
        p[:, :, _INDEX[f"taps{src}"]] = ny[:, None] * nx[None, :]
        return p

    # what a position of a group costs besides the data-dependent columns (per step below)
    group = np.zeros((h_in, w_in, F), np.int64)
    group[:, :, _INDEX["positions4"]] = 1
    source = None
    if border > 0:
        pad = kernel // 2
        if stride == 1:
            group[:, :, _INDEX[f"windows_s1_k{kernel}"]] = 1
        else:
            parity = 2 * ((np.arange(h_in) + pad) & 1)[:, None] + ((np.arange(w_in) + pad) & 1)[None, :]
            for q in range(4):
                group[:, :, _INDEX[f"windows_s2_k{kernel}_p{q}"]] += parity == q
    else:
        source = "4p" if in_plane else "4m" if has_mask else "4d"
        group += tap_part(source)
    single = tap_part("1")
    single[:, :, _INDEX["taps1_masked"]] = ny[:, None] * nx[None, :] * has_mask

    def straddling(ch: int) -> np.ndarray:
        o = np.arange(h_out * w_out) * c + ch
        return read_y @ ((o & 7) > 4).reshape(h_out, w_out).astype(np.int64) @ read_x.T

    counts = np.zeros(F, np.int64)
    counts[_INDEX["calls"]] = 1
    need = _needed_shift(acc)
    steps = [(ch, 4) for ch in range(0, c4, 4)] + [(ch, 1) for ch in range(c4, c)]
    base = {4: group.reshape(positions, F), 1: single.reshape(positions, F)}
    base_total = {nb: b.sum(axis=0) for nb, b in base.items()}
    extras: dict[int, np.ndarray] = {}

    def extra(ch: int, nb: int) -> tuple[int, np.ndarray] | None:
        """The one per-position count that depends on the channels: the straddling mask words of
        a group read per tap, the passed taps of a single channel (cached per step)."""
        if nb == 4 and source != "4m":
            return None
        if ch not in extras:
            extras[ch] = (straddling(ch) if nb == 4 else read_y @ bits[:, :, ch].astype(np.int64) @ read_x.T).ravel()
        return _INDEX["taps4m_straddling" if nb == 4 else "taps1_passed"], extras[ch]

    def position_counts(ch: int, nb: int, done: int) -> np.ndarray:
        """The counts of the first ``done`` positions of a run (row by row)."""
        out = base_total[nb].copy() if done == positions else base[nb][:done].sum(axis=0)
        e = extra(ch, nb)
        if e is not None:
            out[e[0]] += e[1][:done].sum()
        return out

    def visit(ch: int, nb: int) -> None:
        counts[_INDEX[f"visits{nb}"]] += 1
        if nb == 1:
            return
        for j in range(4):
            counts[_INDEX[f"groups_trained_{j}"]] += ch + j < k_train
        counts[_INDEX["pack_taps"]] += kk
        if in_plane:
            counts[_INDEX["planes"]] += 1
            counts[_INDEX["plane_rows"]] += h_out
            counts[_INDEX["plane_words"]] += h_out * w_out
            counts[_INDEX["plane_words_masked"]] += h_out * w_out * has_mask
            o = np.arange(h_out * w_out) * c + ch
            counts[_INDEX["plane_straddling"]] += int(np.count_nonzero((o & 7) > 4)) * has_mask

    def run(ch: int, nb: int, n: int) -> int | None:
        """One run of a step at shift n: counts it; the shift it grows to, or None."""
        counts[_INDEX[f"runs{nb}_q{_q_kind(n)}"]] += 1
        lanes = need[:, ch:ch + nb].ravel()
        over = np.flatnonzero(lanes > n)
        done = positions if over.size == 0 else int(over[0]) // nb + 1
        if tight and nb == 4 and n >= FAST_SHIFT:
            # the tight loop up to the first position that does not fit, which the general
            # loop then takes (its row's tap search, the position, its 64-bit lanes)
            counts[_INDEX["tight_runs"]] += 1
            counts[_INDEX["tight_rows"]] += (done - 1) // w_in + 1
            counts[_INDEX[f"tight_positions_k{kernel}"]] += done
            if over.size == 0:
                return None
            counts[_INDEX["tight_stops"]] += 1
            counts[:] += rows[(done - 1) // w_in] + base[4][done - 1]
            counts[_INDEX["fast4"]] += 1
            counts[_slow_path(n)] += int(over[0]) % nb
            counts[_INDEX["growths"]] += 1
            grown = int(lanes[over[0]])
            counts[_INDEX["shift_steps"]] += grown - n
            return grown
        counts[:] += row_cum[(done - 1) // w_in] + position_counts(ch, nb, done)
        if n >= FAST_SHIFT:
            counts[_INDEX[f"fast{nb}"]] += done
            slow = 0 if over.size == 0 else int(over[0]) % nb  # the lanes of the last position before it
        else:
            slow = done * nb if over.size == 0 else int(over[0])
        counts[_slow_path(n)] += slow
        if over.size == 0:
            return None
        counts[_INDEX["growths"]] += 1
        grown = int(lanes[over[0]])
        counts[_INDEX["shift_steps"]] += grown - n
        return grown

    top, inserts, moves = _top(grad, h_out * w_out, c, c4, w_factor) if in_plane else ([], 0, 0)
    counts[_INDEX["plane_border_words"]] = pitch * border * in_plane
    counts[_INDEX["plane_side_words"]] = h_out * border * in_plane
    counts[_INDEX["key_groups"]] = c4 // 4 * in_plane
    counts[_INDEX["key_words"]] = c4 // 4 * in_plane * h_out * w_out
    counts[_INDEX["top_inserts"]] = inserts
    counts[_INDEX["top_moves"]] = moves
    n, redo = 0, 0
    for p in range(2):
        end = len(top) + len(steps) if p == 0 else redo  # every step, then those before the last growth
        step = 0
        for g in top[:end]:
            visit(4 * g, 4)
            grew = False
            while (grown := run(4 * g, 4, n)) is not None:
                n, grew = grown, True
            redo = step if grew else redo
            step += 1
        for ch, nb in steps:
            if step >= end:
                break
            if nb == 4:
                g = ch // 4
                counts[_INDEX["top_checks"]] += top.index(g) + 1 if g in top else len(top)
                if g in top:
                    continue
            visit(ch, nb)
            grew = False
            while (grown := run(ch, nb, n)) is not None:
                n, grew = grown, True
            redo = step if grew else redo
            step += 1
    return [int(v) for v in counts]
