"""Count twin of the fast fused pointwise -> depthwise forward
(``firmware/kernels/fast/Convolution/tb_pwdw_fwd_s8.c``).

Per channel the fast kernel computes the plane four positions at a time (an assembly loop nest
of 8-channel steps for channels whose requantization is fast and whose c_in is a multiple of
8, for c_in = 8 one assembly loop with the weights in registers, else C quads of 4-channel
groups; the last positions one by one), then the depthwise part.
Planes whose bordered copy fits the kernel's buffer (PADDED bytes, filled with the zero point
once per call) are copied into it and every window is inside: one grid of windows. Larger
planes: the filter rows padded, the inner columns' full rows one grid, their rows cut by the
plane's top or bottom as runs (a start row moved inside, against zero filter rows), the edge
columns one by one (each column's filter rebuilt when its pattern changes, its full-height
windows as one run down the column, the rest one window at a time, by words or, where the words
would leave the plane, tap by tap). A grid of a 3 x 3 kernel without a mask goes by pairs of
windows (by stride) and an odd last one per row, other grids a run per row. The twin returns
those loops' trip counts and entries, split where the compiled code differs (kernel size, words
per row, mask or none, the 3 x 3 and 5 x 5 runs in assembly or in C); a channel's paths follow
from its bias and shift (arguments), the outputs that fit int8 from the probe.
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import mask_bits, out_size

#: The largest kernel the fast kernel reads by words (TB_PWDW_MAX_K); larger ones go tap by tap.
MAX_K = 7
#: The bordered plane (TB_PWDW_PADDED bytes, TB_PWDW_SLACK of them after the last row).
PADDED, SLACK = 488, 4


def padded_bytes(h_in: int, w_in: int, kernel: int) -> int:
    """The bytes the fast kernel fills for a bordered plane, 0 if it takes none."""
    n = (h_in + kernel - 1) * (w_in + kernel - 1) + SLACK
    return n if kernel in (3, 5, 7) and n <= PADDED else 0

PWDW_FWD_FAST_FEATURES = (
    "calls", "calls_masked", "calls_rows_fit", "mask_bytes_cleared", "channels",
    # pointwise: the assembly loop nest, C quads, the last positions one by one
    "pw_fast_channels", "pw_c8_channels", "pw_asm_channels", "pw_asm_quads", "pw_asm_steps", "pw_q8_channels",
    "pw_q8_quads",
    "pw_c_channels", "pw_c_quads", "pw_c_group_loops", "pw_c_groups", "pw_c_byte_loops", "pw_c_bytes",
    "pw_tail_channels", "pw_tail_positions", "pw_tail_group_loops", "pw_tail_groups", "pw_tail_byte_loops",
    "pw_tail_bytes", "pw_general_outputs",
    # depthwise: per channel and column
    "dw_channels", "dw_pad_rows", "dw_pad_taps", "dw_run_channels", "dw_inner_channels", "dw_right_channels",
    "dw_columns", "dw_columns_norun", "dw_inner_runs", "dw_edge_runs",
    "filter_builds", "filter_rows", "filter_words", "filter_narrow_words",
    # runs of full windows, by kernel size, without and with a mask
    "run_calls_k3", "run_calls_k5", "run_calls_k7", "run_windows_k3", "run_windows_k5", "run_windows_k7",
    "run_calls_masked_k3", "run_calls_masked_k5", "run_calls_masked_k7",
    "run_windows_masked_k3", "run_windows_masked_k5", "run_windows_masked_k7", "run_calls_k3_lane3",
    "run_windows_k3_lane3", "run_calls_k5_lead", "run_windows_k5_lead",
    "run_rows_k3", "run_rows_k5", "run_rows_k7", "run_rows_masked_k3", "run_rows_masked_k5", "run_rows_masked_k7",
    # grids of windows all inside (the inner columns' full rows, bordered planes): 3 x 3 without a mask in one
    # call (pairs of windows by stride, an odd last one), else a run per row
    "grid3_calls", "grid3_rows", "grid3_pair_rows", "grid3_pairs_s1", "grid3_pairs_s2", "grid3_odd_rows",
    "grid_runs",
    # small planes: the bordered plane filled once per call, each fast channel's plane copied in
    "padded_calls", "padded_fill_words", "padded_channels", "padded_copy_rows", "padded_copy_words",
    "padded_copy_bytes",
    # single windows, by words per row; tap by tap
    "single_calls_2words", "single_windows_1word", "single_windows_2words", "single_rows_1word",
    "single_rows_2words", "tap_windows", "tap_rows", "taps",
    # requantization and stores
    "dw_general_outputs", "requant_64bit", "singles_masked", "singles_fit_1word", "singles_fit_2words",
    "mask_sets_runs_k3", "mask_sets_runs_k5", "mask_sets_runs_k7", "mask_sets_singles_1word",
    "mask_sets_singles_2words",
)

#: The depthwise loop counts of one channel (:func:`_depthwise`).
DW_LOOPS = ("runs", "inner", "columns", "norun", "inner_runs", "edge_runs", "builds", "narrow_builds", "run_calls",
            "run_windows", "lead_runs", "lead_windows", "grid3", "grid3_rows", "grid3_pair_rows", "grid3_pairs",
            "grid3_odd_rows", "grid_runs", "run_rows", "padded",
            "single_calls", "single_windows", "single_rows", "tap_windows", "tap_rows", "taps")


def _fast(bias: np.ndarray, shift: np.ndarray, terms: int) -> np.ndarray:
    """tb_pwdw_rq: the channels whose requantization is one SMMLA and a shift."""
    bias, shift = np.asarray(bias, np.int64), np.asarray(shift, np.int64)
    return (shift >= 33) & (shift <= 54) & (np.abs(bias) < (2**31 - 1) - terms * 32768)


def _tap_range(o: int, stride: int, kernel: int, n_in: int) -> tuple[int, int]:
    """tb_fast_tap_range."""
    first = o * stride - kernel // 2
    return (-first if first < 0 else 0), (n_in - first if first + kernel > n_in else kernel)


def _depthwise(h_in: int, w_in: int, kernel: int, stride: int, fast: bool, has_mask: bool
               ) -> tuple[dict[str, int], np.ndarray]:
    """The depthwise loops of one channel (kernel <= MAX_K) whose requantization is fast or not,
    and which outputs (h_out x w_out) its runs compute."""
    c = dict.fromkeys(DW_LOOPS, 0)

    def grid(rows: int, n: int) -> None:  # tb_pwdw_grid
        if kernel == 3 and not has_mask:
            c["grid3"] += 1
            c["grid3_rows"] += rows
            c["grid3_pair_rows"] += rows * (n >= 2)
            c["grid3_pairs"] += rows * (n // 2)
            c["grid3_odd_rows"] += rows * (n % 2)
        else:
            c["grid_runs"] += 1  # one run of all the rows
            c["run_calls"] += 1
            c["run_rows"] += rows
            c["run_windows"] += rows * n

    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    pad, words = kernel // 2, (kernel + 3) // 4
    span = 4 * words
    positions = h_in * w_in
    oy_lo = (pad + stride - 1) // stride
    oy_hi = (h_in - kernel + pad) // stride + 1 if h_in - kernel + pad >= 0 else 0
    narrow = w_in < span
    runs = fast and kernel in (3, 5, 7) and h_in >= kernel and not narrow
    right = w_in - span + pad
    ox_lo = (pad + stride - 1) // stride
    ox_hi = min(right // stride + 1 if right >= 0 else 0, w_out)
    if not runs or ox_lo >= ox_hi:
        ox_lo = ox_hi = 0
    if fast and padded_bytes(h_in, w_in, kernel):
        c["padded"] = 1
        c["builds"] = 1
        grid(h_out, w_out)
        return c, np.ones((h_out, w_out), bool)
    run_map = np.zeros((h_out, w_out), bool)
    c["runs"] = int(runs)
    key = -1
    if ox_lo < ox_hi:
        key = kernel
        c["inner"] = 1
        c["builds"] += 1
        n = ox_hi - ox_lo
        full = max(oy_hi - oy_lo, 0)  # the full rows: one grid
        if full:
            grid(full, n)
        c["inner_runs"] += h_out - full
        c["run_calls"] += h_out - full
        c["run_rows"] += h_out - full
        c["run_windows"] += (h_out - full) * n
        run_map[:, ox_lo:ox_hi] = True

    def singles(oy0: int, oy1: int, ox: int, rs: int) -> None:
        c["single_calls"] += 1
        kx0, kx1 = _tap_range(ox, stride, kernel, w_in)
        for oy in range(oy0, oy1):
            ky0, ky1 = _tap_range(oy, stride, kernel, h_in)
            if ky1 > ky0 and (oy * stride - pad + ky1 - 1) * w_in + rs + span <= positions:
                c["single_windows"] += 1
                c["single_rows"] += ky1 - ky0
            else:
                c["tap_windows"] += 1
                c["tap_rows"] += ky1 - ky0
                c["taps"] += (ky1 - ky0) * (kx1 - kx0)

    ox = 0
    while ox < w_out:
        c["columns"] += 1
        if ox == ox_lo and ox_lo < ox_hi:
            ox = ox_hi
            continue
        ix0 = ox * stride - pad
        kx0, kx1 = _tap_range(ox, stride, kernel, w_in)
        rs = max(min(ix0, w_in - span), 0)
        pattern = (ix0 - rs) * 64 + kx0 * 8 + kx1
        if pattern != key:
            key = pattern
            c["builds"] += 1
            c["narrow_builds"] += narrow
        if not runs:
            c["norun"] += 1
            singles(0, h_out, ox, rs)
        else:
            singles(0, oy_lo, ox, rs)
            if oy_lo < oy_hi:
                c["run_calls"] += 1
                c["run_rows"] += 1
                c["edge_runs"] += 1
                c["run_windows"] += oy_hi - oy_lo
                c["lead_runs"] += ix0 > rs  # a filter with a tap in lane 3
                c["lead_windows"] += (ix0 > rs) * (oy_hi - oy_lo)
                run_map[oy_lo:oy_hi, ox] = True
            singles(max(oy_hi, oy_lo), h_out, ox, rs)
        ox += 1
    return c, run_map


def tb_pwdw_fwd_s8(x, h_in, w_in, c_in, x_zero, pw_w, pw_bias, pw_mult, pw_shift, mid_zero, c_mid, plane, dw_w,
                   dw_bias, kernel, stride, dw_mult, dw_shift, y_zero, y, mask, *, probe):
    """``probe`` = (plane values and clamp mask of every channel, outputs and their clamp mask)."""
    _, _, _, out_mask = probe
    h_out, w_out = out_size(h_in, stride), out_size(w_in, stride)
    n = h_out * w_out * c_mid
    positions = h_in * w_in
    has_mask = int(mask.size > 0)
    fits = mask_bits(out_mask, n).reshape(h_out, w_out, c_mid)
    pw_fast = _fast(pw_bias[:c_mid], pw_shift[:c_mid], c_in)
    dw_fast = _fast(dw_bias[:c_mid], dw_shift[:c_mid], kernel * kernel)
    quads, tail = positions // 4, positions % 4
    groups, rest = c_in // 4, c_in % 4
    n_fast = int(pw_fast.sum())
    c8 = n_fast * (c_in % 8 == 0)
    asm = c8 * (positions >= 4)
    wide = asm * (c_in != 8)  # c_in = 8: the weights in registers (tb_pwdw_plane_quads8)
    c_ch = (c_mid - asm) * (positions >= 4)
    c_quads = c_ch * quads
    f = dict.fromkeys(PWDW_FWD_FAST_FEATURES, 0)
    f.update(calls=1, calls_masked=has_mask, calls_rows_fit=int(h_in - kernel + kernel // 2 >= 0),
             mask_bytes_cleared=has_mask * ((n + 7) // 8), channels=c_mid,
             pw_fast_channels=n_fast, pw_c8_channels=c8, pw_asm_channels=wide, pw_asm_quads=wide * quads,
             pw_asm_steps=wide * quads * (c_in // 8), pw_q8_channels=asm - wide, pw_q8_quads=(asm - wide) * quads,
             pw_c_channels=c_ch, pw_c_quads=c_quads,
             pw_c_group_loops=c_quads * (groups > 0), pw_c_groups=c_quads * groups,
             pw_c_byte_loops=c_quads * (rest > 0), pw_c_bytes=c_quads * rest,
             pw_tail_channels=c_mid * (tail > 0), pw_tail_positions=c_mid * tail,
             pw_tail_group_loops=c_mid * tail * (groups > 0), pw_tail_groups=c_mid * tail * groups,
             pw_tail_byte_loops=c_mid * tail * (rest > 0), pw_tail_bytes=c_mid * tail * rest,
             pw_general_outputs=(c_mid - n_fast) * positions,
             dw_general_outputs=int((~dw_fast).sum()) * h_out * w_out,
             requant_64bit=int((np.asarray(pw_shift[:c_mid]) <= 32).sum()) * positions
             + int((np.asarray(dw_shift[:c_mid]) <= 32).sum()) * h_out * w_out)
    if kernel > MAX_K:
        rows = sum(k1 - k0 for k0, k1 in (_tap_range(o, stride, kernel, h_in) for o in range(h_out)))
        cols = sum(k1 - k0 for k0, k1 in (_tap_range(o, stride, kernel, w_in) for o in range(w_out)))
        f.update(tap_windows=n, tap_rows=c_mid * w_out * rows, taps=c_mid * rows * cols)
        return list(f.values())
    words = (kernel + 3) // 4
    padded = padded_bytes(h_in, w_in, kernel)
    dw = dict.fromkeys(DW_LOOPS, 0)
    in_runs = 0  # outputs of runs that fit int8
    n_dw = int(dw_fast.sum())
    for flag, count in ((True, n_dw), (False, c_mid - n_dw)):
        if count:
            loops, run_map = _depthwise(h_in, w_in, kernel, stride, flag, bool(has_mask))
            for name, v in loops.items():
                dw[name] += count * v
            in_runs += int(fits[run_map][:, dw_fast == flag].sum())
    in_singles = int(fits.sum()) - in_runs
    one, two = int(words == 1), int(words == 2)
    f.update(dw_channels=c_mid, dw_pad_rows=c_mid * kernel, dw_pad_taps=c_mid * kernel * kernel,
             dw_run_channels=dw["runs"], dw_inner_channels=dw["inner"],
             dw_right_channels=c_mid * (w_in - 4 * words + kernel // 2 >= 0), dw_columns=dw["columns"],
             dw_columns_norun=dw["norun"], dw_inner_runs=dw["inner_runs"], dw_edge_runs=dw["edge_runs"],
             filter_builds=dw["builds"], filter_rows=dw["builds"] * kernel, filter_words=dw["builds"] * kernel * words,
             filter_narrow_words=dw["narrow_builds"] * kernel * words,
             grid3_calls=dw["grid3"], grid3_rows=dw["grid3_rows"], grid3_pair_rows=dw["grid3_pair_rows"],
             grid3_pairs_s1=dw["grid3_pairs"] * (stride == 1), grid3_pairs_s2=dw["grid3_pairs"] * (stride == 2),
             grid3_odd_rows=dw["grid3_odd_rows"], grid_runs=dw["grid_runs"],
             padded_calls=int(padded > 0), padded_fill_words=(padded + 3) // 4, padded_channels=dw["padded"],
             padded_copy_rows=dw["padded"] * h_in, padded_copy_words=dw["padded"] * h_in * (w_in // 4),
             padded_copy_bytes=dw["padded"] * h_in * (w_in % 4),
             single_calls_2words=dw["single_calls"] * two, single_windows_1word=dw["single_windows"] * one,
             single_windows_2words=dw["single_windows"] * two, single_rows_1word=dw["single_rows"] * one,
             single_rows_2words=dw["single_rows"] * two, tap_windows=dw["tap_windows"], tap_rows=dw["tap_rows"],
             taps=dw["taps"], singles_masked=(n - dw["run_windows"]) * has_mask,
             singles_fit_1word=in_singles * one, singles_fit_2words=in_singles * two,
             mask_sets_singles_1word=in_singles * has_mask * one, mask_sets_singles_2words=in_singles * has_mask * two)
    if not dw["run_calls"]:
        return list(f.values())
    k = f"k{kernel}"
    f[f"run_calls_{k}"] = dw["run_calls"]
    f[f"run_rows_{k}"] = dw["run_rows"]
    f[f"run_rows_masked_{k}"] = dw["run_rows"] * has_mask
    f[f"run_windows_{k}"] = dw["run_windows"]
    f[f"run_calls_masked_{k}"] = dw["run_calls"] * has_mask
    f[f"run_windows_masked_{k}"] = dw["run_windows"] * has_mask
    f[f"mask_sets_runs_{k}"] = in_runs * has_mask
    # the assembly runs take filters of lead <= 0 (3 x 3: lane 3 empty, 5 x 5: lanes 5-7), the C run the others
    if kernel == 3 and not has_mask:
        f.update(run_calls_k3_lane3=dw["lead_runs"], run_windows_k3_lane3=dw["lead_windows"])
    if kernel == 5 and not has_mask:
        f.update(run_calls_k5_lead=dw["lead_runs"], run_windows_k5_lead=dw["lead_windows"])
    return list(f.values())
