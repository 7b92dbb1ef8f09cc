"""The designed calls of the estimator's calibration: shapes and data for every kernel.

Calibration fits each kernel's cost per counted event from measured calls. The calls here are
not the paper's models (those are the test set): seeded random shapes over the ranges the
models use, scaled down to fit a microbenchmark firmware (spatial sizes up to about 20, channels
up to 64, odd sizes and channel counts that are not multiples of 4, every kernel size and
stride, every trained-channel split from none to all), and data that visits every path the
twins count: masks from all clear to all set or absent, outputs that saturate both ways,
all-zero gradients, SGD shifts on both sides of [1, 62].
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinybench.kernels.host import input_grad_factors, mask_bytes, out_size, softmax_exp_table
from tinybench.models.ir import quantize_multiplier_pair

Args = list
Rng = np.random.Generator

EMPTY_U8 = np.zeros(0, np.uint8)
EMPTY_S8 = np.zeros(0, np.int8)


def _s8(rng: Rng, n: int, spread: int = 128) -> np.ndarray:
    return rng.integers(-spread, spread, n).astype(np.int8)


def _grads(rng: Rng, n: int) -> np.ndarray:
    """Activation gradients of any magnitude (so that the runtime shift takes every value from
    0 up), dense or sparse (mostly zero), or all zero."""
    mode = rng.choice(["dense", "dense", "sparse", "zero"])
    if mode == "zero":
        return np.zeros(n, np.int8)
    top = int(rng.choice([1, 2, 8, 127, int(rng.integers(1, 128))]))
    g = rng.integers(-top, top + 1, n).astype(np.int8)
    if mode == "sparse":
        g[rng.random(n) < 0.8] = 0
    return g


def _mask_in(rng: Rng, n: int) -> np.ndarray:
    """A mask a backward kernel reads: a random density from all clear to all set, or absent."""
    if rng.random() < 0.15:
        return EMPTY_U8
    bits = rng.random(n) < rng.choice([0.0, 0.2, 0.5, 0.8, 1.0])
    return np.packbits(bits, bitorder="little")


def _mask_out(rng: Rng, n: int) -> np.ndarray:
    return np.zeros(mask_bytes(n), np.uint8) if rng.random() < 0.6 else EMPTY_U8


def _requant(rng: Rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mult, shift) putting outputs inside int8 mostly, saturating some both ways."""
    return (rng.integers(2**30, 2**31, n).astype(np.int32),
            (rng.integers(36, 44) + rng.integers(-2, 3, n)).astype(np.int32))


def _bias(rng: Rng, n: int) -> np.ndarray:
    return rng.integers(-30000, 30000, n).astype(np.int32)


def _zero(rng: Rng) -> int:
    return int(rng.choice([-128, 0, int(rng.integers(-128, 128))]))


