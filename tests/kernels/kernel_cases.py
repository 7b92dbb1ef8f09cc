"""Hypothesis strategies that build the argument lists of every kernel.

A case draws its structure (sizes, zero points, shifts, which edge case to stress) from
Hypothesis and fills the tensors from a drawn seed with numpy, which keeps each example
cheap. Edge cases are drawn often on purpose: zero points -128 and 127, multipliers 0
and 2**31 - 1, shifts 1 and 62, biases at INT32_MIN/MAX, extreme or all-zero tensors,
odd sizes with stride 2, 7x7 depthwise, k_train = C_in / 8.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tinybench.kernels.host import input_grad_factors, mask_bytes, out_size, softmax_exp_table

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
EMPTY_U8 = np.empty(0, np.uint8)

zero_points = st.one_of(st.sampled_from([-128, 127, 0]), st.integers(-128, 127))
seeds = st.integers(0, 2**32 - 1)


def fill_s8(draw, rng, n, lo=-128, hi=127, label="fill"):
    mode = draw(st.sampled_from(["random"] * 5 + ["extreme", "zero", "small"]), label=label)
    if mode == "random":
        return rng.integers(lo, hi + 1, n).astype(np.int8)
    if mode == "extreme":
        return rng.choice(np.array([lo, hi], dtype=np.int8), n)
    if mode == "zero":
        return np.zeros(n, np.int8)
    return rng.integers(-2, 3, n).astype(np.int8)


def garbage_s8(rng, n):
    """Initial content of an output buffer: every element must be overwritten."""
    return rng.integers(-128, 128, n).astype(np.int8)


def garbage_s32(rng, n):
    return rng.integers(I32_MIN, I32_MAX + 1, n, dtype=np.int64).astype(np.int32)


def requant_params(draw, rng, n):
    """Per-channel (mult, shift) of a forward kernel, typical or at the ends."""
    mmode = draw(st.sampled_from(["q31", "q31", "zero", "max", "mixed"]), label="mult")
    if mmode == "q31":
        m = rng.integers(2**30, 2**31, n)
    elif mmode == "zero":
        m = np.zeros(n, np.int64)
    elif mmode == "max":
        m = np.full(n, I32_MAX)
    else:
        m = rng.choice(np.array([0, 1, 2**30, I32_MAX]), n)
    smode = draw(st.sampled_from(["typical"] * 5 + ["low", "high", "any"]), label="shift")
    if smode == "typical":  # scales of about 2**-3 .. 2**-15: most outputs inside the range
        s = rng.integers(34, 47, n)
    elif smode == "low":
        s = np.ones(n, np.int64)
    elif smode == "high":
        s = np.full(n, 62)
    else:
        s = rng.integers(1, 63, n)
    return m.astype(np.int32), s.astype(np.int32)


def biases(draw, rng, n):
    mode = draw(st.sampled_from(["small", "small", "zero", "extreme", "any"]), label="bias")
    if mode == "small":
        return rng.integers(-20000, 20001, n).astype(np.int32)
    if mode == "zero":
        return np.zeros(n, np.int32)
    if mode == "extreme":
        return rng.choice(np.array([I32_MIN, I32_MAX], dtype=np.int32), n)
    return garbage_s32(rng, n)


def k_train_of(draw, c_in):
    return draw(st.one_of(st.sampled_from([0, c_in // 8, c_in, c_in // 2]), st.integers(0, c_in)),
                label="k_train")


def mask_in(draw, rng, n):
    """A mask read by a backward kernel: random, all set, all clear, or NULL."""
    mode = draw(st.sampled_from(["random"] * 4 + ["ones", "zeros", "null", "null"]), label="mask")
    if mode == "random":
        return rng.integers(0, 256, mask_bytes(n)).astype(np.uint8)
    if mode == "ones":
        return np.full(mask_bytes(n), 255, np.uint8)
    if mode == "zeros":
        return np.zeros(mask_bytes(n), np.uint8)
    return EMPTY_U8


def mask_out(draw, rng, n):
    """A mask buffer written by a forward kernel (garbage first), or NULL."""
    if draw(st.booleans(), label="want mask"):
        return rng.integers(0, 256, mask_bytes(n)).astype(np.uint8)
    return EMPTY_U8


def grads(draw, rng, n):
    return fill_s8(draw, rng, n, label="grad")


def w_factors(draw, rng, n):
    mode = draw(st.sampled_from(["scales"] * 5 + ["max", "zero", "any"]), label="w_factor")
    if mode == "scales":
        f, w_exp = input_grad_factors(np.exp(rng.uniform(np.log(1e-4), np.log(1e-1), n)))
        return f, w_exp + draw(st.integers(-5, 5))
    if mode == "max":
        return np.full(n, 2**15, np.int32), draw(st.integers(-40, 10))
    if mode == "zero":
        return np.zeros(n, np.int32), draw(st.integers(-40, 10))
    return rng.integers(0, 2**15 + 1, n).astype(np.int32), draw(st.integers(-40, 10))


def split(w, k_train, depthwise=False):
    if depthwise:
        return np.ascontiguousarray(w[:k_train]).ravel(), np.ascontiguousarray(w[k_train:]).ravel()
    return (np.ascontiguousarray(w[..., :k_train]).ravel(),
            np.ascontiguousarray(w[..., k_train:]).ravel())


def weights(draw, rng, shape):
    return fill_s8(draw, rng, int(np.prod(shape)), label="weights").reshape(shape)


spatial = st.integers(1, 9)
kernels_dense = st.sampled_from([1, 3, 3, 5, 7])
kernels_dw = st.sampled_from([3, 5, 7])
strides = st.sampled_from([1, 2])


# --------------------------------------------------------------------------- forward

@st.composite
def conv_fwd(draw):
    rng = np.random.default_rng(draw(seeds))
    h, w, k, s = draw(spatial), draw(spatial), draw(kernels_dense), draw(strides)
    c_in, c_out = draw(st.sampled_from([1, 3, 8, 16])), draw(st.integers(1, 8))
    kt = k_train_of(draw, c_in)
    wt, wf = split(weights(draw, rng, (c_out, k, k, c_in)), kt)
    m, sh = requant_params(draw, rng, c_out)
    n_out = out_size(h, s) * out_size(w, s) * c_out
    return [fill_s8(draw, rng, h * w * c_in, label="x"), h, w, c_in, draw(zero_points), wt, wf, kt,
            biases(draw, rng, c_out), c_out, k, s, m, sh, draw(zero_points),
            garbage_s8(rng, n_out), mask_out(draw, rng, n_out)]


@st.composite
def depthwise_fwd(draw):
    rng = np.random.default_rng(draw(seeds))
    h, w, k, s = draw(spatial), draw(spatial), draw(kernels_dw), draw(strides)
    c = draw(st.sampled_from([1, 8, 16, draw(st.integers(1, 12))]))
    kt = k_train_of(draw, c)
    wt, wf = split(weights(draw, rng, (c, k, k, 1)), kt, depthwise=True)
    m, sh = requant_params(draw, rng, c)
    n_out = out_size(h, s) * out_size(w, s) * c
    return [fill_s8(draw, rng, h * w * c, label="x"), h, w, c, draw(zero_points), wt, wf, kt,
            biases(draw, rng, c), k, s, m, sh, draw(zero_points),
            garbage_s8(rng, n_out), mask_out(draw, rng, n_out)]


@st.composite
def pointwise_fwd(draw):
    rng = np.random.default_rng(draw(seeds))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    c_in, c_out = draw(st.sampled_from([1, 8, 24, draw(st.integers(1, 32))])), draw(st.integers(1, 12))
    kt = k_train_of(draw, c_in)
    wt, wf = split(weights(draw, rng, (c_out, 1, 1, c_in)), kt)
    m, sh = requant_params(draw, rng, c_out)
    n_out = h * w * c_out
    return [fill_s8(draw, rng, h * w * c_in, label="x"), h, w, c_in, draw(zero_points), wt, wf, kt,
            biases(draw, rng, c_out), c_out, m, sh, draw(zero_points),
            garbage_s8(rng, n_out), mask_out(draw, rng, n_out)]


@st.composite
def add_fwd(draw):
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.integers(1, 100))
    if draw(st.booleans()):
        from tinybench.models.ir import quantize_multiplier_pair
        ma, mb, s = quantize_multiplier_pair(draw(st.floats(0.05, 4.0)), draw(st.floats(0.05, 4.0)))
    else:
        ma = draw(st.sampled_from([0, 1, 2**30, I32_MAX, draw(st.integers(0, I32_MAX))]))
        mb = draw(st.sampled_from([0, 1, 2**30, I32_MAX, draw(st.integers(0, I32_MAX))]))
        s = draw(st.sampled_from([1, 62, 31, draw(st.integers(1, 62))]))
    return [fill_s8(draw, rng, n, label="a"), draw(zero_points), fill_s8(draw, rng, n, label="b"),
            draw(zero_points), n, ma, mb, s, draw(zero_points), garbage_s8(rng, n),
            mask_out(draw, rng, n)]


@st.composite
def avgpool_fwd(draw):
    rng = np.random.default_rng(draw(seeds))
    h, w, c = draw(spatial), draw(spatial), draw(st.integers(1, 12))
    return [fill_s8(draw, rng, h * w * c, label="x"), h, w, c, draw(zero_points), garbage_s8(rng, c)]


# -------------------------------------------------------------------------- backward

@st.composite
def softmax_ce_bwd(draw):
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.sampled_from([1, 2, 10, 1000, draw(st.integers(1, 40))]))
    scale = draw(st.sampled_from([1e-6, 30.0, draw(st.floats(1e-3, 10.0))]))
    return [fill_s8(draw, rng, n, label="logits"), n, draw(st.integers(0, n - 1)),
            softmax_exp_table(scale), garbage_s8(rng, n)]


@st.composite
def conv_bwd_input(draw):
    rng = np.random.default_rng(draw(seeds))
    h, w, k, s = draw(spatial), draw(spatial), draw(kernels_dense), draw(strides)
    c_in, c_out = draw(st.sampled_from([1, 3, 8, 16])), draw(st.integers(1, 8))
    kt = k_train_of(draw, c_in)
    wt, wf = split(weights(draw, rng, (c_out, k, k, c_in)), kt)
    n_out = out_size(h, s) * out_size(w, s) * c_out
    f, w_exp = w_factors(draw, rng, c_out)
    return [grads(draw, rng, n_out), draw(st.integers(-30, 10)), mask_in(draw, rng, n_out), h, w, c_in,
            wt, wf, kt, c_out, k, s, f, w_exp, garbage_s8(rng, h * w * c_in)]


@st.composite
def depthwise_bwd_input(draw):
    rng = np.random.default_rng(draw(seeds))
    h, w, k, s = draw(spatial), draw(spatial), draw(kernels_dw), draw(strides)
    c = draw(st.sampled_from([1, 8, 16, draw(st.integers(1, 12))]))
    kt = k_train_of(draw, c)
    wt, wf = split(weights(draw, rng, (c, k, k, 1)), kt, depthwise=True)
    n_out = out_size(h, s) * out_size(w, s) * c
    f, w_exp = w_factors(draw, rng, c)
    return [grads(draw, rng, n_out), draw(st.integers(-30, 10)), mask_in(draw, rng, n_out), h, w, c,
            wt, wf, kt, k, s, f, w_exp, garbage_s8(rng, h * w * c)]


@st.composite
def pointwise_bwd_input(draw):
    rng = np.random.default_rng(draw(seeds))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    c_in, c_out = draw(st.sampled_from([1, 8, 24, draw(st.integers(1, 32))])), draw(st.integers(1, 12))
    kt = k_train_of(draw, c_in)
    wt, wf = split(weights(draw, rng, (c_out, 1, 1, c_in)), kt)
    f, w_exp = w_factors(draw, rng, c_out)
    n_out = h * w * c_out
    return [grads(draw, rng, n_out), draw(st.integers(-30, 10)), mask_in(draw, rng, n_out), h, w, c_in,
            wt, wf, kt, c_out, f, w_exp, garbage_s8(rng, h * w * c_in)]


@st.composite
def add_bwd(draw):
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.integers(1, 100))
    return [grads(draw, rng, n), draw(st.integers(-40, 10)), mask_in(draw, rng, n), n, garbage_s8(rng, n)]


@st.composite
def channel_copy(draw):
    rng = np.random.default_rng(draw(seeds))
    positions, c = draw(st.integers(1, 50)), draw(st.integers(1, 40))
    k = k_train_of(draw, c)
    return [fill_s8(draw, rng, positions * c), positions, c, k, garbage_s8(rng, positions * k)]


@st.composite
def grad_sum_bwd(draw):
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.integers(1, 100))
    e_a = draw(st.integers(-40, 10))
    e_b = e_a + draw(st.sampled_from([0, 1, -1, 7, -8, 40, -40, draw(st.integers(-12, 12))]))
    return [grads(draw, rng, n), e_a, grads(draw, rng, n), e_b, n, garbage_s8(rng, n)]


@st.composite
def avgpool_bwd(draw):
    rng = np.random.default_rng(draw(seeds))
    h, w, c = draw(spatial), draw(spatial), draw(st.integers(1, 12))
    return [grads(draw, rng, c), draw(st.integers(-30, 10)), h, w, c, garbage_s8(rng, h * w * c)]


def _bwd_weight_common(draw, rng, depthwise, pointwise=False):
    if pointwise:
        h, w, k, s = draw(st.integers(1, 6)), draw(st.integers(1, 6)), 1, 1
    else:
        h, w, s = draw(spatial), draw(spatial), draw(strides)
        k = draw(kernels_dw if depthwise else kernels_dense)
    c_in = draw(st.sampled_from([1, 8, 16, draw(st.integers(1, 12))]))
    c_out = c_in if depthwise else draw(st.integers(1, 8))
    kt = k_train_of(draw, c_in)
    n_out = out_size(h, s) * out_size(w, s) * c_out
    return dict(h=h, w=w, k=k, s=s, c_in=c_in, c_out=c_out, kt=kt,
                grad=grads(draw, rng, n_out), mask=mask_in(draw, rng, n_out),
                x=fill_s8(draw, rng, h * w * kt, label="x_saved"), xz=draw(zero_points))


@st.composite
def conv_bwd_weight(draw):
    rng = np.random.default_rng(draw(seeds))
    d = _bwd_weight_common(draw, rng, depthwise=False)
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["kt"], d["xz"], d["c_out"], d["k"], d["s"],
            garbage_s32(rng, d["c_out"] * d["k"] ** 2 * d["kt"]), garbage_s32(rng, d["c_out"])]


@st.composite
def depthwise_bwd_weight(draw):
    rng = np.random.default_rng(draw(seeds))
    d = _bwd_weight_common(draw, rng, depthwise=True)
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["c_in"], d["kt"], d["xz"], d["k"], d["s"],
            garbage_s32(rng, d["kt"] * d["k"] ** 2), garbage_s32(rng, d["c_in"])]


@st.composite
def pointwise_bwd_weight(draw):
    rng = np.random.default_rng(draw(seeds))
    d = _bwd_weight_common(draw, rng, depthwise=False, pointwise=True)
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["kt"], d["xz"], d["c_out"],
            garbage_s32(rng, d["c_out"] * d["kt"]), garbage_s32(rng, d["c_out"])]


# ---------------------------------------------------------------------------- update

def sgd_params(draw, rng, n):
    """Per-channel SGD (mult, shift) and a gradient exponent, reaching shift - e outside [1, 62]."""
    mode = draw(st.sampled_from(["typical"] * 5 + ["wide", "wide", "zero"]), label="sgd")
    if mode == "zero":
        m = np.zeros(n, np.int32)
    else:
        m = rng.integers(2**30, 2**31, n).astype(np.int32)
    e = draw(st.sampled_from([-40, 30, draw(st.integers(-25, 5)), draw(st.integers(-25, 5))]), label="e_grad")
    if mode == "typical":  # effective shifts 30..47: steps of a few units for typical sums
        sh = (e + rng.integers(30, 48, n)).astype(np.int32)
    else:  # effective shifts far outside [1, 62] both ways
        sh = rng.integers(-10, 90, n).astype(np.int32)
    return m, sh, e


def grad_sums(draw, rng, n):
    mode = draw(st.sampled_from(["typical", "typical", "full", "extreme", "zero"]), label="G")
    if mode == "typical":
        return rng.integers(-(2**20), 2**20, n).astype(np.int32)
    if mode == "full":
        return garbage_s32(rng, n)
    if mode == "extreme":
        return rng.choice(np.array([I32_MIN, I32_MAX, -1, 1], dtype=np.int32), n)
    return np.zeros(n, np.int32)


@st.composite
def sgd_update_s8(draw):
    rng = np.random.default_rng(draw(seeds))
    rows, row_len = draw(st.integers(1, 8)), draw(st.integers(1, 30))
    m, sh, e = sgd_params(draw, rng, rows)
    return [fill_s8(draw, rng, rows * row_len, label="w"), grad_sums(draw, rng, rows * row_len),
            rows, row_len, m, sh, e]


@st.composite
def sgd_update_s32(draw):
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.integers(1, 40))
    m, sh, e = sgd_params(draw, rng, n)
    return [biases(draw, rng, n), grad_sums(draw, rng, n), n, m, sh, e]


def _fused_params(draw, rng, c):
    mw, sw, e = sgd_params(draw, rng, c)
    mb, sb, _ = sgd_params(draw, rng, c)
    return e, mw, sw, mb, sb


@st.composite
def conv_bwd_weight_sgd(draw):
    rng = np.random.default_rng(draw(seeds))
    d = _bwd_weight_common(draw, rng, depthwise=False)
    e, mw, sw, mb, sb = _fused_params(draw, rng, d["c_out"])
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["kt"], d["xz"], d["c_out"], d["k"], d["s"], e,
            fill_s8(draw, rng, d["c_out"] * d["k"] ** 2 * d["kt"], label="w"), mw, sw,
            biases(draw, rng, d["c_out"]), mb, sb]


@st.composite
def depthwise_bwd_weight_sgd(draw):
    rng = np.random.default_rng(draw(seeds))
    d = _bwd_weight_common(draw, rng, depthwise=True)
    e, mw, sw, mb, sb = _fused_params(draw, rng, d["c_in"])
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["c_in"], d["kt"], d["xz"], d["k"], d["s"], e,
            fill_s8(draw, rng, d["kt"] * d["k"] ** 2, label="w"), mw, sw,
            biases(draw, rng, d["c_in"]), mb, sb]


@st.composite
def pointwise_bwd_weight_sgd(draw):
    rng = np.random.default_rng(draw(seeds))
    d = _bwd_weight_common(draw, rng, depthwise=False, pointwise=True)
    e, mw, sw, mb, sb = _fused_params(draw, rng, d["c_out"])
    return [d["grad"], d["mask"], d["x"], d["h"], d["w"], d["kt"], d["xz"], d["c_out"], e,
            fill_s8(draw, rng, d["c_out"] * d["kt"], label="w"), mw, sw,
            biases(draw, rng, d["c_out"]), mb, sb]


@st.composite
def pwdw_fwd(draw):
    """Frozen pointwise (c_in -> c_mid) then depthwise, fused (tinybench/kernels/fused.py)."""
    rng = np.random.default_rng(draw(seeds))
    h, w, k, s = draw(spatial), draw(spatial), draw(kernels_dw), draw(strides)
    c_in, c_mid = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    pm, ps = requant_params(draw, rng, c_mid)
    dm, ds = requant_params(draw, rng, c_mid)
    n_out = out_size(h, s) * out_size(w, s) * c_mid
    return [fill_s8(draw, rng, h * w * c_in, label="x"), h, w, c_in, draw(zero_points),
            weights(draw, rng, (c_mid, c_in)).ravel(), biases(draw, rng, c_mid), pm, ps, draw(zero_points), c_mid,
            garbage_s8(rng, h * w), weights(draw, rng, (c_mid, k, k)).ravel(), biases(draw, rng, c_mid), k, s,
            dm, ds, draw(zero_points), garbage_s8(rng, n_out), mask_out(draw, rng, n_out)]


#: kernel name -> strategy of its argument lists
CASES = {
    "tb_conv_fwd_s8": conv_fwd(),
    "tb_depthwise_fwd_s8": depthwise_fwd(),
    "tb_pointwise_fwd_s8": pointwise_fwd(),
    "tb_add_fwd_s8": add_fwd(),
    "tb_avgpool_fwd_s8": avgpool_fwd(),
    "tb_softmax_ce_bwd_s8": softmax_ce_bwd(),
    "tb_conv_bwd_input_s8": conv_bwd_input(),
    "tb_depthwise_bwd_input_s8": depthwise_bwd_input(),
    "tb_pointwise_bwd_input_s8": pointwise_bwd_input(),
    "tb_add_bwd_s8": add_bwd(),
    "tb_channel_copy_fwd_s8": channel_copy(),
    "tb_grad_sum_bwd_s8": grad_sum_bwd(),
    "tb_avgpool_bwd_s8": avgpool_bwd(),
    "tb_conv_bwd_weight_s32": conv_bwd_weight(),
    "tb_depthwise_bwd_weight_s32": depthwise_bwd_weight(),
    "tb_pointwise_bwd_weight_s32": pointwise_bwd_weight(),
    "tb_sgd_update_s8": sgd_update_s8(),
    "tb_sgd_update_s32": sgd_update_s32(),
    "tb_conv_bwd_weight_sgd_s8": conv_bwd_weight_sgd(),
    "tb_depthwise_bwd_weight_sgd_s8": depthwise_bwd_weight_sgd(),
    "tb_pointwise_bwd_weight_sgd_s8": pointwise_bwd_weight_sgd(),
    "tb_pwdw_fwd_s8": pwdw_fwd(),
}
