"""Forward kernels on the paper's real layers: against the float64 formula, and C vs Numba.

Each shipped model runs its whole int8 forward pass (128x128 input) through the Numba
kernels; at every op the int8 output is compared with the paper's float formula
(models/README.md) applied to the same int8 input, and with the host-built C kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

import kernel_reference as ref
from kernel_helpers import run_both
from tinybench.kernels.host import mask_bytes, split_weights
from tinybench.models.ir import Add, AvgPool, Conv, ConvKind

try:
    from tinybench.models.zoo import load_model, model_names
except ImportError:  # pragma: no cover - the loader is part of the package
    load_model = model_names = None

RATIOS = (0, 1 / 8, 1 / 2, 1)


def smooth_image(rng, size=128):
    """A random int8 image with natural-image-like smoothness (x_zero = 0)."""
    coarse = rng.uniform(-1, 1, (size // 16, size // 16, 3))
    img = np.kron(coarse, np.ones((16, 16, 1))) + rng.normal(0, 0.15, (size, size, 3))
    return np.clip(np.round(img * 127.5), -128, 127).astype(np.int8)


def conv_args(conv: Conv, x: np.ndarray, k_train: int):
    h, w, c_in = conv.in_shape
    ho, wo, c_out = conv.out_shape
    dw = conv.kind == ConvKind.DEPTHWISE
    wt, wf = split_weights(conv.weight, k_train, depthwise=dw)
    y = np.zeros(ho * wo * c_out, np.int8)
    mask = np.zeros(mask_bytes(y.size), np.uint8)
    common = (conv.bias, )
    if conv.kind == ConvKind.CONV:
        return "tb_conv_fwd_s8", [x, h, w, c_in, conv.x.zero_point, wt, wf, k_train, *common, c_out,
                                  conv.kernel, conv.stride, conv.multiplier, conv.shift, conv.y.zero_point, y, mask]
    if dw:
        return "tb_depthwise_fwd_s8", [x, h, w, c_in, conv.x.zero_point, wt, wf, k_train, *common,
                                       conv.kernel, conv.stride, conv.multiplier, conv.shift, conv.y.zero_point,
                                       y, mask]
    assert conv.kernel == 1 and conv.stride == 1
    return "tb_pointwise_fwd_s8", [x, h, w, c_in, conv.x.zero_point, wt, wf, k_train, *common, c_out,
                                   conv.multiplier, conv.shift, conv.y.zero_point, y, mask]


@pytest.mark.skipif(load_model is None, reason="tinybench.models.zoo is not available")
@pytest.mark.parametrize("name", ["mcunet-5fps", "mbv2-w0.35", "proxyless-w0.3"])
def test_real_model_forward(ck, name):
    model = load_model(name)
    rng = np.random.default_rng(11)
    acts = {model.input: smooth_image(rng, model.input_shape[0]).ravel()}
    counts = {"conv": [0, 0], "add": [0, 0], "pool": [0, 0]}
    worst = 0
    ties = 0
    for i, op in enumerate(model.ops):
        if isinstance(op, Conv):
            x = acts[op.input]
            k_train = int(round(RATIOS[i % len(RATIOS)] * (op.in_shape[2] if op.groups == 1 else op.out_shape[2])))
            kernel, args = conv_args(op, x, k_train)
            out, _ = run_both(ck, kernel, args)
            y = out[-2]
            dw = op.kind == ConvKind.DEPTHWISE
            acc = ref.conv_acc(x.reshape(op.in_shape), op.x.zero_point, op.weight, op.stride, depthwise=dw)
            want = ref.float_out(acc, op.bias, op.x.scale, op.w_scales, op.y.scale, op.y.zero_point)
            # the documented integer rule itself, exactly
            _, y_int, mk = ref.requant_out(acc, op.bias, op.multiplier, op.shift, op.y.zero_point)
            assert np.array_equal(y, y_int.ravel()) and np.array_equal(ref.unpack(out[-1], y.size), mk.ravel())
            key = "conv"
        elif isinstance(op, Add):
            a, b = acts[op.inputs[0]], acts[op.inputs[1]]
            y = np.zeros(a.size, np.int8)
            out, _ = run_both(ck, "tb_add_fwd_s8", [a, op.a.zero_point, b, op.b.zero_point, a.size,
                                                    op.multiplier_a, op.multiplier_b, op.shift,
                                                    op.y.zero_point, y, np.zeros(mask_bytes(a.size), np.uint8)])
            y = out[9]
            real = ((a.astype(float) - op.a.zero_point) * op.a.scale
                    + (b.astype(float) - op.b.zero_point) * op.b.scale) / op.y.scale
            want = np.clip(np.round(real) + op.y.zero_point, -128, 127)
            key = "add"
        elif isinstance(op, AvgPool):
            h, w, c = op.in_shape
            x = acts[op.input]
            out, _ = run_both(ck, "tb_avgpool_fwd_s8", [x, h, w, c, op.q.zero_point, np.zeros(c, np.int8)])
            y = out[5]
            mean = (x.reshape(h * w, c).astype(float) - op.q.zero_point).mean(axis=0)
            # the kernel rounds half up (docs/kernels.md); numpy/torch round half to even,
            # which differs at exact ties only: count those apart
            ties += int(np.count_nonzero(np.floor(mean + 0.5) != np.round(mean)))
            want = np.floor(mean + 0.5) + op.q.zero_point
            key = "pool"
        else:  # pragma: no cover
            raise AssertionError(op)
        d = np.abs(y.astype(np.int64) - want.ravel().astype(np.int64))
        worst = max(worst, int(d.max()))
        counts[key][0] += int(np.count_nonzero(d))
        counts[key][1] += int(d.size)
        acts[op.output] = y
    summary = ", ".join(f"{k}: {v[0]} of {v[1]} differ" for k, v in counts.items())
    print(f"\n{name} int vs float64 formula: {summary}; largest difference {worst}; "
          f"pool means at an exact .5 tie (half up, not half to even): {ties}")
    assert worst <= 1, summary
    for key, (differ, total) in counts.items():
        assert differ <= max(1, total // 100), f"{key}: {differ} of {total} outputs differ from the float formula"
    # the forward pass is not degenerate: the logits are not all clamped
    logits = acts[model.output]
    assert len(np.unique(logits)) > 10


def test_random_layers_forward_vs_float():
    """Random layers with random real scales (chosen so most outputs are in range): the
    fixed-point multipliers reproduce the float formula to within one unit, nearly always exactly."""
    from tinybench.kernels import KERNELS
    from tinybench.models.quant import quantize_multipliers

    rng = np.random.default_rng(12)
    differ = total = inside = 0
    for trial in range(150):
        kind = ("conv", "depthwise", "pointwise")[trial % 3]
        h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        c_in = int(rng.integers(1, 24))
        k = 1 if kind == "pointwise" else int(rng.choice([3, 5, 7]))
        s = 1 if kind == "pointwise" else int(rng.choice([1, 2]))
        c_out = c_in if kind == "depthwise" else int(rng.integers(1, 16))
        wq = rng.integers(-127, 128, (c_out, k, k, 1 if kind == "depthwise" else c_in)).astype(np.int8)
        xz, yz = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
        x = rng.integers(-128, 128, h * w * c_in).astype(np.int8)
        x_scale = float(np.exp(rng.uniform(-6, 0)))
        w_scales = np.exp(rng.uniform(-9, -3, c_out))
        terms = k * k * (1 if kind == "depthwise" else c_in)
        # y_scale so that a typical accumulator maps to about +-60
        y_scale = float(x_scale * np.median(w_scales) * 80 * 64 * np.sqrt(terms) / 60)
        bias = rng.integers(-3000, 3000, c_out).astype(np.int32)
        m, sh = quantize_multipliers(x_scale * w_scales / y_scale)
        kt = int(rng.integers(0, (c_out if kind == "depthwise" else c_in) + 1))
        wt, wf = split_weights(wq, kt, depthwise=kind == "depthwise")
        y = np.zeros(out_size_(h, s) * out_size_(w, s) * c_out, np.int8)
        none = np.empty(0, np.uint8)
        if kind == "conv":
            KERNELS["tb_conv_fwd_s8"](x, h, w, c_in, xz, wt, wf, kt, bias, c_out, k, s, m, sh, yz, y, none)
        elif kind == "depthwise":
            KERNELS["tb_depthwise_fwd_s8"](x, h, w, c_in, xz, wt, wf, kt, bias, k, s, m, sh, yz, y, none)
        else:
            KERNELS["tb_pointwise_fwd_s8"](x, h, w, c_in, xz, wt, wf, kt, bias, c_out, m, sh, yz, y, none)
        acc = ref.conv_acc(x.reshape(h, w, c_in), xz, wq, s, depthwise=kind == "depthwise")
        want = ref.float_out(acc, bias, x_scale, w_scales, y_scale, yz).ravel()
        d = np.abs(y.astype(np.int64) - want)
        assert d.max() <= 1
        differ += int(np.count_nonzero(d))
        total += d.size
        inside += int(np.count_nonzero((want > -128) & (want < 127)))
    print(f"\nrandom layers int vs float64 formula: {differ} of {total} outputs differ (by one unit); "
          f"{inside} outputs not clamped")
    assert differ <= total // 100
    assert inside >= total // 2  # the comparison is not dominated by clamped outputs


def out_size_(n, s):
    return (n + s - 1) // s