def _k_train(rng: Rng, c: int) -> int:
    return int(rng.choice([0, c, c // 2, c // 8, int(rng.integers(0, c + 1))]))


def _split(w: np.ndarray, k: int, depthwise: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if depthwise:
        return np.ascontiguousarray(w[:k]).ravel(), np.ascontiguousarray(w[k:]).ravel()
    return np.ascontiguousarray(w[..., :k]).ravel(), np.ascontiguousarray(w[..., k:]).ravel()


def _spatial(rng: Rng, hi: int = 14) -> tuple[int, int, int]:
    return int(rng.integers(1, hi + 1)), int(rng.integers(1, hi + 1)), int(rng.choice([1, 2]))


def _w_factor(rng: Rng, n: int) -> tuple[np.ndarray, int]:
    """Input-gradient factors of weight scales spread over one to three decades."""
    top = rng.uniform(np.log(1e-3), np.log(1e-1))
    f, w_exp = input_grad_factors(np.exp(rng.uniform(top - rng.uniform(0, 7), top, n)))
    return f, w_exp


def _sgd(rng: Rng, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """SGD (mult, shift, e_grad) with effective shifts mostly in [1, 62], some beyond each end."""
    e = int(rng.integers(-30, 5))
    s = e + rng.choice([rng.integers(20, 48, n), rng.integers(-8, 80, n)], p=[0.7, 0.3])
    m = rng.integers(2**30, 2**31, n).astype(np.int32)
    if rng.random() < 0.1:
        m[:] = 0
    return m, s.astype(np.int32), e


def conv_fwd(rng: Rng) -> Args:
    """General convolutions, and in 2 of 5 calls the models' stem (3 channels of one weight
    part, 3 x 3, stride 2, up to 16 output channels), which the fast kernel runs its own way."""
    h, w, s = _spatial(rng, 12)
    k = int(rng.choice([1, 1, 3, 3, 3, 5, 7]))
    c_in, c_out = int(rng.choice([1, 3, 4, 5, 8, 16])), int(rng.integers(1, 12))
    kt = _k_train(rng, c_in)
    if rng.random() < 0.4:
        s, k, c_in, c_out, kt = 2, 3, 3, int(rng.integers(1, 17)), int(rng.choice([0, 3]))
    wt, wf = _split(_s8(rng, c_out * k * k * c_in).reshape(c_out, k, k, c_in), kt)
    n = out_size(h, s) * out_size(w, s) * c_out
    return [_s8(rng, h * w * c_in), h, w, c_in, _zero(rng), wt, wf, kt, _bias(rng, c_out), c_out, k, s,
            *_requant(rng, c_out), _zero(rng), np.zeros(n, np.int8), _mask_out(rng, n)]


def _depthwise_layer(rng: Rng, size: int) -> tuple:
    """(h, w, stride, kernel, channels, k_train, w_train, w_frozen, outputs) of a depthwise layer."""
    h, w, s = _spatial(rng, size)
    k = int(rng.choice([3, 5, 7]))
    c = int(rng.choice([1, 5, 8, 13, 24]))
    kt = _k_train(rng, c)
    wt, wf = _split(_s8(rng, c * k * k).reshape(c, k, k, 1), kt, depthwise=True)
    return h, w, s, k, c, kt, wt, wf, out_size(h, s) * out_size(w, s) * c


def depthwise_fwd(rng: Rng) -> Args:
    """For the fast kernel's paths, 40% of the planes thin (1 high, 1 wide or 2 to 3 either way:
    windows with one tap row or column, rows without interior windows, no window inside along x),
    30% larger than the kernel both ways (whole interior windows of every kernel); a quarter of
    the calls with biases at the int32 ends."""
    h, w, s, k, c, kt, wt, wf, n = _depthwise_layer(rng, 16)
    shape = rng.random()
    if shape < 0.4:
        thin = rng.random()
        h, w = (1, w) if thin < 0.4 else (h, 1) if thin < 0.7 else \
            (int(rng.integers(2, 4)), w) if thin < 0.85 else (h, int(rng.integers(2, 4)))
    elif shape < 0.7:
        h, w = (max(v, k + 1 + s * int(rng.integers(0, 4))) for v in (h, w))
    n = out_size(h, s) * out_size(w, s) * c
    bias = _bias(rng, c)
    if rng.random() < 0.25:  # biases at the int32 ends: groups whose sums could saturate (the C loop)
        bias[rng.random(c) < 0.3] = rng.choice([2**31 - 1, -2**31])
    return [_s8(rng, h * w * c), h, w, c, _zero(rng), wt, wf, kt, bias, k, s, *_requant(rng, c),
            _zero(rng), np.zeros(n, np.int8), _mask_out(rng, n)]


def pointwise_fwd(rng: Rng) -> Args:
    h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    # the fast kernel's usual path: output channels a multiple of 8; wide layers beyond 240 inputs; its
    # assembly path (one weight part, a multiple of 4 channels) entered at every step of its loop
    c_in = int(rng.choice([1, 3, 4, 8, 12, 13, 16, 24, 40, 64, 101, 236, 260, 300, 336]))
    c_out = int(rng.choice([8, 16, 24])) if rng.random() < 0.65 else int(rng.integers(1, 24))
    kt = _k_train(rng, c_in)
    wt, wf = _split(_s8(rng, c_out * c_in).reshape(c_out, 1, 1, c_in), kt)
    n = h * w * c_out
    return [_s8(rng, h * w * c_in), h, w, c_in, _zero(rng), wt, wf, kt, _bias(rng, c_out), c_out,
            *_requant(rng, c_out), _zero(rng), np.zeros(n, np.int8), _mask_out(rng, n)]


def pwdw_fwd(rng: Rng) -> Args:
    """Planes from 2 x 2 (every window at an edge) to 20 x 20 (runs of inner windows of every kernel, for
    the fast kernel; its bordered copy up to 488 bytes), bands of rows beyond that copy (the models'
    row tiles), c_in a multiple of 8 or not, with a byte tail after its words or bytes alone."""
    shape = rng.random()
    h, w = (int(v) for v in (rng.integers(2, 9, 2) if shape < 0.2 else
                             (rng.integers(5, 15), rng.integers(24, 49)) if shape < 0.5 else rng.integers(7, 21, 2)))
    s = int(rng.choice([1, 2]))
    k = int(rng.choice([3, 5, 7]))
    c_in, c_mid = int(rng.choice([1, 3, 8, 12, 13, 16, 21, 24, 40])), int(rng.integers(1, 16))
    n = out_size(h, s) * out_size(w, s) * c_mid
    return [_s8(rng, h * w * c_in), h, w, c_in, _zero(rng), _s8(rng, c_mid * c_in), _bias(rng, c_mid),
            *_requant(rng, c_mid), _zero(rng), c_mid, np.zeros(h * w, np.int8), _s8(rng, c_mid * k * k),
            _bias(rng, c_mid), k, s, *_requant(rng, c_mid), _zero(rng), np.zeros(n, np.int8), _mask_out(rng, n)]


def add_fwd(rng: Rng) -> Args:
    n = int(rng.integers(1, 3000))
    ma, mb, s = quantize_multiplier_pair(float(rng.uniform(0.1, 2.0)), float(rng.uniform(0.1, 2.0)))
    return [_s8(rng, n), _zero(rng), _s8(rng, n), _zero(rng), n, ma, mb, s, _zero(rng), np.zeros(n, np.int8),
            _mask_out(rng, n)]


def channel_copy(rng: Rng) -> Args:
    positions, c = int(rng.integers(1, 400)), int(rng.integers(1, 40))
    k = _k_train(rng, c)
    return [_s8(rng, positions * c), positions, c, k, np.zeros(positions * k, np.int8)]


def avgpool_fwd(rng: Rng) -> Args:
    h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    c = int(rng.integers(1, 100))
    return [_s8(rng, h * w * c), h, w, c, _zero(rng), np.zeros(c, np.int8)]


def softmax_ce_bwd(rng: Rng) -> Args:
    n = int(rng.choice([2, 10, 37, 100, 1000]))
    return [_s8(rng, n), n, int(rng.integers(0, n)), softmax_exp_table(float(rng.uniform(0.01, 0.5))),
            np.zeros(n, np.int8)]


def conv_bwd_input(rng: Rng) -> Args:
    h, w, s = _spatial(rng, 10)
    k = int(rng.choice([1, 3, 3, 5, 7]))
    c_in, c_out = int(rng.choice([1, 3, 8, 13])), int(rng.integers(1, 14))
    kt = _k_train(rng, c_in)
    wt, wf = _split(_s8(rng, c_out * k * k * c_in).reshape(c_out, k, k, c_in), kt)
    n = out_size(h, s) * out_size(w, s) * c_out
    f, w_exp = _w_factor(rng, c_out)
    return [_grads(rng, n), int(rng.integers(-30, 5)), _mask_in(rng, n), h, w, c_in, wt, wf, kt, c_out, k, s, f,
            w_exp, np.zeros(h * w * c_in, np.int8)]


def depthwise_bwd_input(rng: Rng) -> Args:
    """For the fast kernel's paths, a quarter of the planes too large for its stack plane (taps
    read from the gradient, masked per tap or without a mask)."""
    h, w, s, k, c, kt, wt, wf, n = _depthwise_layer(rng, 14)
    mask_p = 0.15
    if rng.random() < 0.25:
        h, w, s, mask_p = int(rng.integers(12, 17)), int(rng.integers(12, 17)), 1, 0.4
        n = h * w * c
    mask = EMPTY_U8 if rng.random() < mask_p else _mask_in(rng, n)
    f, w_exp = _w_factor(rng, c)
    return [_grads(rng, n), int(rng.integers(-30, 5)), mask, h, w, c, wt, wf, kt, k, s, f, w_exp,
            np.zeros(h * w * c, np.int8)]


def pointwise_bwd_input(rng: Rng) -> Args:
    """Also output channels past one mask window of the fast kernel (32), input channels of
    every remainder mod 4, single positions (the classifier), and (late) a position 0 whose few products give the largest
    accumulators but not the largest sum of magnitudes: the fast kernel writes it last, so its
    shift grows after outputs are written."""
    h, w = (1, 1) if rng.random() < 0.15 else (int(rng.integers(1, 10)), int(rng.integers(1, 10)))
    late = h * w > 1 and rng.random() < 0.4
    c_in = int(rng.choice([1, 2, 3, 5, 8, 13, 24, 40, 66]))
    c_out = int(rng.integers(40, 80)) if late else int(rng.integers(1, 24)) if rng.random() < 0.6 else \
        int(rng.integers(24, 80))
    kt = _k_train(rng, c_in)
    wts = _s8(rng, c_out * c_in).reshape(c_out, 1, 1, c_in)
    n = h * w * c_out
    grad, mask = _grads(rng, n), _mask_in(rng, n)
    f, w_exp = _w_factor(rng, c_out)
    if not late and c_out >= 24 and rng.random() < 0.5:  # dense products, none 0 (every bit set)
        grad = (rng.integers(1, 128, n) * rng.choice([-1, 1], n)).astype(np.int8)
        mask = EMPTY_U8 if rng.random() < 0.5 else np.packbits(np.ones(n, bool), bitorder="little")
    if late:
        grad = rng.integers(-20, 21, n).astype(np.int8)
        grad[:c_out] = 0
        grad[0] = 127
        wts[0] = 127
        f[0] = f.max()
        if mask.size:
            mask = np.packbits(rng.random(n) < 0.9, bitorder="little")
            mask[0] |= 1
    wt, wf = _split(wts, kt)
    return [grad, int(rng.integers(-30, 5)), mask, h, w, c_in, wt, wf, kt, c_out, f, w_exp,
            np.zeros(h * w * c_in, np.int8)]


def add_bwd(rng: Rng) -> Args:
    n = int(rng.integers(1, 3000))
    return [_grads(rng, n), int(rng.integers(-30, 5)), _mask_in(rng, n), n, np.zeros(n, np.int8)]


def grad_sum_bwd(rng: Rng) -> Args:
    n = int(rng.integers(1, 3000))
    e_a = int(rng.integers(-30, 5))
    e_b = e_a + int(rng.choice([0, 0, 1, -1, 3, -5, 40, int(rng.integers(-10, 11))]))
    return [_grads(rng, n), e_a, _grads(rng, n), e_b, n, np.zeros(n, np.int8)]


def avgpool_bwd(rng: Rng) -> Args:
    h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    c = int(rng.integers(1, 100))
    return [_grads(rng, c), int(rng.integers(-30, 5)), h, w, c, np.zeros(h * w * c, np.int8)]


def _weight_grad(rng: Rng, kernel: int | None, depthwise: bool) -> dict:
    if kernel == 1:
        h, w, s = int(rng.integers(1, 10)), int(rng.integers(1, 10)), 1
    else:
        h, w, s = _spatial(rng, 10)
        kernel = int(rng.choice([3, 5, 7] if depthwise else [3, 3, 5, 7]))
    c_in = int(rng.choice([1, 3, 8, 13, 24]))
    c_out = c_in if depthwise else int(rng.integers(1, 14))
    kt = _k_train(rng, c_in)
    n = out_size(h, s) * out_size(w, s) * c_out
    return dict(h=h, w=w, k=kernel, s=s, c_in=c_in, c_out=c_out, kt=kt, grad=_grads(rng, n), mask=_mask_in(rng, n),
                x=_s8(rng, h * w * kt), xz=_zero(rng))


def conv_bwd_weight(rng: Rng) -> Args:
    d = _weight_grad(rng, None, False)
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["kt"], d["xz"], d["c_out"], d["k"], d["s"],
            np.zeros(d["c_out"] * d["k"] ** 2 * d["kt"], np.int32), np.zeros(d["c_out"], np.int32)]


def depthwise_bwd_weight(rng: Rng) -> Args:
    d = _weight_grad(rng, None, True)
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["c_in"], d["kt"], d["xz"], d["k"], d["s"],
            np.zeros(d["kt"] * d["k"] ** 2, np.int32), np.zeros(d["c_in"], np.int32)]


def pointwise_bwd_weight(rng: Rng) -> Args:
    d = _weight_grad(rng, 1, False)
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["kt"], d["xz"], d["c_out"],
            np.zeros(d["c_out"] * d["kt"], np.int32), np.zeros(d["c_out"], np.int32)]


def _grad_sums(rng: Rng, n: int) -> np.ndarray:
    g = rng.integers(-(2**18), 2**18, n).astype(np.int32)
    g[rng.random(n) < rng.choice([0.0, 0.3, 1.0])] = 0
    return g


def sgd_update_s8(rng: Rng) -> Args:
    rows, row_len = int(rng.integers(1, 40)), int(rng.integers(1, 80))
    m, s, e = _sgd(rng, rows)
    return [_s8(rng, rows * row_len), _grad_sums(rng, rows * row_len), rows, row_len, m, s, e]


def sgd_update_s32(rng: Rng) -> Args:
    n = int(rng.integers(1, 400))
    m, s, e = _sgd(rng, n)
    return [_bias(rng, n), _grad_sums(rng, n), n, m, s, e]


def _fused_sgd(rng: Rng, channels: int) -> tuple:
    mw, sw, e = _sgd(rng, channels)
    mb, sb, _ = _sgd(rng, channels)
    return e, mw, sw, mb, sb


def conv_bwd_weight_sgd(rng: Rng) -> Args:
    d = _weight_grad(rng, None, False)
    e, mw, sw, mb, sb = _fused_sgd(rng, d["c_out"])
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["kt"], d["xz"], d["c_out"], d["k"], d["s"], e,
            _s8(rng, d["c_out"] * d["k"] ** 2 * d["kt"]), mw, sw, _bias(rng, d["c_out"]), mb, sb]


def depthwise_bwd_weight_sgd(rng: Rng) -> Args:
    d = _weight_grad(rng, None, True)
    e, mw, sw, mb, sb = _fused_sgd(rng, d["c_in"])
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["c_in"], d["kt"], d["xz"], d["k"], d["s"], e,
            _s8(rng, d["kt"] * d["k"] ** 2), mw, sw, _bias(rng, d["c_in"]), mb, sb]


