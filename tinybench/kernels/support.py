"""Shared integer helpers of the kernels (the twins of ``Internal/tb_nn_support.h``).

Every function here is the Numba statement of one ``static inline`` C helper of the same
name; the rules they implement are defined in docs/kernels.md. Integers are handled as
int64 in Numba (its integer promotion), and every value stays inside the range the C
code holds it in, so both give the same numbers.

They are inlined at the Numba IR level (``inline="always"``), as their C twins are
``static inline``: left to LLVM, calls with array offsets were not inlined and the
convolution kernels ran 1.6 to 2.6 times slower (benchmarks/host_training_step.py).
A kernel inlining a helper is recompiled after an edit here: the cache is keyed by every
kernel source (:mod:`tinybench.kernels.numba_cache`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
#: Largest magnitude an int8 activation gradient takes; -128 is never produced.
GRAD_MAX = 127


@njit(cache=True, inline="always")
def tb_nn_sat_s8(v):
    """Clamp an integer to [-128, 127]."""
    if v < -128:
        return -128
    if v > 127:
        return 127
    return v


@njit(cache=True, inline="always")
def tb_nn_sat_s32(v):
    """Clamp an int64 to [INT32_MIN, INT32_MAX]."""
    if v < INT32_MIN:
        return INT32_MIN
    if v > INT32_MAX:
        return INT32_MAX
    return v


@njit(cache=True, inline="always")
def tb_nn_requantize(acc, m, s):
    """``(int64(acc) * m + 2**(s-1)) >> s`` (floor, so round half up); s in [1, 62]."""
    return (np.int64(acc) * np.int64(m) + (np.int64(1) << np.int64(s - 1))) >> np.int64(s)


@njit(cache=True, inline="always")
def tb_nn_round_shift(a, n):
    """Round-half-up right shift of an int64 by n in [0, 62]: ``(a + 2**(n-1)) >> n``."""
    if n == 0:
        return np.int64(a)
    return (np.int64(a) + (np.int64(1) << np.int64(n - 1))) >> np.int64(n)


@njit(cache=True, inline="always")
def tb_nn_range_add(rng, acc):
    """Widen ``rng`` = [largest, smallest] accumulator (both start at 0) to include ``acc``.

    Pass 1 of the runtime shift rule; ``rng`` is an int64 array of 2.
    """
    if acc > rng[0]:
        rng[0] = acc
    if acc < rng[1]:
        rng[1] = acc


@njit(cache=True, inline="always")
def tb_nn_grad_shift(rng):
    """Smallest n >= 0 with round_shift(rng[0], n) <= 127 and round_shift(rng[1], n) >= -127.

    ``rng`` holds the largest accumulator (or 0) and the smallest (or 0), see
    :func:`tb_nn_range_add`; since the round shift is monotonic, every accumulator then lands
    in [-127, 127].
    """
    n = 0
    while tb_nn_round_shift(rng[0], n) > GRAD_MAX or tb_nn_round_shift(rng[1], n) < -GRAD_MAX:
        n += 1
    return n


@njit(cache=True, inline="always")
def tb_nn_mask_get(mask, i):
    """Bit i of a packed mask (1 = gradient passes); an empty mask passes everything."""
    if mask.size == 0:
        return 1
    return (np.int64(mask[i >> 3]) >> np.int64(i & 7)) & 1


@njit(cache=True, inline="always")
def tb_nn_sgd_delta(grad, m, shift, e_grad):
    """Parameter step ``sat_s32(round_half_up(grad * m * 2**(e_grad - shift)))``.

    The effective right shift ``s = shift - e_grad`` may fall outside [1, 62]: for s > 62
    the exact rounded value is 0 (|grad * m| < 2**62); for s <= 0 the product is shifted
    left with saturation to int32.
    """
    s = np.int64(shift) - np.int64(e_grad)
    prod = np.int64(grad) * np.int64(m)
    if prod == 0 or s > 62:
        return np.int64(0)
    if s >= 1:
        return tb_nn_sat_s32((prod + (np.int64(1) << (s - 1))) >> s)
    t = -s
    if t > 31:
        t = 31
    return tb_nn_sat_s32(tb_nn_sat_s32(prod) * (np.int64(1) << t))


@njit(cache=True, inline="always")
def tb_nn_mask_put(mask, i, bits, bit):
    """Collect bit ``i`` of a mask written in order; store each byte once it is full.

    Returns the pending bits. An empty mask is not written.
    """
    bits = bits | (bit << (i & 7))
    if (i & 7) == 7:
        if mask.size != 0:
            mask[i >> 3] = bits
        return 0
    return bits


@njit(cache=True, inline="always")
def tb_nn_mask_flush(mask, n, bits):
    """Store the last, partial byte of a mask of n bits (its unused high bits are 0)."""
    if (n & 7) != 0 and mask.size != 0:
        mask[n >> 3] = bits


@njit(cache=True, inline="always")
def tb_nn_output_s8(acc, bias, m, s, y_zero):
    """Unclamped output ``requantize(sat_s32(acc + bias), m, s) + y_zero`` (int64)."""
    return tb_nn_requantize(tb_nn_sat_s32(np.int64(acc) + np.int64(bias)), m, s) + y_zero


@njit(cache=True, inline="always")
def tb_nn_store_s8(y, mask, i, bits, v):
    """``y[i] = sat_s8(v)`` and bit ``i`` of a mask written in order (1: v fits int8, the
    clamp was not active), see :func:`tb_nn_mask_put`. Returns the pending bits."""
    y[i] = tb_nn_sat_s8(v)
    return tb_nn_mask_put(mask, i, bits, 1 if -128 <= v <= 127 else 0)


@njit(cache=True, inline="always")
def tb_nn_dot_s8(x, x_first, x_zero, w, w_first, n):
    """``sum over j < n of (x[x_first + j] - x_zero) * w[w_first + j]`` (int32)."""
    acc = 0
    for j in range(n):
        acc += (x[x_first + j] - x_zero) * w[w_first + j]
    return acc


@njit(cache=True, inline="always")
def tb_nn_window_sum(x, h_in, w_in, x_channels, x_first, x_zero, w, w_first, n, kernel, stride,
                     oy, ox):
    """Accumulator of output position (oy, ox) of a k x k convolution (padding k // 2) over
    ``n`` input channels: for each tap (ky, kx) inside the input, with ``iy = oy * stride -
    k // 2 + ky`` (likewise ``ix``), :func:`tb_nn_dot_s8` of ``x[iy, ix, x_first:x_first+n]``
    (of ``x_channels`` channels) with the weights ``w[w_first + (ky * k + kx) * n:][:n]``;
    padding taps contribute 0 (int32). Dense: one call per weight part (a part of ``n = 0``
    channels costs no tap loop); depthwise: ``n = 1``.
    """
    if n == 0:
        return 0
    pad = kernel // 2
    acc = 0
    for ky in range(kernel):
        iy = oy * stride - pad + ky
        if iy < 0 or iy >= h_in:
            continue
        for kx in range(kernel):
            ix = ox * stride - pad + kx
            if ix < 0 or ix >= w_in:
                continue
            acc += tb_nn_dot_s8(x, (iy * w_in + ix) * x_channels + x_first, x_zero,
                                w, w_first + ky * kernel * n + kx * n, n)
    return acc


@njit(cache=True, inline="always")
def tb_nn_floor_div(num, den):
    """Floor division by a positive divisor (C's ``/`` truncates; the C twin is 32-bit)."""
    return num // den  # Numba's // on integers floors, like Python's


@njit(cache=True, inline="always")
def tb_nn_sgd_step_s8(w, grad, m, shift, e_grad):
    """The SGD step of one int8 weight: ``sat_s8(w - tb_nn_sgd_delta(grad, m, shift, e_grad))``."""
    return tb_nn_sat_s8(np.int64(w) - tb_nn_sgd_delta(grad, m, shift, e_grad))


@njit(cache=True, inline="always")
def tb_nn_sgd_step_s32(b, grad, m, shift, e_grad):
    """The SGD step of one int32 bias: ``sat_s32(b - tb_nn_sgd_delta(grad, m, shift, e_grad))``."""
    return tb_nn_sat_s32(np.int64(b) - tb_nn_sgd_delta(grad, m, shift, e_grad))


@njit(cache=True, inline="always")
def tb_nn_bias_grad_sum(grad, mask, positions, channels, c):
    """Bias gradient of channel ``c``: the masked output gradient ``grad[pos, c]`` (of
    ``channels`` channels) summed over ``positions`` (int32)."""
    gsum = 0
    for pos in range(positions):
        gi = pos * channels + c
        if tb_nn_mask_get(mask, gi):
            gsum += grad[gi]
    return gsum


@njit(cache=True, inline="always")
def tb_nn_weight_grad_sum(grad, mask, x_saved, h_in, w_in, k_train, x_zero, channels, kernel,
                          stride, c, ky, kx, ci):
    """Weight gradient ``grad_w[c, ky, kx, ci]`` of a k x k convolution (padding k // 2).

    The masked output gradient ``grad[oy, ox, c]`` (of ``channels`` channels) times
    ``x_saved[iy, ix, ci] - x_zero`` (of ``k_train`` channels), summed over the output
    positions, with ``iy = oy * stride - k // 2 + ky`` (likewise ``ix``); taps outside the
    input contribute 0 (int32). Dense: ``channels = C_out``; depthwise: ``channels = C`` and
    ``ci = c`` (a 1x1 convolution has the flat :func:`tb_nn_pointwise_weight_grad_sum`).
    """
    pad = kernel // 2
    h_out = (h_in + stride - 1) // stride
    w_out = (w_in + stride - 1) // stride
    acc = 0
    for oy in range(h_out):
        iy = oy * stride - pad + ky
        if iy < 0 or iy >= h_in:
            continue
        for ox in range(w_out):
            ix = ox * stride - pad + kx
            if ix < 0 or ix >= w_in:
                continue
            gi = (oy * w_out + ox) * channels + c
            if tb_nn_mask_get(mask, gi) == 0:
                continue
            acc += grad[gi] * (x_saved[(iy * w_in + ix) * k_train + ci] - x_zero)
    return acc


@njit(cache=True, inline="always")
def tb_nn_pointwise_weight_grad_sum(grad, mask, x_saved, positions, k_train, x_zero, channels,
                                    c, ci):
    """Weight gradient ``grad_w[c, ci]`` of a 1x1 convolution: the masked output gradient
    ``grad[pos, c]`` (of ``channels`` channels) times ``x_saved[pos, ci] - x_zero`` (of
    ``k_train`` channels), summed over ``positions`` (int32)."""
    acc = 0
    for pos in range(positions):
        gi = pos * channels + c
        if tb_nn_mask_get(mask, gi) == 0:
            continue
        acc += grad[gi] * (x_saved[pos * k_train + ci] - x_zero)
    return acc


@njit(cache=True, inline="always")
def tb_nn_tap_output(i, k, pad, stride, n_out):
    """The output index ``o`` in [0, n_out) whose tap ``k`` reads input index ``i``
    (``o * stride - pad + k = i``), or -1 if there is none: the gather of a transposed
    convolution."""
    t = i + pad - k
    if t < 0 or t % stride != 0 or t // stride >= n_out:
        return -1
    return t // stride


@njit(cache=True, inline="always")
def tb_nn_input_grad_sum(grad, mask, gb, c_out, w_factor, w_train, w_frozen, k_train, c_in, taps,
                         tap, ci):
    """Input gradient of input channel ``ci`` from one output position of a dense (or 1x1)
    convolution: the masked output gradients ``grad[gb + c]`` times ``w_factor[c]`` times
    the weight ``w[c, tap, ci]`` (``taps = k * k`` per output channel, split into the trained
    and frozen parts), summed over the ``c_out`` output channels (int64)."""
    k_frozen = c_in - k_train
    acc = np.int64(0)
    for c in range(c_out):
        if tb_nn_mask_get(mask, gb + c) == 0:
            continue
        gf = grad[gb + c] * w_factor[c]
        if ci < k_train:
            wv = w_train[(c * taps + tap) * k_train + ci]
        else:
            wv = w_frozen[(c * taps + tap) * k_frozen + ci - k_train]
        acc += gf * wv
    return acc
