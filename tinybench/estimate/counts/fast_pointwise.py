"""Count twin of the fast pointwise convolution (``firmware/kernels/fast/Convolution/tb_pointwise_fwd_s8.c``).

The kernel first checks whether its usual path applies (channel counts, zero points, every channel's
shift, the loop stopping at the first channel that fails).

Usual path, weight parts of multiples of 4 channels, at most ``MAX_CIN`` in all (the assembly path): per
call (the whole loop nest in assembly) and per pair its set-up (one weight part or two) and widening
(both parts at once: 8 channels per step, then at most a step of 4), per tile (a pair of output
channels) its dot per part (the loop of 4 steps below: passes and steps shared) with its
requantization and stores (one part of a multiple of 16 channels: no TBB into the dot), masked its bits
and every 4 tiles the mask bytes.

Usual path, two weight parts not both multiples of 4 channels, their lengths rounded up to 4 within ``MAX_CIN``,
16+ output channels (the padded path): per pair the widening of each part's groups of 4 (as above) and its padded
group, the assembly tiles of all but the last 8 output channels (the loop of 4 steps over the padded lengths) with
their mask bytes, then 4 tiles in C: per part the loop over its groups of 4 and the rest one by one.

Usual path otherwise: pairs of positions, both widened per weight part (an assembly loop of 8 channels, a
step of 4, the rest one by one; a wide part only its first ``MAX_CIN`` channels), then per pair of output channels a
2 x 2 tile: per nonempty part the assembly loop of 4 steps of 4 channels (entered or not, its
passes, its steps), the rest one by one; a wide part's channels beyond the buffer through the
strided dot (assembly steps of 8, then at most a step of 4 and the rest one by one); the
requantization and stores of a tile; mask bytes per 8 channels. The loop has copies (mask or
none, one weight part or two, wide layers in a function of their own): one weight part runs as
the frozen part.

General path: positions in order, each output channel alone: a dot per weight part (one
function: words of 4 channels, the rest one by one), the requantization (the 64-bit statement for shifts of at most
32), the store and its mask bit (set only when the output fits int8: the probe says which).
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import mask_bits

#: TB_PW_MAX_CIN of the kernel: the usual path's widened input channels per position.
MAX_CIN = 240

ASM_FEATURES = ("asm_calls", "asm_calls_masked", "asm_calls_two_parts", "asm_pairs", "asm_pairs_masked",
                "asm_pairs_two_parts",
                # the pair's widening: its loop of 8 channels (entered, steps), a step of 4
                "asm_widen_loops", "asm_widen8", "asm_widen4",
                "asm_tiles", "asm_tiles_masked", "asm_tiles_two_parts",
                # one part of a multiple of 16 channels: its copy's dot starts without the TBB
                "asm_tiles16", "asm_mask_bytes")

PADDED_FEATURES = ("padded_calls", "padded_calls_masked", "padded_pairs", "padded_pairs_masked",
                   # per part: the widening of its groups of 4 (loop of 8, steps of 8, a step of 4), its padded group
                   "padded_widen_loops", "padded_widen8", "padded_widen4", "padded_pad_parts", "padded_pad_lanes",
                   # the assembly tiles (all but the last 8 channels) and mask bytes; the C tiles' dots per part
                   "padded_tiles", "padded_tiles_masked", "padded_mask_bytes", "padded_tail_dots",
                   "padded_tail_rest_parts", "padded_tail_rest")

USUAL_FEATURES = (
    "check_channels", *ASM_FEATURES, *PADDED_FEATURES, "usual_calls", "usual_calls_masked", "usual_calls_two_parts", "pairs", "pairs_masked",
    "pairs_two_parts",
    # widening per part: the assembly loop of 8 channels (entered, steps), a step of 4, the rest
    "widen_loops", "widen_steps8", "widen_steps4", "widen_rest_parts", "widen_rest", "tiles_one_part", "tiles_two_parts", "tiles_masked",
    # the dots over the buffer: entered, rests entered and their channels, per part of each copy
    # (the one part, two parts' train and frozen part); passes of 4 steps and steps (the same
    # assembly everywhere)
    *(f"{p}_{f}" for p in ("one", "train", "frozen") for f in ("dots", "rest_dots", "rest")), "passes", "steps",
    # wide layers (their own copy of the loop): calls, tiles, the strided dot's steps of 8 and 4
    "wide_calls", "wide_tiles", "wide_steps8", "wide_steps4",
)

GENERAL_FEATURES = (
    "general_calls", "general_calls_masked", "mask_bytes_cleared", "positions", "outputs",
    # both weight parts (one function)
    "dots_with_words", "words", "dots_with_bytes", "bytes",
    # the store tests the fit first where gcc orders it so (Cortex-M7), then the mask
    "outputs_masked", "outputs_fitting", "outputs_fitting_masked", "requant_64bit",
)

POINTWISE_FWD_FAST_FEATURES = (*USUAL_FEATURES, *GENERAL_FEATURES)


def _check(h, w, c_in, x_zero, k_train, c_out, shift, y_zero) -> tuple[bool, int]:
    """tb_pw_usual: (whether the usual path runs, channels its loop looked at)."""
    wide_ok = k_train in (0, c_in) and w % 2 == 0
    if (h * w < 1 or c_in < 1 or (c_in > MAX_CIN and not wide_ok) or c_out < 8 or c_out % 8
            or not -128 <= x_zero <= 127 or not -128 <= y_zero <= 127):
        return False, 0
    s = np.asarray(shift, np.int64)
    bad = np.flatnonzero((s < 33) | (s > 62))
    return bad.size == 0, int(bad[0]) + 1 if bad.size else c_out


def _asm(h, w, c_in, k_train, c_out, has_mask) -> list[int]:
    """The assembly path's counts, in USUAL_FEATURES' order (after check_channels)."""
    one_part = k_train in (0, c_in)
    parts = (c_in,) if one_part else (k_train, c_in - k_train)
    pairs = (h * w + 1) // 2
    tiles = pairs * (c_out // 2)
    two = not one_part
    counts = dict(zip(ASM_FEATURES, [1, has_mask, two, pairs, has_mask * pairs, two * pairs, pairs * (c_in >= 8),
                                     pairs * (c_in // 8), pairs * (c_in % 8 // 4), tiles, has_mask * tiles,
                                     two * tiles, (not two and c_in % 16 == 0) * tiles,
                                     has_mask * tiles // 4]))
    counts.update(passes=tiles * sum(-(-n // 16) for n in parts), steps=tiles * (c_in // 4))
    return [counts.get(f, 0) for f in USUAL_FEATURES[1:]]


def _padded_ok(c_in, k_train, c_out) -> bool:
    """tb_pw_padded_ok: two parts, not both multiples of 4, padded lengths within the buffer, 16+ outputs."""
    return (0 < k_train < c_in and (k_train % 4 or c_in % 4) and c_out >= 16
            and -(-k_train // 4) * 4 + -(-(c_in - k_train) // 4) * 4 <= MAX_CIN)


def _padded(h, w, c_in, k_train, c_out, has_mask) -> list[int]:
    """The padded path's counts, in USUAL_FEATURES' order (after check_channels)."""
    parts = (k_train, c_in - k_train)
    padded = [-(-n // 4) * 4 for n in parts]
    n4 = [n & ~3 for n in parts]
    pairs = (h * w + 1) // 2
    tiles = pairs * ((c_out - 8) // 2)
    tail = pairs * 4
    counts = dict(zip(PADDED_FEATURES, [
        1, has_mask, pairs, has_mask * pairs, pairs * sum(n >= 8 for n in n4), pairs * sum(n // 8 for n in n4),
        pairs * sum(n % 8 // 4 for n in n4), pairs * sum(n % 4 != 0 for n in parts),
        pairs * sum(n % 4 for n in parts), tiles, has_mask * tiles, has_mask * tiles // 4,
        tail * sum(n >= 4 for n in n4), tail * sum(n % 4 != 0 for n in parts), tail * sum(n % 4 for n in parts)]))
    counts.update(passes=tiles * sum(-(-n // 16) for n in padded) + tail * sum(-(-n // 16) for n in n4),
                  steps=tiles * sum(padded) // 4 + tail * sum(n4) // 4)
    return [counts.get(f, 0) for f in USUAL_FEATURES[1:]]


def _usual(h, w, c_in, k_train, c_out, has_mask) -> list[int]:
    one_part = k_train in (0, c_in)
    if c_in <= MAX_CIN and c_in % 4 == 0 and k_train % 4 == 0:
        return _asm(h, w, c_in, k_train, c_out, has_mask)
    if _padded_ok(c_in, k_train, c_out):
        return _padded(h, w, c_in, k_train, c_out, has_mask)
    parts = (c_in,) if one_part else (k_train, c_in - k_train)
    buffered = [min(n, MAX_CIN) for n in parts]
    pairs = (h * w + 1) // 2
    tiles = pairs * (c_out // 2)
    entries = np.zeros((3, 3), np.int64)
    loops = np.zeros(2, np.int64)
    for i, n in zip((0,) if one_part else (1, 2), buffered):
        g = n // 4
        entries[i] = [g > 0, n % 4 != 0, n % 4]
        loops += [-(-g // 4), g]
    dots = np.concatenate([entries.ravel(), loops])
    wide = max(parts[-1] - MAX_CIN, 0)
    return [0] * (len(ASM_FEATURES) + len(PADDED_FEATURES)) + [1, has_mask, not one_part, pairs, has_mask * pairs, pairs * (not one_part),
            pairs * sum(n >= 8 for n in buffered),
            pairs * sum(n // 8 for n in buffered), pairs * sum(n % 8 // 4 for n in buffered),
            pairs * sum(n % 4 != 0 for n in buffered), pairs * sum(n % 4 for n in buffered),
            tiles * one_part, tiles * (not one_part), has_mask * tiles, *(tiles * dots).tolist(),
            wide > 0, tiles * (wide > 0), tiles * (wide // 8), tiles * (wide % 8 // 4)]


def _general(h, w, c_in, k_train, c_out, shift, mask, probe) -> list[int]:
    has_mask = mask.size > 0
    hw = h * w
    outputs = hw * c_out
    fits = int(mask_bits(probe[1], outputs).sum())
    parts = np.array([[n >= 4, n // 4, n % 4 != 0, n % 4] for n in (k_train, c_in - k_train)], np.int64).sum(0)
    requant_64 = hw * int((np.asarray(shift) <= 32).sum())
    return [1, has_mask, has_mask * ((outputs + 7) // 8), hw, outputs, *(outputs * parts).tolist(),
            has_mask * outputs, fits, has_mask * fits, requant_64]


def tb_pointwise_fwd_s8(x, h, w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y,
                        mask, *, probe):
    """``probe`` = (outputs, clamp mask) of the call, a scratch mask where it has none."""
    usual, looked = _check(h, w, c_in, x_zero, k_train, c_out, shift, y_zero)
    has_mask = mask.size > 0
    u = _usual(h, w, c_in, k_train, c_out, has_mask) if usual else [0] * (len(USUAL_FEATURES) - 1)
    g = [0] * len(GENERAL_FEATURES) if usual else _general(h, w, c_in, k_train, c_out, shift, mask, probe)
    return [looked, *u, *g]
