"""Independent numpy statements of the kernel semantics of docs/kernels.md.

Written without looking at the kernels' loop structure: sliding windows and einsum for
the convolutions, scatter-adds for their transposes, Python integers or fractions for
the rounding rules. Used to check the Numba kernels (and, through the bit-exact tests,
the C ones) against the documented arithmetic.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

I32_MIN, I32_MAX = -(2**31), 2**31 - 1


def windows(x_centered: np.ndarray, k: int, stride: int) -> np.ndarray:
    """[h_out, w_out, c, k, k] windows of a zero-padded (already centred) HWC tensor."""
    p = k // 2
    xp = np.pad(x_centered, ((p, p), (p, p), (0, 0)))
    return sliding_window_view(xp, (k, k), axis=(0, 1))[::stride, ::stride]


def conv_acc(x, x_zero, w, stride, depthwise=False) -> np.ndarray:
    """int64 accumulators [h_out, w_out, c_out] of sum (x - x_zero) * w (no bias)."""
    k = w.shape[1]
    win = windows(x.astype(np.int64) - x_zero, k, stride)
    w64 = w.astype(np.int64)
    if depthwise:
        return np.einsum("yxcij,cij->yxc", win, w64[..., 0])
    return np.einsum("yxcij,oijc->yxo", win, w64)


def requant_out(acc, bias, mult, shift, y_zero):
    """(unclamped value, clamped int8, mask bool) of the documented requantization."""
    a = np.clip(acc.astype(np.int64) + bias.astype(np.int64), I32_MIN, I32_MAX)
    m = mult.astype(np.int64)
    s = shift.astype(np.int64)
    v = ((a * m + (np.int64(1) << (s - 1))) >> s) + y_zero
    return v, np.clip(v, -128, 127).astype(np.int8), (v >= -128) & (v <= 127)


def float_out(acc, bias, x_scale, w_scales, y_scale, y_zero):
    """The paper's float formula: clamp(round(acc * x_scale * w_scale / y_scale) + y_zero)."""
    real = (acc.astype(np.float64) + bias.astype(np.float64)) * (x_scale * w_scales / y_scale)
    return np.clip(np.round(real) + y_zero, -128, 127).astype(np.int64)


def round_shift(a: int, n: int) -> int:
    return a if n == 0 else (a + (1 << (n - 1))) >> n


def grad_shift(accs) -> int:
    """Smallest n >= 0 with every round_shift(acc, n) in [-127, 127] (brute force)."""
    vals = [int(v) for v in np.asarray(accs).ravel()]
    lo, hi = min(vals + [0]), max(vals + [0])
    n = 0
    while round_shift(hi, n) > 127 or round_shift(lo, n) < -127:
        n += 1
    return n


def to_grad(accs: np.ndarray, e_acc: int):
    """int8 tensor and exponent from int64 accumulators by the runtime shift rule."""
    n = grad_shift(accs)
    out = np.array([round_shift(int(v), n) for v in accs.ravel()], dtype=np.int64)
    assert out.min(initial=0) >= -127 and out.max(initial=0) <= 127
    return out.reshape(accs.shape).astype(np.int8), e_acc + n


def conv_input_acc(gm, w, f, h_in, w_in, stride, depthwise=False):
    """int64 input-gradient accumulators [h_in, w_in, c_in] by scatter (transposed conv).

    gm: masked output gradient [h_out, w_out, c_out]; w: OHWI; f: Q15 factors [c_out].
    """
    k = w.shape[1]
    p = k // 2
    h_out, w_out, c_out = gm.shape
    c_in = c_out if depthwise else w.shape[3]
    acc = np.zeros((h_in + 2 * p + stride, w_in + 2 * p + stride, c_in), np.int64)
    g = gm.astype(np.int64)
    w64 = w.astype(np.int64)
    for ky in range(k):
        for kx in range(k):
            if depthwise:
                contrib = g * w64[:, ky, kx, 0] * f.astype(np.int64)
            else:
                contrib = np.einsum("yxo,oc->yxc", g * f.astype(np.int64), w64[:, ky, kx, :])
            acc[ky:ky + h_out * stride:stride, kx:kx + w_out * stride:stride] += contrib
    return acc[p:p + h_in, p:p + w_in]


def conv_weight_grad(gm, x_saved, x_zero, k, stride, depthwise=False):
    """(grad_w, grad_b) int64: grad_w OHWI [c_out, k, k, k_train] ([k_train, k, k] dw)."""
    win = windows(x_saved.astype(np.int64) - x_zero, k, stride)  # [ho, wo, kt, k, k]
    g = gm.astype(np.int64)
    gb = g.sum(axis=(0, 1))
    if depthwise:
        kt = x_saved.shape[2]
        return np.einsum("yxcij,yxc->cij", win, g[..., :kt]), gb
    return np.einsum("yxcij,yxo->oijc", win, g), gb


def sgd_delta(grad: int, m: int, shift: int, e: int) -> int:
    """sat_s32(round_half_up(grad * m * 2**(e - shift))) with exact rationals."""
    v = Fraction(grad * m) * Fraction(2) ** (e - shift)
    r = (v + Fraction(1, 2)).__floor__()
    return max(I32_MIN, min(I32_MAX, int(r)))


def unpack(mask: np.ndarray, n: int) -> np.ndarray:
    return np.unpackbits(mask, bitorder="little")[:n].astype(bool)