def pointwise_bwd_weight_sgd(rng: Rng) -> Args:
    """The fast kernel's calls are short, so a few instructions of data-dependent cost weigh
    more than in the reference's: shapes nearer the models' than _weight_grad's, layers (2 to 12
    rows and columns, 8 to 40 output channels, often a multiple of 8 as in every model) and the
    classifier (one position, many trained input channels); no trained input channel (bias sums
    only, half the models' calls) or more than one chunk of the fast kernel (32) more often, no
    mask more often, and weight and bias steps on every side of the fast kernel's 32-bit ranges
    (1..31, 32..62)."""
    d = _weight_grad(rng, 1, False)
    if rng.random() < 0.8:  # a layer
        d["h"], d["w"] = int(rng.integers(2, 13)), int(rng.integers(2, 13))
        d["c_out"] = int(rng.choice([8 * int(rng.integers(1, 5)), int(rng.integers(8, 40))]))
        d["kt"] = int(rng.choice([0, d["kt"], d["kt"], int(rng.integers(33, 48))]))
    else:  # the classifier
        d["h"] = d["w"] = 1
        d["kt"], d["c_out"] = int(rng.integers(20, 70)), int(rng.integers(2, 16))
    n = d["h"] * d["w"] * d["c_out"]
    d["grad"], d["mask"], d["x"] = _grads(rng, n), _mask_in(rng, n), _s8(rng, d["h"] * d["w"] * d["kt"])
    if rng.random() < 0.2:
        d["mask"] = EMPTY_U8
    e, mw, sw, mb, sb = _fused_sgd(rng, d["c_out"])
    if rng.random() < 0.4:
        sw = (e + rng.choice([-3, 0, 1, 12, 31, 32, 40, 62, 63], d["c_out"])).astype(np.int32)
    if rng.random() < 0.3:
        sb = (e + rng.choice([-2, 0, 1, 20, 40, 63], d["c_out"])).astype(np.int32)
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["kt"], d["xz"], d["c_out"], e,
            _s8(rng, d["c_out"] * d["kt"]), mw, sw, _bias(rng, d["c_out"]), mb, sb]


