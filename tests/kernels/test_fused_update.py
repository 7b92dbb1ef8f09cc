"""The fused gradient+SGD kernels (reordered schedule) give exactly the parameters of the
unfused form (int32 gradient buffer, then tb_sgd_update_s8 / _s32), in Numba and in C."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from kernel_cases import CASES
from kernel_helpers import assert_same_arrays
from tinybench.kernels import KERNELS

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _impls(ck):
    return {"numba": lambda n: KERNELS[n], "c": lambda n: getattr(ck, n)}


def _check(ck, fused_name, grad_name, args, grad_args, rows, row_len):
    """args: the fused kernel's arguments; grad_args(w, b) builds the gradient kernel's."""
    e, w0, mw, sw, b0, mb, sb = args[-7:]
    results = {}
    for impl, get in _impls(ck).items():
        fa = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        get(fused_name)(*fa)
        gw = np.zeros(w0.size, np.int32)
        gb = np.zeros(b0.size, np.int32)
        get(grad_name)(*grad_args(gw, gb))
        w = w0.copy()
        b = b0.copy()
        get("tb_sgd_update_s8")(w, gw, rows, row_len, mw, sw, e)
        get("tb_sgd_update_s32")(b, gb, b.size, mb, sb, e)
        assert_same_arrays(f"{fused_name} ({impl})", "weights, fused vs unfused", fa[-6], w)
        assert_same_arrays(f"{fused_name} ({impl})", "bias, fused vs unfused", fa[-3], b)
        results[impl] = (w, b)
    assert_same_arrays(fused_name, "weights, numba vs c", results["numba"][0], results["c"][0])
    assert_same_arrays(fused_name, "bias, numba vs c", results["numba"][1], results["c"][1])


@SETTINGS
@given(CASES["tb_conv_bwd_weight_sgd_s8"])
def test_conv_fused_equals_unfused(ck, args):
    grad, mask, x, h, w, kt, xz, c_out, k, s = args[:10]
    _check(ck, "tb_conv_bwd_weight_sgd_s8", "tb_conv_bwd_weight_s32", args,
           lambda gw, gb: [grad, mask, x, h, w, kt, xz, c_out, k, s, gw, gb], c_out, k * k * kt)


@SETTINGS
@given(CASES["tb_depthwise_bwd_weight_sgd_s8"])
def test_depthwise_fused_equals_unfused(ck, args):
    grad, mask, x, h, w, c, kt, xz, k, s = args[:10]
    _check(ck, "tb_depthwise_bwd_weight_sgd_s8", "tb_depthwise_bwd_weight_s32", args,
           lambda gw, gb: [grad, mask, x, h, w, c, kt, xz, k, s, gw, gb], kt, k * k)


@SETTINGS
@given(CASES["tb_pointwise_bwd_weight_sgd_s8"])
def test_pointwise_fused_equals_unfused(ck, args):
    grad, mask, x, h, w, kt, xz, c_out = args[:8]
    _check(ck, "tb_pointwise_bwd_weight_sgd_s8", "tb_pointwise_bwd_weight_s32", args,
           lambda gw, gb: [grad, mask, x, h, w, kt, xz, c_out, gw, gb], c_out, kt)