#: kernel name -> designed call generator
DESIGNS: dict[str, Callable[[Rng], Args]] = {
    "tb_conv_fwd_s8": conv_fwd,
    "tb_depthwise_fwd_s8": depthwise_fwd,
    "tb_pointwise_fwd_s8": pointwise_fwd,
    "tb_pwdw_fwd_s8": pwdw_fwd,
    "tb_add_fwd_s8": add_fwd,
    "tb_channel_copy_fwd_s8": channel_copy,
    "tb_avgpool_fwd_s8": avgpool_fwd,
    "tb_softmax_ce_bwd_s8": softmax_ce_bwd,
    "tb_conv_bwd_input_s8": conv_bwd_input,
    "tb_depthwise_bwd_input_s8": depthwise_bwd_input,
    "tb_pointwise_bwd_input_s8": pointwise_bwd_input,
    "tb_add_bwd_s8": add_bwd,
    "tb_grad_sum_bwd_s8": grad_sum_bwd,
    "tb_avgpool_bwd_s8": avgpool_bwd,
    "tb_conv_bwd_weight_s32": conv_bwd_weight,
    "tb_depthwise_bwd_weight_s32": depthwise_bwd_weight,
    "tb_pointwise_bwd_weight_s32": pointwise_bwd_weight,
    "tb_sgd_update_s8": sgd_update_s8,
    "tb_sgd_update_s32": sgd_update_s32,
    "tb_conv_bwd_weight_sgd_s8": conv_bwd_weight_sgd,
    "tb_depthwise_bwd_weight_sgd_s8": depthwise_bwd_weight_sgd,
    "tb_pointwise_bwd_weight_sgd_s8": pointwise_bwd_weight_sgd,
}


def designed_calls(kernel: str, count: int, seed: int = 0) -> list[Args]:
    """``count`` seeded calls of ``kernel`` (independent of the other kernels' seeds)."""
    rng = np.random.default_rng([seed, sorted(DESIGNS).index(kernel)])
    return [DESIGNS[kernel](rng) for _ in range(count)]
